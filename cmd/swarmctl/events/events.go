package events

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sort"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// NewCommand returns `swarmctl events`.
func NewCommand(c *cli.CLI) *cobra.Command {
	var (
		since, until string
		filters      cli.Filters
	)
	cmd := &cobra.Command{
		Use:   "events [OPTIONS]",
		Short: "Get real time events from the swarm",
		Long: "Show the swarm's events: nodes going down and coming back, task state changes,\n" +
			"services created, updated and removed, Raft leader changes. Without --until it\n" +
			"streams new events until interrupted.",
		Args: cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if err := filters.Validate("type", "event", "node", "service", "id", "name"); err != nil {
				return err
			}
			now := c.Now()
			from, err := parseTime(since, now, time.Time{})
			if err != nil {
				return cli.UsageError(cmd, fmt.Sprintf("invalid --since: %v", err))
			}
			to, err := parseTime(until, now, time.Time{})
			if err != nil {
				return cli.UsageError(cmd, fmt.Sprintf("invalid --until: %v", err))
			}
			if since == "" {
				from = now
			}
			return run(cmd.Context(), c, from, to, &filters)
		},
	}
	cmd.Flags().StringVar(&since, "since", "", "Show events created since timestamp or duration (e.g. 10m, 2026-11-26T13:00:00Z, 0 for all kept)")
	cmd.Flags().StringVar(&until, "until", "", "Stream events until this timestamp or duration ago")
	cmd.Flags().VarP(&filters, "filter", "f", "Filter output based on conditions provided (type=node|service|task|raft, event=, node=, service=, id=, name=)")
	return cmd
}

// parseTime reads docker's --since/--until: a duration before now, an
// RFC 3339 time, Unix seconds, or empty (zero).
func parseTime(s string, now time.Time, def time.Time) (time.Time, error) {
	switch {
	case s == "":
		return def, nil
	case s == "0":
		return time.Unix(0, 1), nil
	}
	if d, err := time.ParseDuration(s); err == nil {
		return now.Add(-d), nil
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t, nil
	}
	var secs int64
	if _, err := fmt.Sscanf(s, "%d", &secs); err == nil && fmt.Sprint(secs) == s {
		return time.Unix(secs, 0), nil
	}
	return time.Time{}, fmt.Errorf("%q is not a duration, an RFC 3339 time or Unix seconds", s)
}

// run polls the gateway for events after the last one seen, prints those
// that match, and stops at until (when set) or when ctx ends.
func run(ctx context.Context, c *cli.CLI, since, until time.Time, f *cli.Filters) error {
	var (
		afterID uint64
		manager string
	)
	for {
		resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_Events{Events: &swarmv1.EventsRequest{
			SinceUnixNano: since.UnixNano(), AfterId: afterID,
		}}})
		if err != nil {
			if errors.Is(ctx.Err(), context.Canceled) {
				return nil
			}
			return err
		}
		evs := resp.GetEvents()
		if evs.GetManagerId() != manager {
			// Another manager answers: its event IDs are its own.
			manager, afterID = evs.GetManagerId(), 0
		}
		for _, ev := range evs.GetEvents() {
			afterID = ev.GetId()
			at := time.Unix(0, ev.GetTimeUnixNano())
			if !until.IsZero() && at.After(until) {
				continue
			}
			if !match(ev, f) {
				continue
			}
			if err := Write(c.Out, ev); err != nil {
				return err
			}
			since = at
		}
		if !until.IsZero() && !c.Now().Before(until) {
			return nil
		}
		if err := c.Sleep(ctx, c.PollInterval); err != nil {
			return nil
		}
	}
}

func match(ev *swarmv1.Event, f *cli.Filters) bool {
	attr := ev.GetAttributes()
	return f.MatchAny("type", func(v string) bool { return v == ev.GetType() }) &&
		f.MatchAny("event", func(v string) bool { return v == ev.GetAction() }) &&
		f.MatchAny("id", func(v string) bool { return strings.HasPrefix(ev.GetActorId(), v) }) &&
		f.MatchAny("name", func(v string) bool { return attr["name"] == v }) &&
		f.MatchAny("node", func(v string) bool {
			return attr["node"] == v || (ev.GetType() == "node" && (attr["name"] == v || strings.HasPrefix(ev.GetActorId(), v)))
		}) &&
		f.MatchAny("service", func(v string) bool {
			return attr["service"] == v || (ev.GetType() == "service" && (attr["name"] == v || strings.HasPrefix(ev.GetActorId(), v)))
		})
}

// Write prints one event as docker does:
// TIME TYPE ACTION ID (key=value, ...), attributes sorted by key.
func Write(w io.Writer, ev *swarmv1.Event) error {
	at := time.Unix(0, ev.GetTimeUnixNano()).UTC().Format("2006-01-02T15:04:05.000000000Z07:00")
	keys := make([]string, 0, len(ev.GetAttributes()))
	for k := range ev.GetAttributes() {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	attrs := make([]string, 0, len(keys))
	for _, k := range keys {
		attrs = append(attrs, k+"="+ev.GetAttributes()[k])
	}
	line := fmt.Sprintf("%s %s %s %s", at, ev.GetType(), ev.GetAction(), ev.GetActorId())
	if len(attrs) > 0 {
		line += " (" + strings.Join(attrs, ", ") + ")"
	}
	_, err := fmt.Fprintln(w, line)
	return err
}
