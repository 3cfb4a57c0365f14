package node

import (
	"context"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func newRemoveCommand(c *cli.CLI) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:     "rm [OPTIONS] NODE [NODE...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more nodes from the swarm",
		Args:    cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cli.ForEach(args, func(ref string) error {
				return runRemove(cmd.Context(), c, ref, force)
			})
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force remove a node from the swarm")
	return cmd
}

func runRemove(ctx context.Context, c *cli.CLI, ref string, force bool) error {
	if _, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_NodeRemove{NodeRemove: &swarmv1.NodeRemoveRequest{Ref: ref, Force: force}}}); err != nil {
		return err
	}
	return writeRef(c.Out, ref)
}
