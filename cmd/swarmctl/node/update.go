package node

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

type updateOptions struct {
	availability string
	labelAdd     []string
	labelRm      []string
}

func newUpdateCommand(c *cli.CLI) *cobra.Command {
	var opts updateOptions
	cmd := &cobra.Command{
		Use:   "update [OPTIONS] NODE",
		Short: "Update a node",
		Args:  cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			req, err := updateRequest(args[0], opts)
			if err != nil {
				return err
			}
			return runUpdate(cmd.Context(), c, req)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.availability, "availability", "", "Availability of the node (\"active\"|\"pause\"|\"drain\")")
	flags.StringArrayVar(&opts.labelAdd, "label-add", nil, "Add or update a node label (`key=value`)")
	flags.StringArrayVar(&opts.labelRm, "label-rm", nil, "Remove a node label if exists (`key`)")
	return cmd
}

// updateRequest checks the flags and turns them into a request for ref.
func updateRequest(ref string, opts updateOptions) (*swarmv1.NodeUpdateRequest, error) {
	req := &swarmv1.NodeUpdateRequest{Ref: ref}
	if opts.availability != "" {
		a, err := cli.ParseAvailability(opts.availability)
		if err != nil {
			return nil, err
		}
		req.Availability = a
	}
	for _, kv := range opts.labelAdd {
		k, v, _ := strings.Cut(kv, "=")
		if k == "" {
			return nil, fmt.Errorf("invalid label %q: want key=value", kv)
		}
		if req.LabelAdd == nil {
			req.LabelAdd = map[string]string{}
		}
		req.LabelAdd[k] = v
	}
	for _, k := range opts.labelRm {
		if k == "" {
			return nil, errors.New("invalid --label-rm: empty key")
		}
		req.LabelRm = append(req.LabelRm, k)
	}
	if req.Availability == swarmv1.NodeAvailability_NODE_AVAILABILITY_UNSPECIFIED && len(req.LabelAdd) == 0 && len(req.LabelRm) == 0 {
		return nil, errors.New("no changes requested: give --availability, --label-add or --label-rm")
	}
	return req, nil
}

func runUpdate(ctx context.Context, c *cli.CLI, req *swarmv1.NodeUpdateRequest) error {
	if _, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_NodeUpdate{NodeUpdate: req}}); err != nil {
		return err
	}
	return writeRef(c.Out, req.GetRef())
}

// writeRef prints the node as the user named it, as docker does after an
// update or a removal.
func writeRef(w io.Writer, ref string) error {
	_, err := fmt.Fprintln(w, ref)
	return err
}
