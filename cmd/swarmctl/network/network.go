// Package network is `swarmctl network`: create, ls, inspect and rm of the
// swarm's overlay networks, with docker's flags, columns and messages.
package network

import (
	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
)

// NewCommand returns `swarmctl network` and its verbs.
func NewCommand(c *cli.CLI) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "network",
		Short: "Manage networks",
		Args:  cli.NoArgs,
		RunE:  cli.ShowHelp,
	}
	cmd.AddCommand(newCreateCommand(c), newInspectCommand(c), newListCommand(c), newRemoveCommand(c))
	return cmd
}
