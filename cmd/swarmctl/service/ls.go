package service

import (
	"cmp"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	"github.com/actorswarm/swarm/cmd/swarmctl/task"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// defaultListFormat is docker's service table.
const defaultListFormat = "table {{.ID}}\t{{.Name}}\t{{.Mode}}\t{{.Replicas}}\t{{.Image}}\t{{.Ports}}"

// listFilterKeys are the --filter keys of `service ls`.
var listFilterKeys = []string{"id", "label", "mode", "name"}

type listOptions struct {
	quiet  bool
	format string
	filter cli.Filters
}

// serviceRow is what --format templates see of a service, and `{{json .}}`
// prints.
type serviceRow struct {
	ID       string
	Name     string
	Mode     string
	Replicas string
	Image    string
	Ports    string
}

func newListCommand(c *cli.CLI) *cobra.Command {
	var opts listOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List services",
		Args:    cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd.Context(), c, &opts)
		},
	}
	flags := cmd.Flags()
	flags.VarP(&opts.filter, "filter", "f", "Filter output based on conditions provided")
	flags.StringVar(&opts.format, "format", "", "Pretty-print services using a Go template")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display IDs")
	return cmd
}

func runList(ctx context.Context, c *cli.CLI, opts *listOptions) error {
	if err := checkListFilters(&opts.filter); err != nil {
		return err
	}
	resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_ServiceList{ServiceList: &swarmv1.ServiceListRequest{}}})
	if err != nil {
		return err
	}
	r := resp.GetServiceList()
	if r == nil {
		return cli.ErrUnexpectedResponse
	}
	return writeList(c.Out, r, opts)
}

// writeList prints the services of r that pass the filters, sorted by
// name (numbers in names compared as numbers).
func writeList(w io.Writer, r *swarmv1.ServiceListResponse, opts *listOptions) error {
	if err := checkListFilters(&opts.filter); err != nil {
		return err
	}
	var rows []serviceRow
	for _, s := range r.GetServices() {
		svc := s.GetService()
		if !matchService(svc, &opts.filter) {
			continue
		}
		rows = append(rows, serviceRow{
			ID:       cli.ShortID(svc.GetId()),
			Name:     svc.GetSpec().GetName(),
			Mode:     cli.ServiceModeName(svc.GetSpec().GetMode()),
			Replicas: replicas(s),
			Image:    task.DisplayImage(svc.GetSpec().GetTask().GetImage(), false),
			Ports:    ingressPorts(publishedPorts(svc)),
		})
	}
	slices.SortStableFunc(rows, func(a, b serviceRow) int {
		switch {
		case cli.NaturalLess(a.Name, b.Name):
			return -1
		case cli.NaturalLess(b.Name, a.Name):
			return 1
		}
		return 0
	})
	return cli.WriteFormatted(w, cli.ListFormat(opts.format, opts.quiet, defaultListFormat), rows)
}

// replicas is the REPLICAS column: running/desired, and the cap per node
// of a replicated service that has one.
func replicas(s *swarmv1.ServiceSummary) string {
	spec := s.GetService().GetSpec()
	if perNode := spec.GetTask().GetPlacement().GetMaxReplicasPerNode(); perNode > 0 && spec.GetMode() == swarmv1.ServiceMode_SERVICE_MODE_REPLICATED {
		return fmt.Sprintf("%d/%d (max %d per node)", s.GetRunning(), s.GetDesired(), perNode)
	}
	return fmt.Sprintf("%d/%d", s.GetRunning(), s.GetDesired())
}

// publishedPorts are the service's ports with the published ports the
// daemon allocated, or those of the spec until it did.
func publishedPorts(svc *swarmv1.Service) []*swarmv1.PortConfig {
	if len(svc.GetPorts()) > 0 {
		return svc.GetPorts()
	}
	return svc.GetSpec().GetPorts()
}

// ingressPorts is the PORTS column: the routing-mesh ports with a
// published port allocated (host-mode ports are per task: service ps shows
// them), consecutive ones merged into ranges as docker does:
// "*:80->80/tcp, *:8080-8081->80-81/tcp".
func ingressPorts(ports []*swarmv1.PortConfig) string {
	var ingress []*swarmv1.PortConfig
	for _, p := range ports {
		if p.GetMode() != swarmv1.PublishMode_PUBLISH_MODE_HOST && p.GetPublishedPort() != 0 {
			ingress = append(ingress, p)
		}
	}
	slices.SortStableFunc(ingress, func(a, b *swarmv1.PortConfig) int {
		return cmp.Or(strings.Compare(task.ProtocolName(a.GetProtocol()), task.ProtocolName(b.GetProtocol())), cmp.Compare(a.GetPublishedPort(), b.GetPublishedPort()))
	})
	var out []string
	for i := 0; i < len(ingress); {
		first := ingress[i]
		last := first
		for i++; i < len(ingress) && extendsRange(first, last, ingress[i]); i++ {
			last = ingress[i]
		}
		out = append(out, fmt.Sprintf("*:%s->%s/%s", portRange(first.GetPublishedPort(), last.GetPublishedPort()),
			portRange(first.GetTargetPort(), last.GetTargetPort()), task.ProtocolName(first.GetProtocol())))
	}
	return strings.Join(out, ", ")
}

// extendsRange says whether p continues the range first..last: same
// protocol, published and target ports each the same as last's or one
// more, and no target port of the range met again.
func extendsRange(first, last, p *swarmv1.PortConfig) bool {
	step := func(prev, next uint32) bool { return next == prev || next == prev+1 }
	targetRange := last.GetTargetPort() != first.GetTargetPort()
	return p.GetProtocol() == last.GetProtocol() &&
		step(last.GetPublishedPort(), p.GetPublishedPort()) && step(last.GetTargetPort(), p.GetTargetPort()) &&
		!(targetRange && p.GetTargetPort() <= last.GetTargetPort())
}

func portRange(first, last uint32) string {
	if last > first {
		return fmt.Sprintf("%d-%d", first, last)
	}
	return fmt.Sprint(first)
}

// checkListFilters rejects unknown keys and modes.
func checkListFilters(f *cli.Filters) error {
	if err := f.Validate(listFilterKeys...); err != nil {
		return err
	}
	for _, v := range f.Get("mode") {
		if _, err := parseMode(v); err != nil {
			return fmt.Errorf("invalid filter 'mode=%s': want replicated or global", v)
		}
	}
	return nil
}

// matchService applies the filters of `service ls` docker's way: id and
// name are prefixes, label "k" or "k=v", mode replicated or global.
func matchService(svc *swarmv1.Service, f *cli.Filters) bool {
	spec := svc.GetSpec()
	return f.MatchAny("id", func(v string) bool { return strings.HasPrefix(svc.GetId(), v) }) &&
		f.MatchAny("name", func(v string) bool { return strings.HasPrefix(spec.GetName(), v) }) &&
		f.MatchAny("mode", func(v string) bool { return v == cli.ServiceModeName(spec.GetMode()) }) &&
		f.MatchLabels("label", spec.GetLabels())
}
