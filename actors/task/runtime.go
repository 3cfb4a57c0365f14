package task

import (
	"context"
	"time"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// Spec is what a runtime needs to start one task.
type Spec struct {
	TaskID      string
	ServiceID   string
	ServiceName string
	Slot        uint64
	NodeID      string
	// Name is the task's name as docker shows it: service.slot.taskid
	// (global tasks: service.nodeid.taskid).
	Name     string
	Image    string
	Args     []string
	Env      []string
	Hostname string
	Labels   map[string]string
	// Port is the host port a process task must listen on ($PORT); 0 when
	// the task has no published port.
	Port uint32
	// Host is the node's address, where a task sharing the host's network
	// should bind ($HOST): several loopback nodes share one machine, so a
	// port published in host mode on each of them only binds this way.
	Host   string
	Limits *swarmv1.Resources
	// NetNS is the task's network namespace when it is attached to overlay
	// networks: the runtime starts it inside. Empty: the host's network.
	NetNS NetNS
}

// NetNS is a task's own network namespace (its path, /run/netns/NAME)
// and the resolv.conf that names its networks' name server.
type NetNS struct {
	Path       string
	ResolvConf string
	// Join moves the task's interfaces into the network namespace of a
	// process: a runtime that makes its own namespace (a container with
	// no network) calls it once the task's first process runs, instead of
	// starting the task in Path.
	Join func(pid int) error
}

// Networker plumbs the tasks attached to overlay networks: Attach gives
// one its network namespace before it starts, Detach takes it down once
// the task ended.
type Networker interface {
	Attach(ctx context.Context, t *swarmv1.Task) (NetNS, error)
	Detach(t *swarmv1.Task)
}

// ShortID is the 12-character container-style ID of a task ID: what the
// process runtime puts in $HOSTNAME.
func ShortID(taskID string) string {
	if len(taskID) > 12 {
		return taskID[:12]
	}
	return taskID
}

// Runtime starts tasks. Implementations live in package runtime.
type Runtime interface {
	// Start launches the task and returns once it runs, or the error that
	// kept it from starting (bad image, program not found, …).
	Start(ctx context.Context, s Spec) (Instance, error)
}

// AsyncStarter is a Runtime that starts a task without holding up its
// caller: done gets what Start would return, called once, on a goroutine
// of the runtime's or (when the start cannot wait) on the caller's. The
// runner uses it for tasks without network attachments instead of a
// goroutine of its own per start: simulated nodes start a million.
type AsyncStarter interface {
	StartAsync(ctx context.Context, s Spec, done func(Instance, error))
}

// Adopter is a Runtime that can find, after a swarmd restart, the tasks a
// previous swarmd started and that still run (docker does; processes die
// with their node).
type Adopter interface {
	Adopt(ctx context.Context, s Spec) (Instance, bool, error)
}

// Instance is one started task.
type Instance interface {
	// ID is the runtime's handle: a pid or a container ID.
	ID() string
	// Done is closed once the task exited.
	Done() <-chan struct{}
	// ExitCode is the task's exit status once Done is closed; err says why
	// it ended when it was not a plain exit (killed, lost).
	ExitCode() (code int, err error)
	// Stop asks the task to end (SIGTERM), kills it after grace, and
	// returns once it exited.
	Stop(grace time.Duration) error
	// Logs returns the task's kept output lines: the last tail (0: all)
	// with a timestamp after since.
	Logs(since time.Time, tail int) []LogLine
}

// ExitNotifier is an Instance that calls a function once it exited, so
// that its runner needs no goroutine waiting on Done (simulated tasks,
// by the hundred thousand). fn must not block.
type ExitNotifier interface {
	OnExit(fn func())
}

// Execer is an Instance that can run a command in the task's environment
// (health checks).
type Execer interface {
	Exec(ctx context.Context, cmd []string) (exitCode int, err error)
}

// LogLine is one line a task wrote.
type LogLine struct {
	Time   time.Time
	Stream string // "stdout" or "stderr"
	Line   string
}
