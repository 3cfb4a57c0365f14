package swarm

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func newLeaveCommand(c *cli.CLI) *cobra.Command {
	var force bool
	cmd := &cobra.Command{
		Use:   "leave [OPTIONS]",
		Short: "Leave the swarm",
		Args:  cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runLeave(cmd.Context(), c, force)
		},
	}
	cmd.Flags().BoolVarP(&force, "force", "f", false, "Force this node to leave the swarm, ignoring warnings")
	return cmd
}

func runLeave(ctx context.Context, c *cli.CLI, force bool) error {
	_, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_SwarmLeave{SwarmLeave: &swarmv1.SwarmLeaveRequest{
		Force: force,
	}}})
	if err != nil {
		return err
	}
	_, err = fmt.Fprintln(c.Out, "Node left the swarm.")
	return err
}
