package swarm

import (
	"fmt"
	"io"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
)

// NewCommand returns `swarmctl swarm` and its verbs.
func NewCommand(c *cli.CLI) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "swarm",
		Short: "Manage Swarm",
		Args:  cli.NoArgs,
		RunE:  cli.ShowHelp,
	}
	cmd.AddCommand(
		newInitCommand(c),
		newJoinCommand(c),
		newJoinTokenCommand(c),
		newLeaveCommand(c),
		newUpdateCommand(c),
	)
	return cmd
}

// writeJoinCommand prints how to add a node of role to the swarm.
func writeJoinCommand(w io.Writer, role, token, addr string) error {
	_, err := fmt.Fprintf(w, "To add a %s to this swarm, run the following command:\n\n    swarmctl swarm join --token %s %s\n\n", role, token, addr)
	return err
}
