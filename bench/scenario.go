package bench

import (
	"context"
	"errors"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"
	"time"
)

// Default repetitions of each scenario.
const (
	DefaultRepeat = 10
	QuickRepeat   = 3
)

// ErrUnknownScenario is returned for a scenario name that Scenarios lacks.
var ErrUnknownScenario = errors.New("unknown scenario")

// Options are what a scenario is told about its run.
type Options struct {
	// Repeat is how many times the scenario measures (at least 1).
	Repeat int
	// Quick selects the scenario's small sizes: the run checks that the
	// scenario works, its figures mean little.
	Quick bool
	// Duration is how long a scenario that runs for a time rather than a
	// number of repetitions (chaos) goes on; 0 means its own default.
	Duration time.Duration
	// Seed seeds the random choices of a scenario that makes some (chaos);
	// 0 means one taken from the clock. Its records give the seed used.
	Seed uint64
	// BinDir holds the swarmd and swarmctl binaries of loopback clusters.
	BinDir string
	// Log receives progress lines and, when a cluster fails, its nodes' log
	// tails. Nil discards them.
	Log io.Writer
	// SimNodes and SimTasks size sim-scale: simulated nodes and tasks;
	// 0 means its defaults.
	SimNodes int
	SimTasks int
	// MemProfile, when set, is where sim-scale writes a heap profile of
	// this process once every task runs (its peak).
	MemProfile string
	// Target is what the scenario runs against (TargetActorSwarm when
	// empty); the runner sets it for each target of a run.
	Target string
}

// progress prints "scenario: run i/N: text".
func (o Options) progress(scenario string, run int, format string, args ...any) {
	o.logf("%s: run %d/%d: %s\n", scenario, run, o.Repeat, fmt.Sprintf(format, args...))
}

func (o Options) logf(format string, args ...any) {
	if o.Log != nil {
		fmt.Fprintf(o.Log, format, args...)
	}
}

// Scenario is a named measurement. Run starts what it measures, repeats
// the measurement opts.Repeat times, tears everything down (on error too)
// and returns its records, unstamped (see Record.Stamp). DockerSwarm does
// the same against Docker Swarm mode; a scenario without it says why in
// DockerSwarmWhyNot, which the reports carry.
type Scenario struct {
	Name              string
	Description       string
	Run               func(ctx context.Context, opts Options) ([]Record, error)
	DockerSwarm       func(ctx context.Context, opts Options) ([]Record, error)
	DockerSwarmWhyNot string
}

// runOn returns the function that runs s against target, or a record
// saying why s cannot run there.
func (s Scenario) runOn(target string) (func(context.Context, Options) ([]Record, error), error) {
	switch target {
	case TargetActorSwarm:
		return s.Run, nil
	case TargetDockerSwarm:
		if s.DockerSwarm != nil {
			return s.DockerSwarm, nil
		}
		why := s.DockerSwarmWhyNot
		return func(context.Context, Options) ([]Record, error) {
			return []Record{{Scenario: s.Name, Target: target, Started: time.Now(), Unit: "-", NotRun: why}}, nil
		}, nil
	}
	return nil, fmt.Errorf("unknown target %q: want one of %s", target, strings.Join(Targets, ", "))
}

// Scenarios returns every scenario, in the order they are listed.
func Scenarios() []Scenario {
	return []Scenario{
		{
			Name:        "raft-propose",
			Description: "3 Raft replicas in this process: latency of sequential proposals, commands/s with 1 and 64 proposers",
			Run:         runRaftPropose,
			// Swarmkit's Raft (etcd/raft) is not a library one can start alone.
			DockerSwarmWhyNot: "Docker Swarm's Raft cannot be driven on its own; compare converge and scale instead",
		},
		{
			Name:        "leader-crash",
			Description: "5 loopback swarmd (3 managers): SIGKILL the leader, time until a write through a worker succeeds",
			Run:         runLeaderCrash,
			DockerSwarm: runDockerLeaderCrash,
		},
		{
			Name:              "node-down",
			Description:       "5 loopback swarmd (3 managers): SIGKILL a worker, time until it shows Down; restart it, time until Ready",
			Run:               runNodeDown,
			DockerSwarmWhyNot: "measured as node-crash/down on dockerswarm",
		},
		{
			Name:        "node-crash",
			Description: "5 loopback swarmd (3 managers), a service of 20 process tasks: SIGKILL a worker running some, time until 20 run again on live nodes and until it shows Down; dockerswarm: the local engine as manager and a second engine in a network namespace as the worker",
			Run:         runNodeCrash,
			DockerSwarm: runDockerNodeCrash,
		},
		{
			Name:        "partition",
			Description: "5 swarmd (3 managers) in network namespaces on a bridge, a service of 20 process tasks: cut a worker off (link down; its tasks run on), time until 20 run on the reachable nodes; heal, time until exactly 20 run again (needs root); dockerswarm: the local engine and a worker engine whose link is cut",
			Run:         runPartition,
			DockerSwarm: runDockerPartition,
		},
		{
			Name:        "lossy-node-crash",
			Description: "node-crash on 5 swarmd in network namespaces whose links all drop 5% of packets each way: time of a write, time until a killed worker's 20 tasks run again, and how many other nodes were wrongly shown Down (needs root); dockerswarm: node-crash with the worker's link and the manager's side of the bridge losing as much",
			Run:         runLossyNodeCrash,
			DockerSwarm: runDockerLossyNodeCrash,
		},
		{
			Name:        "latency-node-crash",
			Description: "lossy-node-crash with latency instead of loss: every host holds each packet it sends for 25 ms (NFQUEUE; round trips take 50 ms more): time of a write, time until a killed worker's 20 tasks run again, other nodes wrongly shown Down (needs root); dockerswarm: node-crash with the worker and the manager holding what they send to each other as long",
			Run:         runLatencyNodeCrash,
			DockerSwarm: runDockerLatencyNodeCrash,
		},
		{
			Name:        "node-freeze",
			Description: "5 loopback swarmd (3 managers), a service of 20 process tasks: SIGSTOP a worker's swarmd (its tasks run on), time until 20 run on the live nodes; SIGCONT it, time until exactly 20 run again (its replaced tasks stopped); dockerswarm: the worker engine's dockerd is frozen (its containers run on; needs root)",
			Run:         runNodeFreeze,
			DockerSwarm: runDockerNodeFreeze,
		},
		{
			Name:              "clock-jump",
			Description:       "5 loopback swarmd (3 managers), a service of 20 process tasks restarted 1 s after a failure: the leader's wall clock set an hour back and a worker's an hour ahead, then the other way round (each swarmd's own, through a skew file; durations do not move): SIGKILL a task process on that worker, time until 20 run again; SIGKILL the other worker, time until it shows Down and until 20 run on the live nodes; each repetition also measures all three with the clocks right",
			Run:               runClockJump,
			DockerSwarmWhyNot: "one engine's wall clock can only be set with the machine's (the real-time clock has no namespace), and this shared machine's clock is not the benchmark's to set",
		},
		{
			Name:        "disk-full",
			Description: "5 loopback swarmd (3 managers), a manager's data directory a 64 MiB tmpfs: fill it, time until a write through another manager succeeds; for 10 s scale a service between 1 and 200 tasks through the full manager (each write commits or fails, none hangs) and note whether it stays up; free the space (start it again if it stopped), time until every node is Ready and every manager reachable (needs root); dockerswarm: three engines as managers, the third's data root the tmpfs",
			Run:         runDiskFull,
			DockerSwarm: runDockerDiskFull,
		},
		{
			Name:        "chaos",
			Description: "5 loopback swarmd (3 managers), a service of 20 process tasks: for --duration (60s), SIGKILL a random node (seeded; a manager majority stays up), time until 20 run again on live nodes; restart it, wait until all Ready; --repeat does not apply; dockerswarm: the local engine as manager and two worker engines, a random worker killed (needs root)",
			Run:         runChaos,
			DockerSwarm: runDockerChaos,
		},
		{
			Name:        "mesh-throughput",
			Description: "5 loopback swarmd (3 managers), 2 swarm-http tasks published on a port: wrk (2 threads, 32 connections) to one task directly, through the routing mesh of a worker, and through HAProxy (TCP round-robin over both tasks), one after the other: requests/s, p50 and p99",
			Run:         runMeshThroughput,
			// Swarm's mesh is IPVS, which this kernel lacks (STACK-NOTES).
			DockerSwarmWhyNot: "Docker Swarm's ingress mesh needs IPVS, which this kernel does not have",
		},
		{
			Name:        "overlay-throughput",
			Description: "2 network namespaces joined by a veth pair: one TCP stream (iperf3) and ping RTT through ActorSwarm's overlay (a forwarder per namespace, TUN MTU 65000), through kernel VXLAN (MTU 1450) and over the bare veth, one after the other: Gbit/s, ms (pings 50 ms and 5 ms apart, flooded, and 5 ms apart with ping and the forwarders pinned to one CPU), and the overlay's packets/s per core and CPU per ping; needs root, iperf3 and ping",
			Run:         runOverlayThroughput,
			// Swarm's overlay data path is the kernel's VXLAN device.
			DockerSwarmWhyNot: "Docker Swarm's overlay is kernel VXLAN, which this scenario measures as its baseline (kernel-vxlan)",
		},
		{
			Name:        "overlay-rtt",
			Description: "5 swarmd in network namespaces on a bridge (3 managers), an overlay network and one task on each of two workers: ping RTT from one task to the other through the overlay (task veth, host TUN, swarmd's forwarder), against host to host over the bridge: ms (pings 50 ms and 5 ms apart, flooded, and 5 ms apart with ping and both workers' swarmd pinned to one CPU); needs root and ping",
			Run:         runOverlayRTT,
			// Swarm's overlay data path is the kernel's VXLAN device.
			DockerSwarmWhyNot: "Docker Swarm's overlay is kernel VXLAN (see overlay-throughput's kernel-vxlan rows); its tasks are containers, not processes on the hosts' namespaces",
		},
		{
			Name:              "rolling-update-under-load",
			Description:       "5 loopback swarmd (3 managers), 4 swarm-http tasks published on a port: a rolling update (parallelism 1, stop-first) while 4 clients send requests round every node's port, a new connection each: failed requests, requests/s, update time",
			Run:               runRollingUpdate,
			DockerSwarmWhyNot: "Docker Swarm's ingress mesh needs IPVS, which this kernel does not have",
		},
		{
			Name:              "converge",
			Description:       "5 loopback swarmd (3 managers): service create -d of 1000 process tasks, time until service ls shows 1000/1000, and tasks/s",
			Run:               runConverge,
			DockerSwarmWhyNot: "Docker Swarm runs containers only: converge-containers compares the two with the same containers",
		},
		{
			Name:        "converge-containers",
			Description: "converge with 100 containers of the benchmark image (swarm-http): 5 loopback swarmd whose docker runtime uses the local engine; dockerswarm: the local engine as manager and a worker engine in a network namespace (needs a Docker engine; dockerswarm needs root)",
			Run:         runConvergeContainers,
			DockerSwarm: runDockerConverge,
		},
		{
			Name:              "sim-scale",
			Description:       "3 managers (swarmd daemons, real actors and Raft) in this process hosting 10,000 simulated nodes (sim runtime; --sim-nodes) and services adding up to 1,000,000 tasks (--sim-tasks), created at once: time to register the nodes, to place and to run every task, placement rate, Raft commit rate, peak RSS; --repeat does not apply",
			Run:               runSimScale,
			DockerSwarmWhyNot: "Docker Swarm has no simulated nodes: ten thousand engines do not fit on one machine",
		},
		{
			Name:              "scale",
			Description:       "5 loopback swarmd (3 managers), a service of 500 process tasks: time to scale it to 1000, then to 50",
			Run:               runScale,
			DockerSwarmWhyNot: "Docker Swarm runs containers only: scale-containers compares the two with the same containers",
		},
		{
			Name:        "scale-containers",
			Description: "scale with containers, on the swarms of converge-containers: a service of 50 containers scaled to 100, then to 5",
			Run:         runScaleContainers,
			DockerSwarm: runDockerScale,
		},
	}
}

// Lookup returns the scenarios with the given names, in that order. An
// unknown name is an error wrapping ErrUnknownScenario that lists the
// known ones.
func Lookup(names []string) ([]Scenario, error) {
	all := Scenarios()
	var out []Scenario
	for _, name := range names {
		i := slices.IndexFunc(all, func(s Scenario) bool { return s.Name == name })
		if i < 0 {
			known := make([]string, len(all))
			for k, s := range all {
				known[k] = s.Name
			}
			return nil, fmt.Errorf("%w %q: known scenarios are %s", ErrUnknownScenario, name, strings.Join(known, ", "))
		}
		out = append(out, all[i])
	}
	return out, nil
}

// List writes the scenarios and their descriptions as a table.
func List(w io.Writer) error {
	tw := tabwriter.NewWriter(w, 0, 0, 3, ' ', 0)
	fmt.Fprintln(tw, "SCENARIO\tDESCRIPTION")
	for _, s := range Scenarios() {
		fmt.Fprintf(tw, "%s\t%s\n", s.Name, s.Description)
	}
	return tw.Flush()
}

// RunConfig is a swarmbench run.
type RunConfig struct {
	// Scenarios are the names of the scenarios to run, in order.
	Scenarios []string
	// Options are passed to every scenario; Repeat 0 means DefaultRepeat,
	// or QuickRepeat with Quick.
	Options
	// Targets are what each scenario runs against, in order; none means
	// TargetActorSwarm.
	Targets []string
	// OutDir receives JSONFile and MarkdownFile.
	OutDir string
}

// Run runs the scenarios one after the other, stamps and checks their
// records and writes the reports of those that completed into OutDir (if
// any did). A
// scenario that fails does not stop the next ones unless ctx is done; the
// error then names every failure. Unknown names fail before anything runs.
func Run(ctx context.Context, cfg RunConfig) ([]Record, error) {
	if len(cfg.Scenarios) == 0 {
		return nil, errors.New("no scenario given: run `swarmbench list` to see them")
	}
	scenarios, err := Lookup(cfg.Scenarios)
	if err != nil {
		return nil, err
	}
	targets := cfg.Targets
	if len(targets) == 0 {
		targets = []string{TargetActorSwarm}
	}
	for _, t := range targets {
		if _, err := scenarios[0].runOn(t); err != nil {
			return nil, err
		}
	}
	opts := cfg.Options
	switch {
	case opts.Repeat < 0:
		return nil, fmt.Errorf("repeat %d: want at least 1", opts.Repeat)
	case opts.Duration < 0:
		return nil, fmt.Errorf("duration %s: want a positive duration, or 0 for each scenario's default", opts.Duration)
	case opts.Repeat == 0 && opts.Quick:
		opts.Repeat = QuickRepeat
	case opts.Repeat == 0:
		opts.Repeat = DefaultRepeat
	}
	machine, rev := ThisMachine(ctx), GitRevision(ctx)
	var (
		recs []Record
		errs []error
	)
	for _, s := range scenarios {
		for _, target := range targets {
			name := s.Name
			if len(targets) > 1 {
				name += " on " + target
			}
			if ctx.Err() != nil {
				errs = append(errs, fmt.Errorf("%s: not run: %w", name, context.Cause(ctx)))
				continue
			}
			run, _ := s.runOn(target)
			o := opts
			o.Target = target
			start := time.Now()
			got, err := run(ctx, o)
			if err == nil {
				for i := range got {
					got[i].Stamp(target, machine, rev)
					if cerr := got[i].Check(); cerr != nil {
						err = errors.Join(err, cerr)
					}
				}
			}
			if err != nil {
				errs = append(errs, fmt.Errorf("%s: %w", name, err))
				opts.logf("%s: failed after %s: %v\n", name, time.Since(start).Round(time.Millisecond), err)
				continue
			}
			opts.logf("%s: done in %s\n", name, time.Since(start).Round(time.Millisecond))
			recs = append(recs, got...)
		}
	}
	// With nothing to report, earlier reports in OutDir are left alone.
	if len(recs) > 0 {
		if err := WriteReports(cfg.OutDir, recs); err != nil {
			errs = append(errs, err)
		}
	}
	return recs, errors.Join(errs...)
}

// ms is d in milliseconds.
func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
