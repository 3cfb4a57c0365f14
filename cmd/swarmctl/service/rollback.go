package service

import (
	"context"
	"fmt"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func newRollbackCommand(c *cli.CLI) *cobra.Command {
	var detach, quiet bool
	cmd := &cobra.Command{
		Use:   "rollback [OPTIONS] SERVICE",
		Short: "Revert changes to a service's configuration",
		Args:  cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runRollback(cmd.Context(), c, args[0], detach, quiet)
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&detach, "detach", "d", false, "Exit immediately instead of waiting for the service to converge")
	flags.BoolVarP(&quiet, "quiet", "q", false, "Suppress progress output")
	return cmd
}

// runRollback asks the daemon to go back to the service's previous spec,
// prints the service as named and, unless detach, shows the rollback.
func runRollback(ctx context.Context, c *cli.CLI, ref string, detach, quiet bool) error {
	resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_ServiceRollback{ServiceRollback: &swarmv1.ServiceRollbackRequest{Ref: ref}}})
	if err != nil {
		return err
	}
	writeWarnings(c, resp.GetService())
	if _, err := fmt.Fprintln(c.Out, ref); err != nil {
		return err
	}
	if detach {
		return nil
	}
	return c.WaitOnService(ctx, ref, cli.WaitOptions{Quiet: quiet, Rollback: true})
}
