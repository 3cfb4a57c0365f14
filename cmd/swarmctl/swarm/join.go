package swarm

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// defaultPort is the gateway port a HOST without :PORT means.
const defaultPort = "2377"

type joinOptions struct {
	token         string
	advertiseAddr string
}

func newJoinCommand(c *cli.CLI) *cobra.Command {
	var opts joinOptions
	cmd := &cobra.Command{
		Use:   "join [OPTIONS] HOST:PORT",
		Short: "Join a swarm as a node and/or manager",
		Args:  cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runJoin(cmd.Context(), c, opts, args[0])
		},
	}
	flags := cmd.Flags()
	flags.StringVar(&opts.token, "token", "", "Token for entry into the swarm")
	flags.StringVar(&opts.advertiseAddr, "advertise-addr", "", "Advertised address (IP; default: the address swarmd was started with)")
	return cmd
}

func runJoin(ctx context.Context, c *cli.CLI, opts joinOptions, remote string) error {
	if opts.token == "" {
		return errors.New("--token is required: run 'swarmctl swarm join-token worker' on a manager to get one")
	}
	addr, err := normalizeRemoteAddr(remote)
	if err != nil {
		return err
	}
	if err := validateAdvertiseAddr(opts.advertiseAddr); err != nil {
		return err
	}
	resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_SwarmJoin{SwarmJoin: &swarmv1.SwarmJoinRequest{
		Token:         opts.token,
		RemoteAddr:    addr,
		AdvertiseAddr: opts.advertiseAddr,
	}}})
	if err != nil {
		return err
	}
	r := resp.GetSwarmJoin()
	if r == nil {
		return cli.ErrUnexpectedResponse
	}
	return writeJoin(c.Out, r)
}

// writeJoin prints the role the node joined as.
func writeJoin(w io.Writer, r *swarmv1.SwarmJoinResponse) error {
	role := "worker"
	if r.GetRole() == swarmv1.NodeRole_NODE_ROLE_MANAGER {
		role = "manager"
	}
	_, err := fmt.Fprintf(w, "This node joined a swarm as a %s.\n", role)
	return err
}

// normalizeRemoteAddr checks that addr is HOST[:PORT] and returns HOST:PORT,
// the port 2377 when missing.
func normalizeRemoteAddr(addr string) (string, error) {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		// No port: a name, an IPv4 address, or an IPv6 one, bracketed or not.
		host, port = strings.TrimSuffix(strings.TrimPrefix(addr, "["), "]"), defaultPort
		if strings.Contains(host, ":") && net.ParseIP(host) == nil {
			return "", fmt.Errorf("invalid address %q: want HOST:PORT, e.g. 192.168.1.10:2377", addr)
		}
	}
	if host == "" || strings.ContainsAny(host, " /[]") {
		return "", fmt.Errorf("invalid address %q: want HOST:PORT, e.g. 192.168.1.10:2377", addr)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return "", fmt.Errorf("invalid address %q: port must be a number from 1 to 65535", addr)
	}
	return net.JoinHostPort(host, port), nil
}
