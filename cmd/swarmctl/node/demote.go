package node

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func newDemoteCommand(c *cli.CLI) *cobra.Command {
	return &cobra.Command{
		Use:   "demote NODE [NODE...]",
		Short: "Demote one or more nodes from manager in the swarm",
		Args:  cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cli.ForEach(args, func(ref string) error {
				return runDemote(cmd.Context(), c, ref)
			})
		},
	}
}

func runDemote(ctx context.Context, c *cli.CLI, ref string) error {
	if _, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_NodeDemote{NodeDemote: &swarmv1.NodeDemoteRequest{Ref: ref}}}); err != nil {
		return err
	}
	_, err := fmt.Fprintf(c.Out, "Manager %s demoted in the swarm.\n", ref)
	return err
}
