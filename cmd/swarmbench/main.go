// Command swarmbench runs ActorSwarm's benchmark scenarios against
// clusters it starts itself on loopback addresses (no root) and writes
// their figures as JSON lines, a Markdown table and an SVG plot per scenario. See package bench.
package main

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/http"
	_ "net/http/pprof"
	"os"
	"os/signal"
	"path/filepath"
	"runtime/pprof"
	"syscall"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/bench"
)

func main() {
	// The first SIGINT or SIGTERM cancels the run, which tears its cluster
	// down; a second one kills swarmbench at once (its swarmd go with it on
	// Linux, see bench.Loopback).
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	err := newRootCommand(os.Stdout, os.Stderr).ExecuteContext(ctx)
	stop()
	if err != nil {
		fmt.Fprintln(os.Stderr, "swarmbench:", err)
		os.Exit(1)
	}
}

func newRootCommand(stdout, stderr io.Writer) *cobra.Command {
	root := &cobra.Command{
		Use:           "swarmbench",
		Short:         "Benchmark ActorSwarm on clusters it starts itself",
		SilenceUsage:  true,
		SilenceErrors: true,
	}
	root.SetOut(stdout)
	root.SetErr(stderr)
	root.AddCommand(newListCommand(stdout), newRunCommand(stdout, stderr), newChaosCommand(stdout, stderr))
	return root
}

func newListCommand(stdout io.Writer) *cobra.Command {
	return &cobra.Command{
		Use:   "list",
		Short: "List the scenarios",
		Args:  cobra.NoArgs,
		RunE: func(*cobra.Command, []string) error {
			return bench.List(stdout)
		},
	}
}

func newRunCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfg bench.RunConfig
	cmd := &cobra.Command{
		Use:   "run [--quick] [--target actorswarm|dockerswarm]... [--repeat N] [--duration D] [--seed N] [--out DIR] [--bin DIR] SCENARIO...",
		Short: "Run scenarios; progress goes to stderr, the Markdown table to stdout",
		Args:  cobra.ArbitraryArgs,
		RunE: func(cmd *cobra.Command, args []string) error {
			if cmd.Flags().Changed("repeat") && cfg.Repeat < 1 {
				return fmt.Errorf("--repeat %d: want at least 1", cfg.Repeat)
			}
			cfg.Scenarios = args
			return runScenarios(cmd, cfg, stdout, stderr)
		},
	}
	flags := cmd.Flags()
	flags.BoolVar(&cfg.Quick, "quick", false, fmt.Sprintf("small sizes and %d repetitions unless --repeat is given: checks that the scenarios work", bench.QuickRepeat))
	flags.IntVar(&cfg.Repeat, "repeat", 0, fmt.Sprintf("repetitions of each scenario (default %d)", bench.DefaultRepeat))
	addRunFlags(cmd, &cfg)
	return cmd
}

// newChaosCommand is `run chaos` under a name of its own.
func newChaosCommand(stdout, stderr io.Writer) *cobra.Command {
	var cfg bench.RunConfig
	cmd := &cobra.Command{
		Use:   "chaos [--quick] [--duration D] [--seed N] [--out DIR] [--bin DIR]",
		Short: "Run the chaos scenario (the same as run chaos): random node kills for a while, time to recover from each",
		Args:  cobra.NoArgs,
		RunE: func(cmd *cobra.Command, _ []string) error {
			cfg.Scenarios = []string{"chaos"}
			return runScenarios(cmd, cfg, stdout, stderr)
		},
	}
	cmd.Flags().BoolVar(&cfg.Quick, "quick", false, "15s of faults unless --duration is given: checks that the scenario works")
	addRunFlags(cmd, &cfg)
	return cmd
}

// cpuProfile is the file of --cpuprofile, pprofAddr the address of
// --pprof-addr.
var cpuProfile, pprofAddr string

// addRunFlags adds to cmd the flags that run and its aliases share.
func addRunFlags(cmd *cobra.Command, cfg *bench.RunConfig) {
	flags := cmd.Flags()
	flags.DurationVar(&cfg.Duration, "duration", 0, "how long the scenarios that run for a time go on (chaos: default 60s, 15s with --quick)")
	flags.Uint64Var(&cfg.Seed, "seed", 0, "seed of the scenarios' random choices (default: one from the clock, given in the reports)")
	flags.StringVar(&cpuProfile, "cpuprofile", "", "write a CPU profile of swarmbench's own process to this file (sim-scale runs its managers in it)")
	flags.StringVar(&cfg.MemProfile, "memprofile", "", "sim-scale: write a heap profile of swarmbench's own process to this file once every task runs")
	flags.StringVar(&pprofAddr, "pprof-addr", "", "serve net/http/pprof of swarmbench's own process on this address (IP:port) while it runs")
	flags.IntVar(&cfg.SimNodes, "sim-nodes", 0, "simulated nodes of sim-scale (default 10000, 100 with --quick)")
	flags.IntVar(&cfg.SimTasks, "sim-tasks", 0, "simulated tasks of sim-scale (default 1000000, 2000 with --quick)")
	flags.StringVar(&cfg.OutDir, "out", "bench-results", "directory for "+bench.JSONFile+", "+bench.MarkdownFile+" and the plots (SCENARIO.svg)")
	flags.StringSliceVar(&cfg.Targets, "target", []string{bench.TargetActorSwarm}, "what to run the scenarios against: actorswarm, dockerswarm (the local Docker engine and a second one in a network namespace, as root), or both: --target actorswarm,dockerswarm")
	flags.StringVar(&cfg.BinDir, "bin", "", "directory holding swarmd and swarmctl (default: swarmbench's own directory)")
}

// runScenarios runs cfg.Scenarios with progress on stderr, then prints
// the Markdown table of what completed on stdout.
func runScenarios(cmd *cobra.Command, cfg bench.RunConfig, stdout, stderr io.Writer) error {
	if cfg.Duration < 0 {
		return fmt.Errorf("--duration %s: want a positive duration", cfg.Duration)
	}
	if cfg.SimNodes < 0 || cfg.SimTasks < 0 {
		return fmt.Errorf("--sim-nodes %d, --sim-tasks %d: want positive numbers", cfg.SimNodes, cfg.SimTasks)
	}
	cfg.Log = stderr
	if pprofAddr != "" {
		ln, err := net.Listen("tcp", pprofAddr)
		if err != nil {
			return fmt.Errorf("--pprof-addr: %w", err)
		}
		defer ln.Close()
		go http.Serve(ln, nil)
	}
	if cpuProfile != "" {
		f, err := os.Create(cpuProfile)
		if err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return fmt.Errorf("--cpuprofile: %w", err)
		}
		defer pprof.StopCPUProfile()
	}
	if cfg.BinDir == "" {
		dir, err := executableDir()
		if err != nil {
			return fmt.Errorf("find swarmd next to swarmbench: %w (pass --bin DIR)", err)
		}
		cfg.BinDir = dir
	}
	recs, err := bench.Run(cmd.Context(), cfg)
	if len(recs) > 0 {
		fmt.Fprintln(stdout)
		if werr := bench.WriteMarkdown(stdout, recs); werr != nil && err == nil {
			err = werr
		}
		fmt.Fprintf(stderr, "reports: %s, %s and a plot per scenario in %s\n", filepath.Join(cfg.OutDir, bench.JSONFile), filepath.Join(cfg.OutDir, bench.MarkdownFile), cfg.OutDir)
	}
	return err
}

// executableDir is the directory of the running swarmbench, symlinks
// resolved.
func executableDir() (string, error) {
	exe, err := os.Executable()
	if err != nil {
		return "", err
	}
	exe, err = filepath.EvalSymlinks(exe)
	if err != nil {
		return "", err
	}
	return filepath.Dir(exe), nil
}
