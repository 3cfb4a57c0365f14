package cli

import (
	"fmt"
	"strings"

	"github.com/spf13/cobra"
)

// NoArgs rejects arguments. On a command with sub-commands an argument is
// an unknown sub-command.
func NoArgs(cmd *cobra.Command, args []string) error {
	if len(args) == 0 {
		return nil
	}
	if cmd.HasSubCommands() {
		return fmt.Errorf("unknown command %q for %q\nSee '%s --help'.", args[0], cmd.CommandPath(), cmd.CommandPath())
	}
	return UsageError(cmd, fmt.Sprintf("%q accepts no arguments.", cmd.CommandPath()))
}

// ExactArgs requires exactly n arguments.
func ExactArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) == n {
			return nil
		}
		return UsageError(cmd, fmt.Sprintf("%q requires exactly %d %s.", cmd.CommandPath(), n, plural(n, "argument")))
	}
}

// RequiresMinArgs requires at least n arguments.
func RequiresMinArgs(n int) cobra.PositionalArgs {
	return func(cmd *cobra.Command, args []string) error {
		if len(args) >= n {
			return nil
		}
		return UsageError(cmd, fmt.Sprintf("%q requires at least %d %s.", cmd.CommandPath(), n, plural(n, "argument")))
	}
}

// UsageError words a misuse the way the docker CLI does: the problem, where
// to read more, the usage line and what the command does.
func UsageError(cmd *cobra.Command, problem string) error {
	return fmt.Errorf("%s\nSee '%s --help'.\n\nUsage:  %s\n\n%s",
		problem, cmd.CommandPath(), cmd.UseLine(), strings.TrimSpace(cmd.Short))
}

func plural(n int, word string) string {
	if n == 1 {
		return word
	}
	return word + "s"
}
