// Package tasktest is a fake task runtime for tests: instances that run
// until the test ends them, health checks that answer what the test says.
// Safe for concurrent use.
package tasktest

import (
	"context"
	"errors"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/actorswarm/swarm/actors/task"
)

// Runtime is a fake task.Runtime.
type Runtime struct {
	// StartErr, when set, makes Start fail.
	StartErr error
	mu       sync.Mutex
	started  []*Instance
	next     atomic.Int64
}

var (
	_ task.Runtime  = (*Runtime)(nil)
	_ task.Instance = (*Instance)(nil)
	_ task.Execer   = (*Instance)(nil)
)

// Start implements task.Runtime.
func (r *Runtime) Start(_ context.Context, s task.Spec) (task.Instance, error) {
	if r.StartErr != nil {
		return nil, r.StartErr
	}
	in := &Instance{Spec: s, id: strconv.FormatInt(r.next.Add(1), 10), done: make(chan struct{})}
	in.healthy.Store(true)
	r.mu.Lock()
	r.started = append(r.started, in)
	r.mu.Unlock()
	return in, nil
}

// Started returns the instances started so far.
func (r *Runtime) Started() []*Instance {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]*Instance(nil), r.started...)
}

// Instance is a fake task: it runs until Exit or Stop.
type Instance struct {
	Spec    task.Spec
	id      string
	once    sync.Once
	done    chan struct{}
	code    int
	healthy atomic.Bool
	stops   atomic.Int32
}

// ID implements task.Instance.
func (in *Instance) ID() string { return in.id }

// Done implements task.Instance.
func (in *Instance) Done() <-chan struct{} { return in.done }

// Exit ends the task with code.
func (in *Instance) Exit(code int) {
	in.once.Do(func() {
		in.code = code
		close(in.done)
	})
}

// ExitCode implements task.Instance.
func (in *Instance) ExitCode() (int, error) {
	select {
	case <-in.done:
		return in.code, nil
	default:
		return -1, errors.New("running")
	}
}

// Stop implements task.Instance: the task ends with code 143.
func (in *Instance) Stop(time.Duration) error {
	in.stops.Add(1)
	in.Exit(143)
	return nil
}

// Stops counts Stop calls.
func (in *Instance) Stops() int { return int(in.stops.Load()) }

// SetHealthy sets what health checks answer.
func (in *Instance) SetHealthy(ok bool) { in.healthy.Store(ok) }

// Exec implements task.Execer: 0 when healthy, 1 otherwise.
func (in *Instance) Exec(context.Context, []string) (int, error) {
	if in.healthy.Load() {
		return 0, nil
	}
	return 1, nil
}

// Logs implements task.Instance.
func (in *Instance) Logs(time.Time, int) []task.LogLine { return nil }
