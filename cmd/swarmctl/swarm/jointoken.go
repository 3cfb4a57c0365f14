package swarm

import (
	"context"
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

type joinTokenOptions struct {
	quiet  bool
	rotate bool
}

func newJoinTokenCommand(c *cli.CLI) *cobra.Command {
	var opts joinTokenOptions
	cmd := &cobra.Command{
		Use:   "join-token [OPTIONS] (worker|manager)",
		Short: "Manage join tokens",
		Args:  cli.ExactArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return runJoinToken(cmd.Context(), c, opts, args[0])
		},
	}
	flags := cmd.Flags()
	flags.BoolVarP(&opts.quiet, "quiet", "q", false, "Only display token")
	flags.BoolVar(&opts.rotate, "rotate", false, "Rotate join token")
	return cmd
}

func runJoinToken(ctx context.Context, c *cli.CLI, opts joinTokenOptions, roleWord string) error {
	role, err := cli.ParseRole(roleWord)
	if err != nil {
		return err
	}
	resp, err := c.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_JoinToken{JoinToken: &swarmv1.JoinTokenRequest{
		Role:   role,
		Rotate: opts.rotate,
	}}})
	if err != nil {
		return err
	}
	r := resp.GetJoinToken()
	if r == nil {
		return cli.ErrUnexpectedResponse
	}
	return writeJoinToken(c.Out, role, r, opts)
}

// writeJoinToken prints a join token as `docker swarm join-token` does:
// the token alone with -q, else the command to run on a new node, after a
// line about the rotation with --rotate.
func writeJoinToken(w io.Writer, role swarmv1.NodeRole, r *swarmv1.JoinTokenResponse, opts joinTokenOptions) error {
	if opts.quiet {
		_, err := fmt.Fprintln(w, r.GetToken())
		return err
	}
	name := cli.RoleName(role)
	if opts.rotate {
		if _, err := fmt.Fprintf(w, "Successfully rotated %s join token.\n\n", name); err != nil {
			return err
		}
	}
	return writeJoinCommand(w, name, r.GetToken(), r.GetGatewayAddr())
}
