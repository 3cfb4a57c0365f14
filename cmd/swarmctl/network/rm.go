package network

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func newRemoveCommand(c *cli.CLI) *cobra.Command {
	return &cobra.Command{
		Use:     "rm NETWORK [NETWORK...]",
		Aliases: []string{"remove"},
		Short:   "Remove one or more networks",
		Args:    cli.RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return cli.ForEach(args, func(ref string) error {
				return runRemove(cmd.Context(), c, ref)
			})
		},
	}
}

// runRemove removes one network and prints it as the user named it.
func runRemove(ctx context.Context, c *cli.CLI, ref string) error {
	if _, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_NetworkRemove{NetworkRemove: &swarmv1.NetworkRemoveRequest{Ref: ref}}}); err != nil {
		return err
	}
	_, err := fmt.Fprintln(c.Out, ref)
	return err
}
