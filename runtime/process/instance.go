package process

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/actorswarm/swarm/actors/task"
	"github.com/actorswarm/swarm/internal/clock"
)

// drainTimeout bounds how long an exited task's output is still read: the
// write ends may be held by a process that escaped the process group.
const drainTimeout = time.Second

var (
	// ErrRunning is what ExitCode returns before the task exited.
	ErrRunning = errors.New("task still running")
	// ErrExited is what Exec returns once the task exited.
	ErrExited = errors.New("task exited")
)

// SignalError is the ExitCode error of a task killed by a signal; the code
// is then 128 plus the signal's number, as a shell reports it.
type SignalError struct {
	Signal syscall.Signal
}

func (e *SignalError) Error() string {
	return fmt.Sprintf("killed by signal %d (%v)", int(e.Signal), e.Signal)
}

// Instance is one task's process. Its methods are safe for concurrent use.
type Instance struct {
	cmd  *exec.Cmd
	pid  int
	dir  string
	env  []string
	path string // where Exec looks programs up
	logs *ring
	done chan struct{}

	outR, errR *os.File
	readers    sync.WaitGroup

	mu sync.Mutex
	// exited is set, under mu, once the process group may no longer be
	// signalled: its leader is about to be reaped, and after that its ID
	// may name someone else's group.
	exited bool
	code   int
	err    error
}

var (
	_ task.Instance = (*Instance)(nil)
	_ task.Execer   = (*Instance)(nil)
)

// start starts prog in dir and the goroutines that watch it.
func start(s task.Spec, prog, dir string, env []string, path string, logs *ring, clk clock.Clock) (*Instance, error) {
	outR, outW, err := os.Pipe()
	if err != nil {
		return nil, err
	}
	errR, errW, err := os.Pipe()
	if err != nil {
		outR.Close()
		outW.Close()
		return nil, err
	}
	cmd := command(s, prog)
	cmd.Env = env
	cmd.Dir = dir
	cmd.Stdout = outW
	cmd.Stderr = errW
	err = cmd.Start()
	// The child has its copies; ours must go for the readers to see EOF.
	outW.Close()
	errW.Close()
	if err != nil {
		outR.Close()
		errR.Close()
		return nil, err
	}
	in := &Instance{
		cmd:  cmd,
		pid:  cmd.Process.Pid,
		dir:  dir,
		env:  env,
		path: path,
		logs: logs,
		done: make(chan struct{}),
		outR: outR,
		errR: errR,
	}
	in.readers.Add(2)
	go in.capture(outR, "stdout", clk)
	go in.capture(errR, "stderr", clk)
	go in.wait()
	return in, nil
}

// ID is the process ID.
func (in *Instance) ID() string { return strconv.Itoa(in.pid) }

// Pid is the process ID, which is also its process group's.
func (in *Instance) Pid() int { return in.pid }

// Dir is the task's directory: its working directory and HOME, removed
// once the task exited.
func (in *Instance) Dir() string { return in.dir }

// Done is closed once the process exited, its output was read and its
// directory removed.
func (in *Instance) Done() <-chan struct{} { return in.done }

// ExitCode is the process's exit status once Done is closed: its exit
// code, or 128+n with a *SignalError when signal n killed it. Before,
// it is -1 and ErrRunning.
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

// Stop sends SIGTERM to the task's process group, SIGKILL after grace,
// and returns once the task exited. Stopping an exited task returns at
// once. Concurrent Stops are fine: each returns when the task is gone.
func (in *Instance) Stop(grace time.Duration) error {
	select {
	case <-in.done:
		return nil
	default:
	}
	in.signal(syscall.SIGTERM)
	t := time.NewTimer(grace)
	defer t.Stop()
	select {
	case <-in.done:
		return nil
	case <-t.C:
	}
	in.signal(syscall.SIGKILL)
	<-in.done
	return nil
}

// signal sends sig to the task's process group while it is still ours.
func (in *Instance) signal(sig syscall.Signal) {
	in.mu.Lock()
	defer in.mu.Unlock()
	if !in.exited {
		_ = syscall.Kill(-in.pid, sig)
	}
}

// Logs returns the kept output lines stamped after since, the last tail of
// them (0: all), oldest first.
func (in *Instance) Logs(since time.Time, tail int) []task.LogLine {
	return in.logs.lines(since, tail)
}

// Exec runs cmd in the task's environment and directory, in a process
// group of its own that is killed when ctx ends, and returns its exit code
// (128+n when signal n killed it). The error is for a command that could
// not run or was cut short by ctx, and ErrExited once the task exited.
func (in *Instance) Exec(ctx context.Context, cmd []string) (int, error) {
	if len(cmd) == 0 {
		return -1, errors.New("exec: no command")
	}
	select {
	case <-in.done:
		return -1, ErrExited
	default:
	}
	prog, err := lookPath(cmd[0], in.path)
	if err != nil {
		return -1, err
	}
	c := exec.CommandContext(ctx, prog, cmd[1:]...)
	c.Args[0] = cmd[0]
	c.Env = in.env
	c.Dir = in.dir
	c.SysProcAttr = procAttr()
	c.Cancel = func() error { return syscall.Kill(-c.Process.Pid, syscall.SIGKILL) }
	err = c.Run()
	if err == nil {
		return 0, nil
	}
	if ctx.Err() != nil {
		return -1, fmt.Errorf("exec %s: %w", cmd[0], ctx.Err())
	}
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		code, _ := exitStatus(ee.ProcessState)
		return code, nil
	}
	return -1, fmt.Errorf("exec %s: %w", cmd[0], err)
}

// wait waits for the process, kills what is left of its group (as a
// container's processes die with its first), lets the readers finish,
// removes the task's directory and closes done.
func (in *Instance) wait() {
	// With the leader a zombie its group ID cannot be reused, so the group
	// is killed before it is reaped. Where the exit cannot be waited for
	// without reaping, the group is killed just after.
	zombie := waitZombie(in.pid)
	var waitErr error
	if !zombie {
		waitErr = in.cmd.Wait()
	}
	in.mu.Lock()
	_ = syscall.Kill(-in.pid, syscall.SIGKILL)
	in.exited = true
	in.mu.Unlock()
	if zombie {
		waitErr = in.cmd.Wait()
	}

	deadline := time.Now().Add(drainTimeout)
	_ = in.outR.SetReadDeadline(deadline)
	_ = in.errR.SetReadDeadline(deadline)
	in.readers.Wait()
	in.outR.Close()
	in.errR.Close()
	_ = os.RemoveAll(in.dir)

	code, err := exitStatus(in.cmd.ProcessState)
	if in.cmd.ProcessState == nil {
		err = fmt.Errorf("wait: %w", waitErr)
	}
	in.mu.Lock()
	in.code, in.err = code, err
	in.mu.Unlock()
	close(in.done)
}

// exitStatus turns a wait status into an exit code.
func exitStatus(ps *os.ProcessState) (int, error) {
	if ps == nil {
		return -1, errors.New("no exit status")
	}
	if ws, ok := ps.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
		return 128 + int(ws.Signal()), &SignalError{Signal: ws.Signal()}
	}
	return ps.ExitCode(), nil
}

// capture reads one output stream into the ring until EOF, or until the
// read deadline wait sets once the task exited.
func (in *Instance) capture(f *os.File, stream string, clk clock.Clock) {
	defer in.readers.Done()
	br := bufio.NewReaderSize(f, MaxLineBytes)
	for {
		line, err := br.ReadSlice('\n')
		if n := len(line); n > 0 {
			if line[n-1] == '\n' {
				line = line[:n-1]
			}
			in.logs.add(task.LogLine{Time: clk.Now(), Stream: stream, Line: string(line)})
		}
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = br.ReadSlice('\n') // the rest of an over-long line
		}
		if err != nil {
			return
		}
	}
}
