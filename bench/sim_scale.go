package bench

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"os"
	"path/filepath"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/actorswarm/swarm/daemon"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// Sizes of sim-scale: simulated nodes and tasks, full and quick, and the
// replicas of each service the tasks are split into.
const (
	simScaleNodes           = 10_000
	simScaleTasks           = 1_000_000
	simScaleQuickNodes      = 100
	simScaleQuickTasks      = 2_000
	simScaleTasksPerService = 10_000
	simScaleManagers        = 3
	// simScaleHeartbeat is the swarm's heartbeat period: Docker Swarm's
	// default (5s), since ten thousand nodes beating to three managers
	// every 100 ms would be 300,000 messages a second on two cores.
	simScaleHeartbeat = 5 * time.Second
	// simScaleRaftTick is the managers' Raft tick: elections after 1s
	// of silence rather than 200ms, since the three managers share two
	// cores with the ten thousand nodes (Docker Swarm's is 10s).
	simScaleRaftTick = 100 * time.Millisecond
	// simScaleCreators is how many service creations are in flight.
	simScaleCreators = 4
)

// runSimScale starts 3 managers (real swarmd daemons: actors, Raft, TLS)
// in this process, each hosting a third of the simulated nodes (sim
// runtime), waits until every node is Ready, then creates services of
// sim tasks adding up to the task count all at once and follows the
// tasks until all run: time to register the nodes, to place every task,
// to have every task running, the placement rate, the Raft commit rate
// on one manager, and the process's peak RSS. --repeat does not apply:
// one run is the measurement.
func runSimScale(ctx context.Context, opts Options) (recs []Record, err error) {
	const name = "sim-scale"
	nodes, tasks := simScaleNodes, simScaleTasks
	if opts.Quick {
		nodes, tasks = simScaleQuickNodes, simScaleQuickTasks
	}
	if opts.SimNodes > 0 {
		nodes = opts.SimNodes
	}
	if opts.SimTasks > 0 {
		tasks = opts.SimTasks
	}
	perService := min(simScaleTasksPerService, max(tasks/20, 1))
	dir, err := os.MkdirTemp("", "swarmbench-sim-")
	if err != nil {
		return nil, err
	}
	defer func() {
		if os.Getenv("SWARMBENCH_KEEP") == "" {
			os.RemoveAll(dir)
		}
	}()
	logPath := filepath.Join(dir, "swarmd.log")
	logFile, err := os.Create(logPath)
	if err != nil {
		return nil, err
	}
	defer logFile.Close()
	defer func() {
		if err != nil {
			opts.logf("%s: last lines of the managers' log:\n%s", name, tail(logPath, 30))
		}
	}()
	log := slog.New(slog.NewTextHandler(logFile, &slog.HandlerOptions{Level: slog.LevelInfo}))

	started := time.Now()
	c, err := startSimCluster(ctx, dir, nodes, log)
	if err != nil {
		return nil, err
	}
	defer c.close()
	lead := c.daemons[0]
	if err := Poll(ctx, simScaleTimeout(nodes), fmt.Sprintf("%d simulated nodes Ready", nodes), func(ctx context.Context) error {
		ready, err := readyNodes(ctx, lead)
		if err != nil {
			return err
		}
		if ready < nodes+simScaleManagers {
			return fmt.Errorf("%d of %d nodes Ready", ready, nodes+simScaleManagers)
		}
		return nil
	}); err != nil {
		return nil, err
	}
	register := time.Since(started)
	opts.logf("%s: %d managers and %d simulated nodes Ready after %s\n", name, simScaleManagers, nodes, register.Round(time.Millisecond))

	params := map[string]string{
		"managers":          strconv.Itoa(simScaleManagers),
		"nodes":             strconv.Itoa(nodes),
		"tasks":             strconv.Itoa(tasks),
		"tasks_per_service": strconv.Itoa(perService),
		"heartbeat":         simScaleHeartbeat.String(),
		"raft_tick":         simScaleRaftTick.String(),
		"runtime":           "sim (10ms start)",
	}
	appliedBefore := lead.AppliedCommands()
	gcBefore := readGC()
	gcLast := gcBefore
	start := time.Now()
	if err := createSimServices(ctx, lead, tasks, perService); err != nil {
		return nil, err
	}
	var (
		placedAt, runningAt time.Duration
		timeline            []Point
		lastLog             time.Time
	)
	err = Poll(ctx, simScaleTimeout(tasks), fmt.Sprintf("%d simulated tasks running", tasks), func(ctx context.Context) error {
		states := lead.TaskStates()
		var placed, running, total int
		for st, n := range states {
			total += n
			if st >= swarmv1.TaskState_TASK_STATE_ASSIGNED {
				placed += n
			}
			if st == swarmv1.TaskState_TASK_STATE_RUNNING {
				running += n
			}
		}
		now := time.Since(start)
		timeline = append(timeline, Point{T: ms(now), V: float64(running)})
		if placed >= tasks && placedAt == 0 {
			placedAt = now
		}
		if time.Since(lastLog) >= 5*time.Second {
			lastLog = time.Now()
			sample := readGC()
			gc, recent := sample.since(gcBefore), sample.since(gcLast)
			gcLast = sample
			opts.logf("%s: %s: %d of %d tasks created, %d placed, %d running; %s commands/s; RSS %s MiB, live heap %s MiB, collector %.0f%% of CPU; %s\n", name, now.Round(time.Second), total, tasks, placed, running,
				FormatFigure(float64(lead.AppliedCommands()-appliedBefore)/now.Seconds()), FormatFigure(rssMiB("VmRSS")), FormatFigure(gc.liveHeap/(1<<20)), 100*gc.gcShare(), recent.schedText())
		}
		if rss := rssMiB("VmRSS"); rss > simScaleMaxRSS() {
			return Permanent(fmt.Errorf("stopped: RSS %s MiB, over the %s MiB this run may take of the machine", FormatFigure(rss), FormatFigure(simScaleMaxRSS())))
		}
		if running < tasks {
			return fmt.Errorf("%d of %d tasks placed, %d running", placed, tasks, running)
		}
		runningAt = now
		return nil
	})
	if err != nil {
		opts.logf("%s: %s", name, simDiagnosis(ctx, lead))
		return nil, err
	}
	applied := lead.AppliedCommands() - appliedBefore
	peak := rssMiB("VmHWM")
	gc := readGC().since(gcBefore)
	if opts.MemProfile != "" {
		if err := writeHeapProfile(opts.MemProfile); err != nil {
			return nil, err
		}
	}
	opts.logf("%s: all %d tasks running after %s (placed after %s); %d commands applied; peak RSS %s MiB\n", name, tasks, runningAt.Round(time.Millisecond), placedAt.Round(time.Millisecond), applied, FormatFigure(peak))
	opts.logf("%s: meanwhile %s GB allocated, %.0f collections taking %.0f%% of the CPU time, live heap %s MiB\n", name, FormatFigure(gc.allocated/1e9), gc.cycles, 100*gc.gcShare(), FormatFigure(gc.liveHeap/(1<<20)))
	// Service ls may count more running than desired for a while: once a
	// service is stable its supervisor rebalances it, a new task per moved
	// slot running before the old one stops (start-first). It must settle.
	if err := Poll(ctx, simSettleTimeout, fmt.Sprintf("service ls to show %d/%d tasks", tasks, tasks), func(ctx context.Context) error {
		return checkSimServices(ctx, lead, tasks)
	}); err != nil {
		opts.logf("%s: %s", name, simDiagnosis(ctx, lead))
		return nil, err
	}
	// Tasks that ended meanwhile were moved by rebalancing (shut down) or
	// replaced when their node was marked down (orphaned, a sign of the
	// managers falling behind): the creations beyond the count.
	ended, endedText := endedTasks(lead.TaskStates())
	opts.logf("%s: %s\n", name, endedText)
	rec := func(what, unit string, v float64) Record {
		return Record{Scenario: name + "/" + what, Parameters: params, Started: start, Unit: unit, Samples: []float64{v}}
	}
	running := rec("running", "s", runningAt.Seconds())
	running.Timeline, running.TimelineUnit = timeline, "running tasks"
	return []Record{
		rec("register", "s", register.Seconds()),
		rec("placed", "s", placedAt.Seconds()),
		running,
		rec("placement-rate", "tasks/s", float64(tasks)/placedAt.Seconds()),
		rec("commit-rate", "commands/s", float64(applied)/runningAt.Seconds()),
		rec("peak-rss", "MiB", peak),
		rec("allocated", "GB", gc.allocated/1e9),
		rec("gc-cpu", "%", 100*gc.gcShare()),
		rec("live-heap", "MiB", gc.liveHeap/(1<<20)),
		rec("ended", "tasks", float64(ended)),
	}, nil
}

// endedTasks counts the tasks that ended (any state past running) and
// says how many in each state: "no task ended", or "12 tasks ended
// meanwhile: 2 shutdown, 10 orphaned".
func endedTasks(states map[swarmv1.TaskState]int) (int, string) {
	var ended []swarmv1.TaskState
	n := 0
	for st, c := range states {
		if st > swarmv1.TaskState_TASK_STATE_RUNNING && c > 0 {
			ended = append(ended, st)
			n += c
		}
	}
	if n == 0 {
		return 0, "no task ended"
	}
	slices.Sort(ended)
	parts := make([]string, 0, len(ended))
	for _, st := range ended {
		parts = append(parts, fmt.Sprintf("%d %s", states[st], strings.ToLower(strings.TrimPrefix(st.String(), "TASK_STATE_"))))
	}
	return n, fmt.Sprintf("%d tasks ended meanwhile: %s", n, strings.Join(parts, ", "))
}

// simScaleTimeout bounds a phase of sim-scale over n things: generous,
// since it reports how long they took, and at most 10 minutes.
func simScaleTimeout(n int) time.Duration {
	return min(2*time.Minute+time.Duration(n)*time.Millisecond, 10*time.Minute)
}

// simScaleMaxRSS is the RSS at which sim-scale gives up rather than push
// the machine into swapping or the OOM killer: two thirds of its memory.
func simScaleMaxRSS() float64 {
	total := memTotalMiB()
	if total == 0 {
		return 16 << 10
	}
	return total * 2 / 3
}

// memTotalMiB is the machine's memory (/proc/meminfo), 0 if unknown.
func memTotalMiB() float64 {
	data, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if rest, ok := strings.CutPrefix(line, "MemTotal:"); ok {
			kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
			if err == nil {
				return kb / 1024
			}
		}
	}
	return 0
}

// simCluster is sim-scale's managers, in this process.
type simCluster struct {
	daemons []*daemon.Daemon
}

// startSimCluster starts the managers on 127.0.0.231-233, the first one
// initialising the swarm and the others joining it as managers, each
// hosting its share of the simulated nodes.
func startSimCluster(ctx context.Context, dir string, nodes int, log *slog.Logger) (_ *simCluster, err error) {
	c := &simCluster{}
	defer func() {
		if err != nil {
			c.close()
		}
	}()
	for i := range simScaleManagers {
		share := nodes / simScaleManagers
		if i < nodes%simScaleManagers {
			share++
		}
		cfg := daemon.Config{
			DataDir: filepath.Join(dir, fmt.Sprintf("m%d", i)), Addr: fmt.Sprintf("127.0.0.%d", 231+i), Port: 2377, RaftPort: 2378, VXLANPort: 4789,
			Hostname: fmt.Sprintf("sim-manager-%d", i), Runtimes: []string{"sim"}, Heartbeat: simScaleHeartbeat,
			MetricsAddr: daemon.MetricsOff, SimNodes: share, Logger: log, RaftTick: simScaleRaftTick,
		}
		d, err := daemon.New(cfg)
		if err != nil {
			return nil, fmt.Errorf("manager %d: %w", i, err)
		}
		if err := d.Start(); err != nil {
			d.Close()
			return nil, fmt.Errorf("manager %d: %w", i, err)
		}
		c.daemons = append(c.daemons, d)
	}
	first := c.daemons[0]
	if err := gatewayError(first.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_SwarmInit{SwarmInit: &swarmv1.SwarmInitRequest{}}})); err != nil {
		return nil, fmt.Errorf("swarm init: %w", err)
	}
	resp := first.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_JoinToken{JoinToken: &swarmv1.JoinTokenRequest{Role: swarmv1.NodeRole_NODE_ROLE_MANAGER}}})
	if err := gatewayError(resp); err != nil {
		return nil, fmt.Errorf("join-token manager: %w", err)
	}
	join := &swarmv1.SwarmJoinRequest{Token: resp.GetJoinToken().GetToken(), RemoteAddr: "127.0.0.231:2377"}
	for i, d := range c.daemons[1:] {
		if err := gatewayError(d.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_SwarmJoin{SwarmJoin: join}})); err != nil {
			return nil, fmt.Errorf("manager %d: swarm join: %w", i+1, err)
		}
	}
	return c, nil
}

func (c *simCluster) close() {
	for i := len(c.daemons) - 1; i >= 0; i-- {
		c.daemons[i].Close()
	}
	c.daemons = nil
}

func gatewayError(resp *swarmv1.GatewayResponse) error {
	if resp.GetError() != "" {
		return errors.New(resp.GetError())
	}
	return nil
}

// readyNodes counts the nodes shown Ready.
func readyNodes(ctx context.Context, d *daemon.Daemon) (int, error) {
	resp := d.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_NodeList{NodeList: &swarmv1.NodeListRequest{}}})
	if err := gatewayError(resp); err != nil {
		return 0, err
	}
	ready := 0
	for _, n := range resp.GetNodeList().GetNodes() {
		if n.GetStatus().GetState() == swarmv1.NodeState_NODE_STATE_READY {
			ready++
		}
	}
	return ready, nil
}

// createSimServices creates services of sim tasks, perService replicas
// each (the last one the rest), simScaleCreators at a time.
func createSimServices(ctx context.Context, d *daemon.Daemon, tasks, perService int) error {
	var (
		wg    sync.WaitGroup
		mu    sync.Mutex
		errs  []error
		specs = make(chan *swarmv1.ServiceSpec)
	)
	for range simScaleCreators {
		wg.Go(func() {
			for spec := range specs {
				req := &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_ServiceCreate{ServiceCreate: &swarmv1.ServiceCreateRequest{Spec: spec}}}
				if err := gatewayError(d.Call(ctx, req)); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("service create %s: %w", spec.Name, err))
					mu.Unlock()
				}
			}
		})
	}
	for i := 0; tasks > 0; i++ {
		n := min(perService, tasks)
		tasks -= n
		specs <- &swarmv1.ServiceSpec{
			Name:     fmt.Sprintf("sim-%04d", i),
			Task:     &swarmv1.TaskSpec{Image: "sim", Runtime: "sim"},
			Mode:     swarmv1.ServiceMode_SERVICE_MODE_REPLICATED,
			Replicas: uint64(n),
		}
	}
	close(specs)
	wg.Wait()
	return errors.Join(errs...)
}

// simSettleTimeout bounds the wait for service ls to agree once every task
// runs: rebalancing moves may be under way.
const simSettleTimeout = 2 * time.Minute

// checkSimServices checks that service ls agrees: every task running.
func checkSimServices(ctx context.Context, d *daemon.Daemon, tasks int) error {
	resp := d.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_ServiceList{ServiceList: &swarmv1.ServiceListRequest{}}})
	if err := gatewayError(resp); err != nil {
		return fmt.Errorf("service ls: %w", err)
	}
	var running, desired uint64
	for _, s := range resp.GetServiceList().GetServices() {
		running += s.GetRunning()
		desired += s.GetDesired()
	}
	if running != uint64(tasks) || desired != uint64(tasks) {
		return fmt.Errorf("service ls shows %d/%d tasks, want %d/%d", running, desired, tasks, tasks)
	}
	return nil
}

// simDiagnosis says, when sim-scale does not settle, what holds it: the
// nodes not Ready, and the tasks of the services whose running count is
// off, counted by desired state, state and error.
func simDiagnosis(ctx context.Context, d *daemon.Daemon) string {
	ctx, cancel := context.WithTimeout(ctx, time.Minute)
	defer cancel()
	var b strings.Builder
	nodes := d.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_NodeList{NodeList: &swarmv1.NodeListRequest{}}})
	if err := gatewayError(nodes); err != nil {
		fmt.Fprintf(&b, "node ls: %v\n", err)
	} else {
		states := make(map[string]int)
		for _, n := range nodes.GetNodeList().GetNodes() {
			if st := n.GetStatus(); st.GetState() != swarmv1.NodeState_NODE_STATE_READY {
				states[st.GetState().String()+" ("+st.GetMessage()+")"]++
			}
		}
		fmt.Fprintf(&b, "nodes not Ready: %v\n", states)
	}
	ls := d.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_ServiceList{ServiceList: &swarmv1.ServiceListRequest{}}})
	if err := gatewayError(ls); err != nil {
		fmt.Fprintf(&b, "service ls: %v\n", err)
		return b.String()
	}
	var off []string
	for _, s := range ls.GetServiceList().GetServices() {
		if s.GetRunning() != s.GetDesired() {
			off = append(off, s.GetService().GetSpec().GetName())
		}
	}
	fmt.Fprintf(&b, "%d services with running != desired\n", len(off))
	if len(off) == 0 {
		return b.String()
	}
	off = off[:min(len(off), 3)]
	ps := d.Call(ctx, &swarmv1.GatewayRequest{Req: &swarmv1.GatewayRequest_TaskList{TaskList: &swarmv1.TaskListRequest{ServiceRefs: off}}})
	if err := gatewayError(ps); err != nil {
		fmt.Fprintf(&b, "service ps: %v\n", err)
		return b.String()
	}
	kinds := make(map[string]int)
	slots := make(map[string]int)
	for _, t := range ps.GetTaskList().GetTasks() {
		kinds[fmt.Sprintf("desired %s, %s, %q", t.GetDesiredState(), t.GetStatus().GetState(), t.GetStatus().GetErr()+t.GetShutdownReason())]++
		if t.GetDesiredState() <= swarmv1.TaskState_TASK_STATE_RUNNING {
			slots[fmt.Sprintf("%s.%d", t.GetServiceId(), t.GetSlot())]++
		}
	}
	doubled := 0
	for _, n := range slots {
		if n > 1 {
			doubled++
		}
	}
	fmt.Fprintf(&b, "tasks of %s: %d slots with more than one task meant to run; by kind:\n", strings.Join(off, ", "), doubled)
	for _, k := range slices.Sorted(maps.Keys(kinds)) {
		fmt.Fprintf(&b, "  %7d  %s\n", kinds[k], k)
	}
	return b.String()
}

// rssMiB reads a memory figure of this process (VmRSS: now, VmHWM: peak)
// from /proc/self/status, in MiB; 0 where there is none.
func rssMiB(field string) float64 {
	f, err := os.Open("/proc/self/status")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		rest, ok := strings.CutPrefix(sc.Text(), field+":")
		if !ok {
			continue
		}
		kb, err := strconv.ParseFloat(strings.TrimSuffix(strings.TrimSpace(rest), " kB"), 64)
		if err != nil {
			return 0
		}
		return kb / 1024
	}
	return 0
}

// tail returns the last n lines of a file.
func tail(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return err.Error()
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n") + "\n"
}

func writeHeapProfile(path string) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("heap profile: %w", err)
	}
	defer f.Close()
	return pprof.WriteHeapProfile(f)
}
