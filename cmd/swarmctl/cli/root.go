package cli

import (
	"context"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/internal/gwrpc"
	"github.com/actorswarm/swarm/internal/version"
)

// usageTemplate follows the docker CLI's: a "Usage:" line, the short
// description, then aliases, options (this command's own flags only) and
// sub-commands.
const usageTemplate = `Usage:  {{if .HasAvailableSubCommands}}{{.CommandPath}}{{if .HasAvailableLocalFlags}} [OPTIONS]{{end}} COMMAND{{else}}{{.UseLine}}{{end}}

{{with or .Long .Short}}{{. | trimTrailingWhitespaces}}{{end}}
{{- if gt (len .Aliases) 0}}

Aliases:
  {{.NameAndAliases}}
{{- end}}
{{- if .HasExample}}

Examples:
{{.Example}}
{{- end}}
{{- if .HasAvailableLocalFlags}}

Options:
{{.LocalFlags.FlagUsages | trimTrailingWhitespaces}}
{{- end}}
{{- if .HasAvailableSubCommands}}

Commands:
{{- range .Commands}}{{if .IsAvailableCommand}}
  {{rpad .Name .NamePadding}} {{.Short}}
{{- end}}{{end}}

Run '{{.CommandPath}} COMMAND --help' for more information on a command.
{{- end}}
`

// NewRootCommand returns the swarmctl command with the global flags bound
// to c, the version command and nouns (each built by a noun package's
// NewCommand) below it.
func NewRootCommand(c *CLI, nouns ...*cobra.Command) *cobra.Command {
	root := &cobra.Command{
		Use:           "swarmctl [OPTIONS] COMMAND",
		Short:         "Manage an ActorSwarm cluster the way the docker CLI manages a swarm",
		Version:       version.Version,
		Args:          NoArgs,
		RunE:          ShowHelp,
		SilenceErrors: true,
		SilenceUsage:  true,
	}
	root.CompletionOptions.DisableDefaultCmd = true
	root.SetVersionTemplate("swarmctl version {{.Version}}\n")

	pf := root.PersistentFlags()
	pf.StringVarP(&c.Host, "host", "H", envOr("SWARM_HOST", gwrpc.DefaultHost), "Daemon socket to connect to, unix://PATH or tcp://IP:PORT ($SWARM_HOST)")
	pf.StringVar(&c.TLSDir, "tls-dir", os.Getenv("SWARM_TLS_DIR"), "Admin TLS bundle directory for tcp:// hosts ($SWARM_TLS_DIR)")
	pf.BoolP("help", "h", false, "Print usage")
	_ = pf.MarkHidden("help")
	root.Flags().BoolP("version", "v", false, "Print version information and quit")

	root.SetHelpCommand(&cobra.Command{
		Use:    "help [COMMAND]",
		Short:  "Help about a command",
		Hidden: true,
		RunE: func(cmd *cobra.Command, args []string) error {
			target, _, err := cmd.Root().Find(args)
			if err != nil {
				return err
			}
			return target.Help()
		},
	})
	root.SetFlagErrorFunc(func(cmd *cobra.Command, err error) error {
		return fmt.Errorf("%w\nSee '%s --help'.", err, cmd.CommandPath())
	})
	root.SetUsageTemplate(usageTemplate)
	root.SetHelpTemplate("{{.UsageString}}")
	root.SetOut(c.Out)
	root.SetErr(c.Err)

	root.AddCommand(newVersionCommand(c))
	root.AddCommand(nouns...)
	disableFlagsInUseLine(root)
	return root
}

// Execute runs root with args (without the program name), prints an error
// to c.Err and returns the exit status: 0, or 1 for any failure.
func (c *CLI) Execute(ctx context.Context, root *cobra.Command, args []string) int {
	if args == nil {
		args = []string{} // cobra reads os.Args when given nil
	}
	root.SetArgs(args)
	err := root.ExecuteContext(ctx)
	if cerr := c.Close(); err == nil && cerr != nil {
		err = cerr
	}
	if err != nil {
		fmt.Fprintln(c.Err, err)
		return 1
	}
	return 0
}

// ShowHelp is the RunE of commands that only group sub-commands: without
// arguments they print their usage.
func ShowHelp(cmd *cobra.Command, _ []string) error {
	return cmd.Help()
}

func newVersionCommand(c *CLI) *cobra.Command {
	return &cobra.Command{
		Use:   "version",
		Short: "Show the swarmctl version information",
		Args:  NoArgs,
		RunE: func(*cobra.Command, []string) error {
			_, err := fmt.Fprintf(c.Out, "swarmctl version %s\n", version.Version)
			return err
		},
	}
}

// disableFlagsInUseLine keeps cobra from appending "[flags]" to usage
// lines: ours say [OPTIONS] as docker's do.
func disableFlagsInUseLine(cmd *cobra.Command) {
	cmd.DisableFlagsInUseLine = true
	for _, sub := range cmd.Commands() {
		disableFlagsInUseLine(sub)
	}
}

func envOr(key, fallback string) string {
	if v := os.Getenv(key); v != "" {
		return v
	}
	return fallback
}
