package network

import (
	"context"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// defaultListFormat is docker's network table.
const defaultListFormat = "table {{.ID}}\t{{.Name}}\t{{.Driver}}\t{{.Scope}}"

// listFilterKeys are the --filter keys of `network ls`.
var listFilterKeys = []string{"driver", "id", "label", "name", "scope"}

type listOptions struct {
	quiet   bool
	noTrunc bool
	format  string
	filter  cli.Filters
}

// networkRow is what --format templates see of a network.
type networkRow struct {
	ID     string `header:"NETWORK ID"`
	Name   string
	Driver string
	Scope  string
}

func newListCommand(c *cli.CLI) *cobra.Command {
	var opts listOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List networks",
		Args:    cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd.Context(), c, &opts)
		},
	}
	flags := cmd.Flags()
	flags.VarP(&opts.filter, "filter", "f", "Provide filter values (e.g. 'driver=overlay')")
	flags.StringVar(&opts.format, "format", "", "Pretty-print networks using a Go template")
	flags.BoolVar(&opts.noTrunc, "no-trunc", false, "Do not truncate the output")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display network IDs")
	return cmd
}

func runList(ctx context.Context, c *cli.CLI, opts *listOptions) error {
	if err := opts.filter.Validate(listFilterKeys...); err != nil {
		return err
	}
	resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_NetworkList{NetworkList: &swarmv1.NetworkListRequest{}}})
	if err != nil {
		return err
	}
	r := resp.GetNetworkList()
	if r == nil {
		return cli.ErrUnexpectedResponse
	}
	return writeList(c.Out, r.GetNetworks(), opts)
}

// writeList prints the networks that pass the filters, by name.
func writeList(w io.Writer, networks []*swarmv1.Network, opts *listOptions) error {
	if err := opts.filter.Validate(listFilterKeys...); err != nil {
		return err
	}
	var rows []networkRow
	for _, n := range networks {
		if !match(n, &opts.filter) {
			continue
		}
		id := n.GetId()
		if !opts.noTrunc {
			id = cli.ShortID(id)
		}
		rows = append(rows, networkRow{ID: id, Name: n.GetSpec().GetName(), Driver: n.GetSpec().GetDriver(), Scope: "swarm"})
	}
	return cli.WriteFormatted(w, cli.ListFormat(opts.format, opts.quiet, defaultListFormat), rows)
}

// match applies docker's network filters: name and id match a part, the
// others exactly.
func match(n *swarmv1.Network, f *cli.Filters) bool {
	spec := n.GetSpec()
	return f.MatchAny("name", func(v string) bool { return strings.Contains(spec.GetName(), v) }) &&
		f.MatchAny("id", func(v string) bool { return strings.HasPrefix(n.GetId(), v) }) &&
		f.MatchAny("driver", func(v string) bool { return v == spec.GetDriver() }) &&
		f.MatchAny("scope", func(v string) bool { return v == "swarm" }) &&
		f.MatchLabels("label", spec.GetLabels())
}
