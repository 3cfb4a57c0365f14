package service

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func newScaleCommand(c *cli.CLI) *cobra.Command {
	var detach bool
	cmd := &cobra.Command{
		Use:   "scale SERVICE=REPLICAS [SERVICE=REPLICAS...]",
		Short: "Scale one or multiple replicated services",
		Args:  scaleArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			return runScale(cmd.Context(), c, args, detach)
		},
	}
	cmd.Flags().BoolVarP(&detach, "detach", "d", false, "Exit immediately instead of waiting for the service to converge")
	return cmd
}

// scaleArgs wants SERVICE=REPLICAS arguments, and refuses the command
// line before anything is scaled when one is not.
func scaleArgs(cmd *cobra.Command, args []string) error {
	if err := cli.RequiresMinArgs(1)(cmd, args); err != nil {
		return err
	}
	for _, arg := range args {
		if k, v, ok := strings.Cut(arg, "="); !ok || k == "" || v == "" {
			return cli.UsageError(cmd, fmt.Sprintf("invalid scale specifier '%s'.", arg))
		}
	}
	return nil
}

// runScale scales each service, carrying on after a failure, then waits
// for each one scaled in turn unless detach. The failures are returned
// together, each prefixed with its service.
func runScale(ctx context.Context, c *cli.CLI, args []string, detach bool) error {
	var (
		errs   []error
		scaled []string
	)
	for _, arg := range args {
		ref, value, _ := strings.Cut(arg, "=")
		replicas, err := strconv.ParseUint(value, 10, 64)
		if err != nil {
			errs = append(errs, fmt.Errorf("%s: invalid replicas value %s: %w", ref, value, err))
			continue
		}
		if err := scale(ctx, c, ref, replicas); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ref, err))
			continue
		}
		if _, err := fmt.Fprintf(c.Out, "%s scaled to %d\n", ref, replicas); err != nil {
			return err
		}
		scaled = append(scaled, ref)
	}
	for _, ref := range scaled {
		if detach || ctx.Err() != nil {
			break
		}
		if err := c.WaitOnService(ctx, ref, cli.WaitOptions{}); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", ref, err))
		}
	}
	return errors.Join(errs...)
}

// scale sets the replicas of a replicated service.
func scale(ctx context.Context, c *cli.CLI, ref string, replicas uint64) error {
	svc, err := inspectService(ctx, c, ref)
	if err != nil {
		return err
	}
	if svc.GetSpec().GetMode() != swarmv1.ServiceMode_SERVICE_MODE_REPLICATED {
		return errors.New("scale can only be used with replicated mode")
	}
	req := &swarmv1.ServiceScaleRequest{Ref: svc.GetId(), Replicas: replicas}
	resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_ServiceScale{ServiceScale: req}})
	if err != nil {
		return err
	}
	writeWarnings(c, resp.GetService())
	return nil
}
