package service

import (
	"context"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// timestampFormat is how docker prints log timestamps (-t).
const timestampFormat = "2006-01-02T15:04:05.000000000Z07:00"

type logsOptions struct {
	follow, timestamps      bool
	noTaskIDs, noTrunc, raw bool
	tail, since             string
}

func newLogsCommand(c *cli.CLI) *cobra.Command {
	var opts logsOptions
	cmd := &cobra.Command{
		Use:   "logs [OPTIONS] SERVICE",
		Short: "Fetch the logs of a service",
		Args:  cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runLogs(cmd.Context(), c, args[0], &opts)
		},
	}
	flags := cmd.Flags()
	flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Do not truncate output")
	flags.BoolVar(&opts.raw, "raw", false, "Do not neatly format logs")
	flags.BoolVar(&opts.noTaskIDs, "no-task-ids", false, "Do not include task IDs in output")
	flags.BoolVarP(&opts.follow, "follow", "f", false, "Follow log output")
	flags.StringVar(&opts.since, "since", "", `Show logs since timestamp (e.g. "2013-01-02T13:23:37Z") or relative (e.g. "42m" for 42 minutes)`)
	flags.BoolVarP(&opts.timestamps, "timestamps", "t", false, "Show timestamps")
	flags.StringVarP(&opts.tail, "tail", "n", "all", "Number of lines to show from the end of the logs")
	return cmd
}

// runLogs prints the service's log lines; with -f it then asks for the
// lines after the last one every c.PollInterval until interrupted.
func runLogs(ctx context.Context, c *cli.CLI, ref string, opts *logsOptions) error {
	tail, skipFirst, err := parseTail(opts.tail)
	if err != nil {
		return err
	}
	since, err := parseSince(opts.since, c.Now())
	if err != nil {
		return err
	}
	svc, err := inspectService(ctx, c, ref)
	if err != nil {
		return err
	}
	p := &logPrinter{c: c, opts: opts, service: svc.GetSpec().GetName(), digits: 1}
	if svc.GetSpec().GetMode() == swarmv1.ServiceMode_SERVICE_MODE_REPLICATED {
		p.digits = len(strconv.FormatUint(svc.GetSpec().GetReplicas(), 10))
	}
	req := &swarmv1.ServiceLogsRequest{Ref: svc.GetId(), Tail: tail, SinceUnixNano: since}
	for {
		resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_ServiceLogs{ServiceLogs: req}})
		if err != nil {
			if ctx.Err() != nil {
				return nil
			}
			return err
		}
		logs := resp.GetServiceLogs()
		if logs == nil {
			return cli.ErrUnexpectedResponse
		}
		if err := p.print(logs, skipFirst); err != nil {
			return err
		}
		skipFirst = false
		if !opts.follow || c.Sleep(ctx, c.PollInterval) != nil {
			return nil
		}
		req = &swarmv1.ServiceLogsRequest{Ref: svc.GetId(), SinceUnixNano: max(p.last, since)}
	}
}

// parseTail reads --tail: "all" or a number of lines; a negative number
// means all. The daemon reads 0 as all, so --tail 0 asks for one line and
// skips it (skip), which still tells -f where to start.
func parseTail(s string) (tail uint32, skip bool, err error) {
	if s == "all" || s == "" {
		return 0, false, nil
	}
	n, err := strconv.ParseInt(s, 10, 64)
	switch {
	case err != nil:
		return 0, false, fmt.Errorf("invalid tail value %q: want a number or \"all\"", s)
	case n < 0:
		return 0, false, nil
	case n == 0:
		return 1, true, nil
	}
	return uint32(min(n, int64(^uint32(0)))), false, nil
}

// parseSince reads --since: a time (RFC 3339), a duration before now
// ("42m") or Unix seconds; 0 when empty.
func parseSince(s string, now time.Time) (int64, error) {
	if s == "" {
		return 0, nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d).UnixNano(), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t.UnixNano(), nil
	}
	if secs, err := strconv.ParseFloat(s, 64); err == nil && secs >= 0 {
		return int64(secs * 1e9), nil
	}
	return 0, fmt.Errorf("invalid since value %q: want a time (2013-01-02T13:23:37Z), a duration (42m) or Unix seconds", s)
}

// logPrinter prints log lines with docker's prefix and remembers the
// last one printed, so that following does not print a line twice.
type logPrinter struct {
	c       *cli.CLI
	opts    *logsOptions
	service string
	digits  int // of the highest slot, to align the prefixes
	last    int64
	seen    map[string]bool // lines printed with timestamp last
}

func (p *logPrinter) print(r *swarmv1.ServiceLogsResponse, skip bool) error {
	for _, l := range r.GetLines() {
		ts := l.GetTimestampUnixNano()
		key := l.GetTaskId() + "\x00" + l.GetStream() + "\x00" + l.GetLine()
		if ts < p.last || ts == p.last && p.seen[key] {
			continue
		}
		if ts > p.last || p.seen == nil {
			p.last, p.seen = ts, map[string]bool{}
		}
		p.seen[key] = true
		if skip {
			continue
		}
		w := p.c.Out
		if l.GetStream() == "stderr" {
			w = p.c.Err
		}
		if _, err := fmt.Fprintf(w, "%s%s\n", p.prefix(r, l), strings.TrimSuffix(l.GetLine(), "\n")); err != nil {
			return err
		}
	}
	return nil
}

// prefix is what precedes a line: the timestamp with -t, then unless
// --raw the task as docker names it, "service.slot.taskid@node", padded so
// that the lines of a service align, and "    | ".
func (p *logPrinter) prefix(r *swarmv1.ServiceLogsResponse, l *swarmv1.LogLine) string {
	var b strings.Builder
	if p.opts.timestamps {
		b.WriteString(cli.TimeFromUnixNano(l.GetTimestampUnixNano()).Format(timestampFormat) + " ")
	}
	if p.opts.raw {
		return b.String()
	}
	var t *swarmv1.Task
	for _, candidate := range r.GetTasks() {
		if candidate.GetId() == l.GetTaskId() {
			t = candidate
		}
	}
	service := r.GetServiceName()
	if service == "" {
		service = p.service
	}
	slot := strconv.FormatUint(t.GetSlot(), 10)
	fmt.Fprintf(&b, "%s.%s", service, slot)
	if !p.opts.noTaskIDs {
		id := l.GetTaskId()
		if !p.opts.noTrunc {
			id = cli.ShortID(id)
		}
		b.WriteString("." + id)
	}
	node := t.GetNodeId()
	if name := r.GetNodeNames()[node]; name != "" {
		node = name
	}
	b.WriteString("@" + node + strings.Repeat(" ", max(p.digits-len(slot), 0)) + "    | ")
	return b.String()
}
