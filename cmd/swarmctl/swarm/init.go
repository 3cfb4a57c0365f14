package swarm

import (
	"context"
	"fmt"
	"io"
	"net"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

type initOptions struct {
	advertiseAddr   string
	forceNewCluster bool
}

func newInitCommand(c *cli.CLI) *cobra.Command {
	var opts initOptions
	cmd := &cobra.Command{
		Use:   "init [OPTIONS]",
		Short: "Initialize a swarm",
		Args:  cli.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			return runInit(cmd.Context(), c, opts)
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.advertiseAddr, "advertise-addr", "", "Advertised address (IP; default: the address swarmd was started with)")
	flags.BoolVar(&opts.forceNewCluster, "force-new-cluster", false, "Force create a new cluster from current state")
	return cmd
}

func runInit(ctx context.Context, c *cli.CLI, opts initOptions) error {
	if err := validateAdvertiseAddr(opts.advertiseAddr); err != nil {
		return err
	}
	resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_SwarmInit{SwarmInit: &swarmv1.SwarmInitRequest{
		AdvertiseAddr:   opts.advertiseAddr,
		ForceNewCluster: opts.forceNewCluster,
	}}})
	if err != nil {
		return err
	}
	r := resp.GetSwarmInit()
	if r == nil {
		return cli.ErrUnexpectedResponse
	}
	return writeInit(c.Out, r)
}

// writeInit prints what `docker swarm init` prints.
func writeInit(w io.Writer, r *swarmv1.SwarmInitResponse) error {
	if _, err := fmt.Fprintf(w, "Swarm initialized: current node (%s) is now a manager.\n\n", r.GetNodeId()); err != nil {
		return err
	}
	if err := writeJoinCommand(w, "worker", r.GetWorkerToken(), r.GetGatewayAddr()); err != nil {
		return err
	}
	_, err := fmt.Fprint(w, "To add a manager to this swarm, run 'swarmctl swarm join-token manager' and follow the instructions.\n\n")
	return err
}

// validateAdvertiseAddr accepts "" (the daemon's own address) or an IP.
func validateAdvertiseAddr(addr string) error {
	if addr != "" && net.ParseIP(addr) == nil {
		return fmt.Errorf("invalid --advertise-addr %q: must be an IP address", addr)
	}
	return nil
}
