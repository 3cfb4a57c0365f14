package node

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func newPromoteCommand(c *cli.CLI) *cobra.Command {
	return &cobra.Command{
		Use:   "promote NODE [NODE...]",
		Short: "Promote one or more nodes to manager in the swarm",
		Args:  cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cli.ForEach(args, func(ref string) error {
				return runPromote(cmd.Context(), c, ref)
			})
		},
	}
}

func runPromote(ctx context.Context, c *cli.CLI, ref string) error {
	if _, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_NodePromote{NodePromote: &swarmv1.NodePromoteRequest{Ref: ref}}}); err != nil {
		return err
	}
	_, err := fmt.Fprintf(c.Out, "Node %s promoted to a manager in the swarm.\n", ref)
	return err
}
