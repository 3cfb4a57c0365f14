package docker

import (
	"context"
	"errors"
	"fmt"
	"io"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"

	"github.com/actorswarm/swarm/actors/task"
)

const (
	// logsTimeout bounds Logs' read of a live container's output.
	logsTimeout = 10 * time.Second
	// stopSlack is what ContainerStop may take beyond the grace period:
	// the kill and the engine's own bookkeeping.
	stopSlack = 30 * time.Second
	// lostAfter is how long the engine may fail to answer about a
	// container before its task is given up as lost.
	lostAfter = time.Minute
	// retryMin and retryMax bound the pause between two attempts to wait
	// for a container while the engine does not answer.
	retryMin = 100 * time.Millisecond
	retryMax = 5 * time.Second
	// execPoll is the pause between two looks at an exec whose output
	// ended but whose exit the engine has not recorded yet.
	execPoll = 10 * time.Millisecond
)

var (
	// ErrRunning is what ExitCode returns before the task exited.
	ErrRunning = errors.New("task still running")
	// ErrExited is what Exec returns once the task exited.
	ErrExited = errors.New("task exited")
	// ErrLost is the ExitCode error of a task whose container was removed
	// behind the runtime's back, or about which the engine did not answer
	// for a minute; the exit code is then -1.
	ErrLost = errors.New("container lost")
	// ErrOOMKilled is the ExitCode error of a task the kernel killed for
	// exceeding its memory limit.
	ErrOOMKilled = errors.New("killed: out of memory")
)

// Instance is one task's container. Its methods are safe for concurrent
// use.
type Instance struct {
	rt     *Runtime
	id     string
	taskID string
	done   chan struct{}

	mu sync.Mutex
	// removed is set once saved holds the container's last lines: from
	// then on it may be gone and Logs reads saved.
	removed bool
	saved   []task.LogLine
	code    int
	err     error
}

var (
	_ task.Instance = (*Instance)(nil)
	_ task.Execer   = (*Instance)(nil)
)

func (r *Runtime) newInstance(id, taskID string) *Instance {
	return &Instance{rt: r, id: id, taskID: taskID, done: make(chan struct{})}
}

// ID is the container's ID.
func (in *Instance) ID() string { return in.id }

// Done is closed once the container exited, its last output was saved and
// it was removed. It stays open after the runtime was closed.
func (in *Instance) Done() <-chan struct{} { return in.done }

// ExitCode is the container's exit status once Done is closed: the exit
// code of its main process (128+n when signal n killed it), with
// ErrOOMKilled, ErrLost or the engine's error when it did not simply exit.
// Before, it is -1 and ErrRunning.
func (in *Instance) ExitCode() (int, error) {
	select {
	case <-in.done:
	default:
		return -1, ErrRunning
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return in.code, in.err
}

// Stop has the engine send SIGTERM (or the image's stop signal) to the
// container, SIGKILL after grace rounded up to whole seconds, and returns
// once the task exited and its container was removed. Stopping an exited
// task returns at once.
func (in *Instance) Stop(grace time.Duration) error {
	select {
	case <-in.done:
		return nil
	default:
	}
	if in.rt.ctx.Err() != nil {
		return ErrClosed
	}
	secs := int((max(grace, 0) + time.Second - 1) / time.Second)
	ctx, cancel := context.WithTimeout(in.rt.ctx, time.Duration(secs)*time.Second+stopSlack)
	err := in.rt.cli.ContainerStop(ctx, in.id, container.StopOptions{Timeout: &secs})
	cancel()
	if err != nil && !cerrdefs.IsNotFound(err) {
		select {
		case <-in.done:
			return nil
		default:
		}
		if in.rt.ctx.Err() != nil {
			return ErrClosed
		}
		return fmt.Errorf("stop container %s: %w", shortID(in.id), err)
	}
	select {
	case <-in.done:
		return nil
	case <-in.rt.ctx.Done():
		return ErrClosed
	}
}

// Logs returns the container's output lines stamped after since, the last
// tail of them (0, or more than Config.LogLines: Config.LogLines), oldest
// first: read from the engine while the container exists, from the saved
// copy once it was removed. An engine that does not answer yields none.
func (in *Instance) Logs(since time.Time, tail int) []task.LogLine {
	if tail <= 0 || tail > in.rt.cfg.LogLines {
		tail = in.rt.cfg.LogLines
	}
	in.mu.Lock()
	removed := in.removed
	in.mu.Unlock()
	if !removed {
		ctx, cancel := context.WithTimeout(context.Background(), logsTimeout)
		lines, err := readLogs(ctx, in.rt.cli, in.id, since, tail)
		cancel()
		if err == nil {
			return lines
		}
		// The container may have been removed meanwhile: see what was saved.
	}
	in.mu.Lock()
	defer in.mu.Unlock()
	return cut(in.saved, since, tail)
}

// Exec runs cmd in the container, as `docker exec` does, and returns its
// exit code (126 when it cannot be run, 127 when not found, as a shell
// says). The error is for a command the engine could not start or that ctx
// cut short (the engine then lets it run on: it cannot kill an exec), and
// ErrExited once the task exited. Its output is discarded.
func (in *Instance) Exec(ctx context.Context, cmd []string) (int, error) {
	if len(cmd) == 0 {
		return -1, errors.New("exec: no command")
	}
	select {
	case <-in.done:
		return -1, ErrExited
	default:
	}
	if in.rt.ctx.Err() != nil {
		return -1, ErrClosed
	}
	created, err := in.rt.cli.ContainerExecCreate(ctx, in.id, container.ExecOptions{
		Cmd:          cmd,
		AttachStdout: true,
		AttachStderr: true,
	})
	if cerrdefs.IsConflict(err) || cerrdefs.IsNotFound(err) {
		return -1, fmt.Errorf("exec %s: %w", cmd[0], ErrExited) // not running (any more)
	}
	if err != nil {
		return -1, fmt.Errorf("exec %s: %w", cmd[0], err)
	}
	hj, err := in.rt.cli.ContainerExecAttach(ctx, created.ID, container.ExecAttachOptions{})
	if err != nil {
		return -1, fmt.Errorf("exec %s: %w", cmd[0], err)
	}
	ended := make(chan struct{})
	go func() {
		_, _ = io.Copy(io.Discard, hj.Reader)
		close(ended)
	}()
	select {
	case <-ended:
		hj.Close()
	case <-ctx.Done():
		hj.Close()
		<-ended
		return -1, fmt.Errorf("exec %s: %w", cmd[0], ctx.Err())
	}
	for {
		st, err := in.rt.cli.ContainerExecInspect(ctx, created.ID)
		if err != nil {
			return -1, fmt.Errorf("exec %s: %w", cmd[0], err)
		}
		if !st.Running {
			return st.ExitCode, nil
		}
		t := time.NewTimer(execPoll)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return -1, fmt.Errorf("exec %s: %w", cmd[0], ctx.Err())
		}
	}
}

// watch waits for the container to exit, then finishes the instance; it
// returns without finishing when the runtime is closed.
func (in *Instance) watch() {
	code, err := in.wait()
	if errors.Is(err, errDetached) {
		return
	}
	in.finish(code, err)
}

// errDetached is what wait returns once the runtime was closed.
var errDetached = errors.New("detached")

// wait waits for the container to be not running and returns its exit
// status. While the engine does not answer it tries again, and gives the
// container up as lost after lostAfter.
func (in *Instance) wait() (int, error) {
	ctx := in.rt.ctx
	var failingSince time.Time
	backoff := retryMin
	for {
		var err error
		resC, errC := in.rt.cli.ContainerWait(ctx, in.id, container.WaitConditionNotRunning)
		select {
		case err = <-errC: // the engine refused or did not answer
		default:
			// The engine is waiting for us: whatever failed before is over.
			failingSince, backoff = time.Time{}, retryMin
			select {
			case res := <-resC:
				return in.exitStatus(res)
			case err = <-errC:
			}
		}
		switch {
		case ctx.Err() != nil:
			return 0, errDetached
		case cerrdefs.IsNotFound(err):
			return -1, fmt.Errorf("%w: container %s was removed", ErrLost, shortID(in.id))
		case failingSince.IsZero():
			failingSince = time.Now()
		case time.Since(failingSince) > lostAfter:
			return -1, fmt.Errorf("%w: engine did not answer for %v: %w", ErrLost, lostAfter, err)
		}
		t := time.NewTimer(backoff)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return 0, errDetached
		}
		backoff = min(2*backoff, retryMax)
	}
}

// exitStatus completes a wait's result with what the container's state
// says about why it ended.
func (in *Instance) exitStatus(res container.WaitResponse) (int, error) {
	var err error
	if res.Error != nil && res.Error.Message != "" {
		err = errors.New(res.Error.Message)
	}
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	if info, ierr := in.rt.cli.ContainerInspect(ctx, in.id); ierr == nil && info.State != nil {
		if serr := stateError(info.State); serr != nil {
			err = serr
		}
	}
	return int(res.StatusCode), err
}

// stateError is why an exited container ended, when it was not a plain
// exit of its process.
func stateError(st *container.State) error {
	switch {
	case st.OOMKilled:
		return ErrOOMKilled
	case st.Error != "":
		return fmt.Errorf("engine: %s", st.Error)
	}
	return nil
}

// finish saves the exited container's last lines, removes it, records its
// exit status and closes done.
func (in *Instance) finish(code int, err error) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	lines, lerr := readLogs(ctx, in.rt.cli, in.id, time.Time{}, in.rt.cfg.LogLines)
	cancel()
	if lerr != nil && !cerrdefs.IsNotFound(lerr) {
		in.rt.cfg.Logger.Warn("save container logs", "task_id", in.taskID, "container_id", shortID(in.id), "error", lerr)
	}
	in.mu.Lock()
	in.removed, in.saved = true, lines
	in.mu.Unlock()
	in.rt.remove(in.id, in.taskID, true)
	in.mu.Lock()
	in.code, in.err = code, err
	in.mu.Unlock()
	close(in.done)
}
