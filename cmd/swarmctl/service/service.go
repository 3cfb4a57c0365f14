package service

import (
	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
)

// NewCommand returns `swarmctl service` and its verbs.
func NewCommand(c *cli.CLI) *cobra.Command {
	cmd := &cobra.Command{
		Use:   "service",
		Short: "Manage services",
		Args:  cli.NoArgs,
		RunE:  cli.ShowHelp,
	}
	cmd.AddCommand(
		newCreateCommand(c),
		newInspectCommand(c),
		newLogsCommand(c),
		newListCommand(c),
		newPsCommand(c),
		newRemoveCommand(c),
		newRollbackCommand(c),
		newScaleCommand(c),
		newUpdateCommand(c),
	)
	return cmd
}
