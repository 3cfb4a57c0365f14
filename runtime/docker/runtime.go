package docker

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/client"

	"github.com/actorswarm/swarm/actors/task"
)

// Labels every task container carries.
const (
	LabelTaskID      = "com.actorswarm.task.id"
	LabelServiceID   = "com.actorswarm.service.id"
	LabelServiceName = "com.actorswarm.service.name"
	LabelNodeID      = "com.actorswarm.node.id"
)

const (
	// DefaultLogLines is how many output lines an instance keeps once its
	// container is removed, and the most Logs returns, when
	// Config.LogLines is zero.
	DefaultLogLines = 1000
	// pingTimeout bounds New's wait for the engine.
	pingTimeout = 5 * time.Second
	// cleanupTimeout bounds the engine calls made to clean up after a
	// failure or an exit, which no caller's context covers.
	cleanupTimeout = 30 * time.Second
)

var (
	// ErrClosed is returned by calls on a Runtime, or on its instances,
	// once it was closed.
	ErrClosed = errors.New("docker runtime closed")
	// ErrNameTaken is wrapped by the error of a Start whose container name
	// belongs to a container this package did not create for that task.
	ErrNameTaken = errors.New("container name in use by another container")
)

// ImageError is the error of a Start whose image the engine neither has
// nor could pull.
type ImageError struct {
	Image string
	Err   error
}

func (e *ImageError) Error() string {
	return fmt.Sprintf("image %s not found locally and could not be pulled: %v", e.Image, e.Err)
}

func (e *ImageError) Unwrap() error { return e.Err }

// Config configures a docker Runtime.
type Config struct {
	// Host is the engine's address (unix:///var/run/docker.sock,
	// tcp://host:2376). Default: $DOCKER_HOST, else the local socket.
	Host string
	// NodeID is the node the runtime runs on, written in each container's
	// com.actorswarm.node.id label (default: the task's Spec.NodeID).
	NodeID string
	// LogLines is how many output lines an instance keeps (default
	// DefaultLogLines).
	LogLines int
	// Logger receives what goes wrong out of any caller's sight (a
	// container that could not be removed). Default: discarded.
	Logger *slog.Logger
}

// Validate reports a config New refuses.
func (c Config) Validate() error {
	if c.LogLines < 0 {
		return fmt.Errorf("docker runtime: log lines %d < 0", c.LogLines)
	}
	return nil
}

func (c Config) withDefaults() Config {
	if c.LogLines == 0 {
		c.LogLines = DefaultLogLines
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

// Runtime starts tasks as containers of one Docker engine. It is safe for
// concurrent use.
type Runtime struct {
	cfg Config
	cli *client.Client
	// ctx is cancelled by Close: it ends every instance's watch.
	ctx    context.Context
	cancel context.CancelFunc
}

var (
	_ task.Runtime = (*Runtime)(nil)
	_ task.Adopter = (*Runtime)(nil)
)

// New connects to the engine and pings it: an engine that does not answer
// within 5 seconds is an error that says so.
func New(cfg Config) (*Runtime, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	cfg = cfg.withDefaults()
	opts := []client.Opt{client.FromEnv, client.WithAPIVersionNegotiation()}
	if cfg.Host != "" {
		opts = append(opts, client.WithHost(cfg.Host))
	}
	cli, err := client.NewClientWithOpts(opts...)
	if err != nil {
		return nil, fmt.Errorf("docker client: %w", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), pingTimeout)
	defer cancel()
	if _, err := cli.Ping(ctx); err != nil {
		cli.Close()
		return nil, fmt.Errorf("docker engine not reachable: %w", err)
	}
	r := &Runtime{cfg: cfg, cli: cli}
	r.ctx, r.cancel = context.WithCancel(context.Background())
	return r, nil
}

// Close detaches the runtime from its containers, which keep running for
// the next runtime to adopt, and closes the engine client. Instances stop
// watching their containers: their Done channels stay open, and Stop and
// Exec return ErrClosed.
func (r *Runtime) Close() error {
	r.cancel()
	return r.cli.Close()
}

// Start makes sure the engine has the task's image, replaces a container
// left by an earlier start of the same task, creates the task's container
// and starts it. It returns once the container runs, or the reason it
// could not: an absent image that could not be pulled is an *ImageError.
// ctx bounds the start only: the task lives until it exits or is stopped.
func (r *Runtime) Start(ctx context.Context, s task.Spec) (task.Instance, error) {
	if err := r.ctx.Err(); err != nil {
		return nil, ErrClosed
	}
	switch {
	case s.NetNS.Path != "" && s.NetNS.Join == nil:
		return nil, errors.New("docker runtime: this node cannot move a task's interfaces into a container")
	case s.TaskID == "":
		return nil, errors.New("docker runtime: task has no ID")
	case s.Image == "":
		return nil, errors.New("docker runtime: task has no image")
	}
	if err := r.ensureImage(ctx, s.Image); err != nil {
		return nil, err
	}
	name := containerName(s)
	if err := r.removeStale(ctx, name, s.TaskID); err != nil {
		return nil, err
	}
	cfg, host := containerConfig(s, r.nodeID(s))
	created, err := r.cli.ContainerCreate(ctx, cfg, host, nil, nil, name)
	if err != nil {
		return nil, fmt.Errorf("create container %s: %w", name, err)
	}
	if err := r.cli.ContainerStart(ctx, created.ID, container.StartOptions{}); err != nil {
		r.remove(created.ID, s.TaskID, true)
		return nil, fmt.Errorf("start container %s: %w", name, err)
	}
	if s.NetNS.Join != nil {
		// On overlay networks: the container was made with no network;
		// the task's interfaces move into its namespace now.
		info, err := r.cli.ContainerInspect(ctx, created.ID)
		if err == nil && info.State == nil {
			err = errors.New("no state")
		}
		if err == nil {
			err = s.NetNS.Join(info.State.Pid)
		}
		if err != nil {
			r.remove(created.ID, s.TaskID, true)
			return nil, fmt.Errorf("container %s: network attachment: %w", name, err)
		}
	}
	in := r.newInstance(created.ID, s.TaskID)
	go in.watch()
	return in, nil
}

// Adopt finds the container of task s that an earlier runtime started (by
// its task label). A running one is watched again, untouched, and its
// instance returned; one that exited is reported through an instance whose
// Done is already closed, with the container's exit code and last output,
// and is removed. A container that was created but never started is
// removed and not adopted: its task never ran.
func (r *Runtime) Adopt(ctx context.Context, s task.Spec) (task.Instance, bool, error) {
	if err := r.ctx.Err(); err != nil {
		return nil, false, ErrClosed
	}
	list, err := r.cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelTaskID+"="+s.TaskID)),
	})
	if err != nil {
		return nil, false, fmt.Errorf("adopt task %s: list containers: %w", s.TaskID, err)
	}
	for _, c := range list {
		if c.State == container.StateCreated {
			r.remove(c.ID, s.TaskID, true)
		}
	}
	c, ok := adoptable(list)
	if !ok {
		return nil, false, nil
	}
	info, err := r.cli.ContainerInspect(ctx, c.ID)
	if cerrdefs.IsNotFound(err) {
		return nil, false, nil // removed since the list
	}
	if err != nil {
		return nil, false, fmt.Errorf("adopt task %s: inspect container %s: %w", s.TaskID, shortID(c.ID), err)
	}
	in := r.newInstance(c.ID, s.TaskID)
	if st := info.State; st != nil && (st.Running || st.Paused || st.Restarting) {
		go in.watch()
		return in, true, nil
	}
	code, exitErr := -1, error(ErrLost)
	if info.State != nil {
		code, exitErr = info.State.ExitCode, stateError(info.State)
	}
	in.finish(code, exitErr)
	return in, true, nil
}

// adoptable picks, among a task's containers, the one to adopt: a live one
// first, else one that ran and exited.
func adoptable(list []container.Summary) (container.Summary, bool) {
	var exited *container.Summary
	for i, c := range list {
		switch c.State {
		case container.StateRunning, container.StatePaused, container.StateRestarting:
			return c, true
		case container.StateExited, container.StateDead, container.StateRemoving:
			if exited == nil {
				exited = &list[i]
			}
		}
	}
	if exited == nil {
		return container.Summary{}, false
	}
	return *exited, true
}

// removeStale removes the container named name when it is an earlier
// container of the same task (left by a crash between create and start,
// or by a swarmd that started rather than adopted it). A container of that
// name that is not the task's is left alone and the start refused.
func (r *Runtime) removeStale(ctx context.Context, name, taskID string) error {
	info, err := r.cli.ContainerInspect(ctx, name)
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("inspect container %s: %w", name, err)
	}
	if info.Config == nil || info.Config.Labels[LabelTaskID] != taskID {
		return fmt.Errorf("container %s (%s): %w", name, shortID(info.ID), ErrNameTaken)
	}
	err = r.cli.ContainerRemove(ctx, info.ID, container.RemoveOptions{Force: true, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("remove stale container %s: %w", name, err)
	}
	return nil
}

// remove removes a container of task taskID, beyond any caller's context,
// and logs a failure: the container then stays until the task's next
// start or adoption finds it.
func (r *Runtime) remove(id, taskID string, force bool) {
	ctx, cancel := context.WithTimeout(context.Background(), cleanupTimeout)
	defer cancel()
	err := r.cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: force, RemoveVolumes: true})
	if err != nil && !cerrdefs.IsNotFound(err) {
		r.cfg.Logger.Warn("remove container", "task_id", taskID, "container_id", shortID(id), "error", err)
	}
}

func (r *Runtime) nodeID(s task.Spec) string {
	if r.cfg.NodeID != "" {
		return r.cfg.NodeID
	}
	return s.NodeID
}

// containerName is the task's name, as docker names a swarm task's
// container; a spec without one falls back to its task ID.
func containerName(s task.Spec) string {
	if s.Name != "" {
		return s.Name
	}
	return s.TaskID
}

// containerConfig is the container a task runs in.
func containerConfig(s task.Spec, nodeID string) (*container.Config, *container.HostConfig) {
	host := s.HostnameOrID()
	labels := make(map[string]string, len(s.Labels)+4)
	maps.Copy(labels, s.Labels)
	labels[LabelTaskID] = s.TaskID
	labels[LabelServiceID] = s.ServiceID
	labels[LabelServiceName] = s.ServiceName
	labels[LabelNodeID] = nodeID
	cfg := &container.Config{
		Image:    s.Image,
		Cmd:      s.Args,
		Env:      task.Env(s),
		Hostname: host,
		Labels:   labels,
	}
	hc := &container.HostConfig{
		// Tasks share the host's network and listen on $PORT, unless they
		// are on overlay networks: then the container starts with none and
		// gets the task's interfaces once it runs, and the networks' name
		// server in its resolv.conf.
		NetworkMode: container.NetworkMode(network.NetworkHost),
	}
	if s.NetNS.Join != nil {
		hc.NetworkMode = container.NetworkMode(network.NetworkNone)
		if s.NetNS.ResolvConf != "" {
			hc.Binds = append(hc.Binds, s.NetNS.ResolvConf+":/etc/resolv.conf:ro")
		}
	}
	if l := s.Limits; l != nil {
		hc.Resources.NanoCPUs = l.GetNanoCpus()
		hc.Resources.Memory = l.GetMemoryBytes()
	}
	return cfg, hc
}

// shortID is the 12-character form of a container ID, for messages.
func shortID(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
