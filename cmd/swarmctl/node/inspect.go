package node

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"slices"
	"strings"

	"github.com/spf13/cobra"
	"google.golang.org/protobuf/encoding/protojson"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

type inspectOptions struct {
	format string
	pretty bool
}

func newInspectCommand(c *cli.CLI) *cobra.Command {
	var opts inspectOptions
	cmd := &cobra.Command{
		Use:   "inspect [OPTIONS] self|NODE [NODE...]",
		Short: "Display detailed information on one or more nodes",
		Args:  cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runInspect(cmd.Context(), c, opts, args)
		},
	}
	flags := cmd.Flags()
	flags.StringVarP(&opts.format, "format", "f", "", "Format the output using the given Go template")
	flags.BoolVar(&opts.pretty, "pretty", false, "Print the information in a human friendly format")
	return cmd
}

func runInspect(ctx context.Context, c *cli.CLI, opts inspectOptions, refs []string) error {
	if opts.pretty && opts.format != "" {
		return errors.New("--format and --pretty cannot be used together")
	}
	var found []*swarmv1.NodeResponse
	failed := cli.ForEach(refs, func(ref string) error {
		resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_NodeInspect{NodeInspect: &swarmv1.NodeInspectRequest{Ref: ref}}})
		if err != nil {
			return err
		}
		if resp.GetNode().GetNode() == nil {
			return cli.ErrUnexpectedResponse
		}
		found = append(found, resp.GetNode())
		return nil
	})
	// Like docker, print what was found, then the errors.
	if err := writeInspect(c.Out, found, opts); err != nil {
		return err
	}
	return failed
}

// writeInspect prints nodes as a JSON array, with a template per node, or
// in docker's --pretty layout (one block a node, a blank line between).
func writeInspect(w io.Writer, nodes []*swarmv1.NodeResponse, opts inspectOptions) error {
	switch {
	case opts.pretty:
		for i, r := range nodes {
			if i > 0 {
				if _, err := io.WriteString(w, "\n"); err != nil {
					return err
				}
			}
			if err := writePretty(w, r); err != nil {
				return err
			}
		}
		return nil
	case opts.format != "":
		plain := make([]*swarmv1.Node, len(nodes))
		for i, r := range nodes {
			plain[i] = r.GetNode()
		}
		return cli.WriteFormatted(w, opts.format, plain)
	}
	return writeInspectJSON(w, nodes)
}

// writeInspectJSON prints the nodes as an indented JSON array in protobuf's
// JSON mapping.
func writeInspectJSON(w io.Writer, nodes []*swarmv1.NodeResponse) error {
	var raw bytes.Buffer
	raw.WriteByte('[')
	for i, r := range nodes {
		if i > 0 {
			raw.WriteByte(',')
		}
		b, err := protojson.Marshal(r.GetNode())
		if err != nil {
			return err
		}
		raw.Write(b)
	}
	raw.WriteByte(']')
	// Indent also drops the random spacing protojson adds to stay unstable.
	var out bytes.Buffer
	if err := json.Indent(&out, raw.Bytes(), "", "    "); err != nil {
		return err
	}
	out.WriteByte('\n')
	_, err := out.WriteTo(w)
	return err
}

// writePretty prints one node as `docker node inspect --pretty` does, tabs
// included; sections without data (labels, manager status, status message,
// address, plugins) are left out.
func writePretty(w io.Writer, r *swarmv1.NodeResponse) error {
	n := r.GetNode()
	d := n.GetDescription()
	var b strings.Builder
	fmt.Fprintf(&b, "ID:\t\t\t%s\n", n.GetId())
	if labels := n.GetSpec().GetLabels(); len(labels) > 0 {
		b.WriteString("Labels:\n")
		for _, k := range slices.Sorted(maps.Keys(labels)) {
			if v := labels[k]; v != "" {
				fmt.Fprintf(&b, " - %s=%s\n", k, v)
			} else {
				fmt.Fprintf(&b, " - %s\n", k)
			}
		}
	}
	fmt.Fprintf(&b, "Hostname:              \t%s\n", d.GetHostname())
	fmt.Fprintf(&b, "Joined at:             \t%s\n", cli.PrettyTime(cli.TimeFromUnixNano(n.GetCreatedUnixNano())))
	b.WriteString("Status:\n")
	fmt.Fprintf(&b, " State:\t\t\t%s\n", cli.StateName(n.GetStatus().GetState()))
	if msg := n.GetStatus().GetMessage(); msg != "" {
		fmt.Fprintf(&b, " Message:              \t%s\n", msg)
	}
	fmt.Fprintf(&b, " Availability:         \t%s\n", cli.AvailabilityName(n.GetSpec().GetAvailability()))
	if addr := n.GetAddr(); addr != "" {
		fmt.Fprintf(&b, " Address:\t\t%s\n", addr)
	}
	if n.GetRole() == swarmv1.NodeRole_NODE_ROLE_MANAGER {
		leader, raftStatus := "No", reachability(n.GetStatus().GetState())
		if n.GetId() == r.GetLeaderId() {
			leader, raftStatus = "Yes", "Reachable"
		}
		b.WriteString("Manager Status:\n")
		fmt.Fprintf(&b, " Address:\t\t%s\n", n.GetGatewayAddr())
		fmt.Fprintf(&b, " Raft Status:\t\t%s\n", raftStatus)
		fmt.Fprintf(&b, " Leader:\t\t%s\n", leader)
	}
	b.WriteString("Platform:\n")
	fmt.Fprintf(&b, " Operating System:\t%s\n", d.GetOs())
	fmt.Fprintf(&b, " Architecture:\t\t%s\n", d.GetArch())
	b.WriteString("Resources:\n")
	fmt.Fprintf(&b, " CPUs:\t\t\t%d\n", d.GetNanoCpus()/1e9)
	memory := ""
	if m := d.GetMemoryBytes(); m > 0 {
		memory = cli.BytesSize(float64(m))
	}
	fmt.Fprintf(&b, " Memory:\t\t%s\n", memory)
	if runtimes := d.GetRuntimes(); len(runtimes) > 0 {
		b.WriteString("Plugins:\n")
		fmt.Fprintf(&b, " Runtime:\t\t%s\n", strings.Join(runtimes, ", "))
	}
	fmt.Fprintf(&b, "Engine Version:\t\t%s\n", d.GetEngineVersion())
	_, err := io.WriteString(w, b.String())
	return err
}
