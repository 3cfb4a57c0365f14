package node

import (
	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
)

// NewCommand returns `swarmctl node` and its verbs.
func NewCommand(c *cli.CLI) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "node",
		Short: "Manage Swarm nodes",
		Args:  cli.NoArgs,
		RunE:  cli.ShowHelp,
	}
	cmd.AddCommand(
		newListCommand(c),
		newInspectCommand(c),
		newUpdateCommand(c),
		newPromoteCommand(c),
		newPsCommand(c),
		newDemoteCommand(c),
		newRemoveCommand(c),
	)
	return cmd
}
