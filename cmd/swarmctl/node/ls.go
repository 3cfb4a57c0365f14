package node

import (
	"context"
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// defaultListFormat is docker's node table: the full ID, " *" for the node
// answering, then one column per field of nodeRow.
const defaultListFormat = "table {{.ID}} {{if .Self}}*{{else}} {{end}}\t{{.Hostname}}\t{{.Status}}\t{{.Availability}}\t{{.ManagerStatus}}\t{{.EngineVersion}}"

// listFilterKeys are the --filter keys of `node ls`. label and node.label
// both filter the node's labels: there are no engine labels here.
var listFilterKeys = []string{"id", "label", "membership", "name", "hostname", "node.label", "role"}

type listOptions struct {
	quiet  bool
	format string
	filter cli.Filters
}

// nodeRow is what --format templates see of a node, and `{{json .}}` prints.
type nodeRow struct {
	ID            string
	Self          bool `header:""`
	Hostname      string
	Status        string
	Availability  string
	ManagerStatus string
	EngineVersion string
}

func newListCommand(c *cli.CLI) *cobra.Command {
	var opts listOptions
	cmd := &cobra.Command{
		Use:     "ls [OPTIONS]",
		Aliases: []string{"list"},
		Short:   "List nodes in the swarm",
		Args:    cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runList(cmd.Context(), c, &opts)
		},
	}
	flags := cmd.Flags()
	flags.VarP(&opts.filter, "filter", "f", "Filter output based on conditions provided")
	flags.StringVar(&opts.format, "format", "", "Pretty-print nodes using a Go template")
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display IDs")
	return cmd
}

func runList(ctx context.Context, c *cli.CLI, opts *listOptions) error {
	// Refuse a bad filter before bothering the daemon.
	if err := checkListFilters(&opts.filter); err != nil {
		return err
	}
	resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_NodeList{NodeList: &swarmv1.NodeListRequest{}}})
	if err != nil {
		return err
	}
	r := resp.GetNodeList()
	if r == nil {
		return cli.ErrUnexpectedResponse
	}
	return writeList(c.Out, r, opts)
}

// writeList prints the nodes of r that pass the filters, sorted by hostname
// (numbers in names compared as numbers) then ID.
func writeList(w io.Writer, r *swarmv1.NodeListResponse, opts *listOptions) error {
	nodes, err := filterNodes(r.GetNodes(), &opts.filter)
	if err != nil {
		return err
	}
	slices.SortFunc(nodes, func(a, b *swarmv1.Node) int {
		ha, hb := a.GetDescription().GetHostname(), b.GetDescription().GetHostname()
		switch {
		case cli.NaturalLess(ha, hb):
			return -1
		case cli.NaturalLess(hb, ha):
			return 1
		}
		return strings.Compare(a.GetId(), b.GetId())
	})
	rows := make([]nodeRow, len(nodes))
	for i, n := range nodes {
		rows[i] = nodeRow{
			ID:            n.GetId(),
			Self:          n.GetId() == r.GetSelfId(),
			Hostname:      n.GetDescription().GetHostname(),
			Status:        cli.StateName(n.GetStatus().GetState()),
			Availability:  cli.AvailabilityName(n.GetSpec().GetAvailability()),
			ManagerStatus: managerStatus(n, r.GetLeaderId()),
			EngineVersion: n.GetDescription().GetEngineVersion(),
		}
	}
	return cli.WriteFormatted(w, cli.ListFormat(opts.format, opts.quiet, defaultListFormat), rows)
}

// managerStatus is the MANAGER STATUS column: Leader, else for a manager
// whether the failure detector reaches it; empty for a worker.
func managerStatus(n *swarmv1.Node, leaderID string) string {
	if n.GetId() == leaderID {
		return "Leader"
	}
	if n.GetRole() != swarmv1.NodeRole_NODE_ROLE_MANAGER {
		return ""
	}
	return reachability(n.GetStatus().GetState())
}

// reachability words a manager's state as Raft status.
func reachability(s swarmv1.NodeState) string {
	switch s {
	case swarmv1.NodeState_NODE_STATE_READY:
		return "Reachable"
	case swarmv1.NodeState_NODE_STATE_DOWN:
		return "Unreachable"
	}
	return "Unknown"
}

// checkListFilters rejects unknown keys and values that can never be valid.
func checkListFilters(f *cli.Filters) error {
	if err := f.Validate(listFilterKeys...); err != nil {
		return err
	}
	for _, v := range f.Get("role") {
		if _, err := cli.ParseRole(v); err != nil {
			return fmt.Errorf("invalid filter 'role=%s': want manager or worker", v)
		}
	}
	for _, v := range f.Get("membership") {
		if v != "accepted" && v != "pending" {
			return fmt.Errorf("invalid filter 'membership=%s': want accepted or pending", v)
		}
	}
	return nil
}

// filterNodes keeps the nodes matching f, docker's way: id is an ID
// prefix, name and hostname a substring of the hostname, role manager or
// worker, node.label and label "k" or "k=v". Every node listed has been
// accepted into the swarm: membership=pending matches none.
func filterNodes(nodes []*swarmv1.Node, f *cli.Filters) ([]*swarmv1.Node, error) {
	if err := checkListFilters(f); err != nil {
		return nil, err
	}
	var kept []*swarmv1.Node
	for _, n := range nodes {
		hostname := n.GetDescription().GetHostname()
		labels := n.GetSpec().GetLabels()
		ok := f.MatchAny("id", func(v string) bool { return strings.HasPrefix(n.GetId(), v) }) &&
			f.MatchAny("name", func(v string) bool { return strings.Contains(hostname, v) }) &&
			f.MatchAny("hostname", func(v string) bool { return strings.Contains(hostname, v) }) &&
			f.MatchAny("role", func(v string) bool { role, _ := cli.ParseRole(v); return n.GetRole() == role }) &&
			f.MatchAny("membership", func(v string) bool { return v == "accepted" }) &&
			f.MatchLabels("node.label", labels) &&
			f.MatchLabels("label", labels)
		if ok {
			kept = append(kept, n)
		}
	}
	return kept, nil
}
