package swarm

import (
	"context"
	"fmt"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

type updateOptions struct {
	heartbeat time.Duration
	rebalance bool
}

func newUpdateCommand(c *cli.CLI) *cobra.Command {
	var opts updateOptions
	cmd := &cobra.Command{
		Use:   "update [OPTIONS]",
		Short: "Update the swarm",
		Args:  cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			req, err := updateRequest(opts, cmd.Flags().Changed("heartbeat"), cmd.Flags().Changed("rebalance"))
			if err != nil {
				return err
			}
			return runUpdate(cmd.Context(), c, req)
		},
	}
	flags := cmd.Flags()
	flags.DurationVar(&opts.heartbeat, "heartbeat", 0, "Node heartbeat period (ns|us|ms|s|m|h)")
	flags.BoolVar(&opts.rebalance, "rebalance", true, "Move tasks to nodes that join or come back (true|false)")
	return cmd
}

// updateRequest carries only the settings whose flags were given.
func updateRequest(opts updateOptions, heartbeatSet, rebalanceSet bool) (*swarmv1.SwarmUpdateRequest, error) {
	req := &swarmv1.SwarmUpdateRequest{}
	if heartbeatSet {
		if opts.heartbeat <= 0 {
			return nil, fmt.Errorf("invalid --heartbeat %s: must be positive", opts.heartbeat)
		}
		req.HeartbeatPeriodNano = opts.heartbeat.Nanoseconds()
	}
	if rebalanceSet {
		req.SetRebalance = true
		req.Rebalance = opts.rebalance
	}
	return req, nil
}

func runUpdate(ctx context.Context, c *cli.CLI, req *swarmv1.SwarmUpdateRequest) error {
	if _, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_SwarmUpdate{SwarmUpdate: req}}); err != nil {
		return err
	}
	_, err := fmt.Fprintln(c.Out, "Swarm updated.")
	return err
}
