package sim

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorswarm/swarm/actors/task"
	"github.com/actorswarm/swarm/internal/clock"
)

var (
	// ErrInjected is the error of a Start that the failure rate made fail.
	ErrInjected = errors.New("sim: injected start failure")
	// ErrRunning is what ExitCode returns before the task exited.
	ErrRunning = errors.New("task still running")
	// ErrExited is what Exec returns once the task exited.
	ErrExited = errors.New("task exited")
)

// Config configures a sim Runtime. The zero value starts every task at
// once and never fails.
type Config struct {
	// StartLatency is how long each Start takes.
	StartLatency time.Duration
	// FailureRate is the probability, in [0, 1], that a task fails.
	FailureRate float64
	// Seed seeds the failure draws. Nodes of one simulation should get
	// different seeds, or they fail the same tasks in the same order.
	Seed int64
	// ExitAfter, when positive, makes a failing task start and exit with
	// code 1 that long after, instead of failing Start.
	ExitAfter time.Duration
	// Clock stamps the synthetic log lines. Default: the real clock.
	Clock clock.Clock
}

// Validate reports a config that New would have to correct.
func (c Config) Validate() error {
	switch {
	case c.StartLatency < 0:
		return fmt.Errorf("sim runtime: start latency %v < 0", c.StartLatency)
	case c.ExitAfter < 0:
		return fmt.Errorf("sim runtime: exit after %v < 0", c.ExitAfter)
	case !(c.FailureRate >= 0 && c.FailureRate <= 1):
		return fmt.Errorf("sim runtime: failure rate %v not in [0, 1]", c.FailureRate)
	}
	return nil
}

// Runtime starts simulated tasks. Safe for concurrent use.
type Runtime struct {
	cfg  Config
	ids  atomic.Uint64
	mu   sync.Mutex
	rand *rand.Rand // guarded by mu
}

var _ task.Runtime = (*Runtime)(nil)

// New returns a sim runtime. Out-of-range fields of cfg are clamped (see
// Config.Validate).
func New(cfg Config) *Runtime {
	cfg.StartLatency = max(cfg.StartLatency, 0)
	cfg.ExitAfter = max(cfg.ExitAfter, 0)
	if !(cfg.FailureRate > 0) { // also NaN
		cfg.FailureRate = 0
	}
	cfg.FailureRate = min(cfg.FailureRate, 1)
	if cfg.Clock == nil {
		cfg.Clock = clock.Real{}
	}
	seed := uint64(cfg.Seed)
	return &Runtime{cfg: cfg, rand: rand.New(rand.NewPCG(seed, seed))}
}

// Start waits StartLatency (or until ctx ends) and returns a running
// instance, or ErrInjected when the task draws a failure and ExitAfter is
// zero. The draw happens when Start is called, so a seed gives the same
// failures to the same sequence of calls.
func (r *Runtime) Start(ctx context.Context, s task.Spec) (task.Instance, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	fail := r.fails()
	if d := r.cfg.StartLatency; d > 0 {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-t.C:
		}
	}
	return r.started(s, fail)
}

var _ task.AsyncStarter = (*Runtime)(nil)

// StartAsync is Start without a goroutine waiting: done is called by a
// timer after StartLatency (at once, on the caller's goroutine, when
// there is none). A context that ended by then fails the start; one that
// ends meanwhile does not end it sooner.
func (r *Runtime) StartAsync(ctx context.Context, s task.Spec, done func(task.Instance, error)) {
	if err := ctx.Err(); err != nil {
		done(nil, err)
		return
	}
	fail := r.fails()
	d := r.cfg.StartLatency
	if d == 0 {
		done(r.started(s, fail))
		return
	}
	time.AfterFunc(d, func() {
		if err := ctx.Err(); err != nil {
			done(nil, err)
			return
		}
		done(r.started(s, fail))
	})
}

// started is the end of a start: the instance, or the injected failure.
func (r *Runtime) started(s task.Spec, fail bool) (task.Instance, error) {
	if fail && r.cfg.ExitAfter == 0 {
		return nil, ErrInjected
	}
	in := &Instance{
		id:      r.ids.Add(1),
		name:    s.Name,
		image:   s.Image,
		clock:   r.cfg.Clock,
		started: r.cfg.Clock.Now(),
	}
	if fail {
		in.timer = time.AfterFunc(r.cfg.ExitAfter, func() { in.finish(1) })
	}
	return in, nil
}

func (r *Runtime) fails() bool {
	if r.cfg.FailureRate == 0 {
		return false
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	return r.rand.Float64() < r.cfg.FailureRate
}

// Instance is a simulated task. Safe for concurrent use.
type Instance struct {
	id      uint64
	name    string
	image   string
	clock   clock.Clock
	started time.Time
	timer   *time.Timer // a failing task's exit; nil otherwise

	mu sync.Mutex
	// done is made when first asked for (a runner told of the exit by
	// OnExit never asks: one channel less per simulated task).
	done   chan struct{}
	ended  time.Time // zero while running
	code   int
	onExit []func()
}

var (
	_ task.Instance     = (*Instance)(nil)
	_ task.Execer       = (*Instance)(nil)
	_ task.ExitNotifier = (*Instance)(nil)
)

// ID is "sim-" and a number unique within the runtime.
func (in *Instance) ID() string { return "sim-" + strconv.FormatUint(in.id, 10) }

// Done is closed once the task was stopped or failed.
func (in *Instance) Done() <-chan struct{} {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.done == nil {
		in.done = make(chan struct{})
		if !in.ended.IsZero() {
			close(in.done)
		}
	}
	return in.done
}

// ExitCode is 0 for a stopped task and 1 for a failed one; -1 and
// ErrRunning while it runs.
func (in *Instance) ExitCode() (int, error) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if in.ended.IsZero() {
		return -1, ErrRunning
	}
	return in.code, nil
}

// Stop ends the task at once with code 0, as a task that heeds SIGTERM;
// grace is not waited. Stopping an ended task does nothing.
func (in *Instance) Stop(time.Duration) error {
	if in.timer != nil {
		in.timer.Stop()
	}
	in.finish(0)
	return nil
}

// OnExit calls fn once the task ended (at once if it has).
func (in *Instance) OnExit(fn func()) {
	in.mu.Lock()
	if in.ended.IsZero() {
		in.onExit = append(in.onExit, fn)
		in.mu.Unlock()
		return
	}
	in.mu.Unlock()
	fn()
}

// finish ends the task with code unless it already ended.
func (in *Instance) finish(code int) {
	in.mu.Lock()
	if !in.ended.IsZero() {
		in.mu.Unlock()
		return
	}
	in.ended, in.code = in.clock.Now(), code
	if in.done != nil {
		close(in.done)
	}
	fns := in.onExit
	in.onExit = nil
	in.mu.Unlock()
	for _, fn := range fns {
		fn()
	}
}

// Logs returns the synthetic lines of the task: one when it started, one
// when it ended; those stamped after since, the last tail of them (0: all).
func (in *Instance) Logs(since time.Time, tail int) []task.LogLine {
	in.mu.Lock()
	ended, code := in.ended, in.code
	in.mu.Unlock()
	all := make([]task.LogLine, 0, 2)
	all = append(all, task.LogLine{Time: in.started, Stream: "stdout",
		Line: fmt.Sprintf("sim: task %s started (image %s)", in.name, in.image)})
	switch {
	case ended.IsZero():
	case code == 0:
		all = append(all, task.LogLine{Time: ended, Stream: "stdout", Line: "sim: task stopped"})
	default:
		all = append(all, task.LogLine{Time: ended, Stream: "stderr", Line: fmt.Sprintf("sim: task failed with exit code %d", code)})
	}
	out := all[:0]
	for _, l := range all {
		if l.Time.After(since) {
			out = append(out, l)
		}
	}
	if tail > 0 && len(out) > tail {
		out = out[len(out)-tail:]
	}
	return out
}

// Exec succeeds at once while the task runs: a simulated health check.
func (in *Instance) Exec(ctx context.Context, _ []string) (int, error) {
	if err := ctx.Err(); err != nil {
		return -1, err
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.ended.IsZero() {
		return -1, ErrExited
	}
	return 0, nil
}
