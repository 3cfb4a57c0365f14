package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"
)

const (
	// FirstLoopbackIP is the last octet of node 1's address: benchmark
	// nodes live on 127.0.0.201 and up, away from the e2e suite's
	// 127.0.0.11-99.
	FirstLoopbackIP = 201
	// maxLoopbackNodes keeps the addresses below 127.0.0.255.
	maxLoopbackNodes = 254 - FirstLoopbackIP + 1

	// pollInterval is how often Poll re-checks a condition. A check that
	// runs swarmctl takes about as long, so the two bound the resolution
	// of what is measured by polling.
	pollInterval = 20 * time.Millisecond
	// startTimeout bounds a swarmd start until its admin socket answers.
	startTimeout = 20 * time.Second
	// reapTimeout bounds the wait for a killed process to be reaped.
	reapTimeout = 10 * time.Second
	// ctlTimeout bounds one swarmctl run.
	ctlTimeout = 30 * time.Second
	// logTailLines is how much of each node's log a failure shows.
	logTailLines = 20
)

// LoopbackConfig describes a Loopback.
type LoopbackConfig struct {
	// BinDir holds swarmd and swarmctl.
	BinDir string
	// Nodes is how many nodes there are (at least 1).
	Nodes int
	// Heartbeat is each swarmd's --heartbeat (default 100ms).
	Heartbeat time.Duration
	// Netns puts each node in a network namespace of its own, joined to
	// the others by a veth to a bridge (root only): node i has
	// 10.196.0.(10+i), and SetLink can cut it off.
	Netns bool
}

// Validate checks c, fills in defaults and returns the binaries' paths.
func (c *LoopbackConfig) Validate() (swarmd, swarmctl string, err error) {
	if c.Nodes < 1 || c.Nodes > maxLoopbackNodes {
		return "", "", fmt.Errorf("loopback cluster of %d nodes: want 1 to %d", c.Nodes, maxLoopbackNodes)
	}
	if c.Heartbeat <= 0 {
		c.Heartbeat = 100 * time.Millisecond
	}
	if c.BinDir == "" {
		return "", "", errors.New("loopback cluster: no binary directory: pass --bin DIR with swarmd and swarmctl")
	}
	var paths []string
	for _, name := range []string{"swarmd", "swarmctl"} {
		p := filepath.Join(c.BinDir, name)
		st, err := os.Stat(p)
		if err != nil || st.IsDir() || st.Mode()&0o111 == 0 {
			return "", "", fmt.Errorf("%s is not an executable file: build it with `make build` (or go build -o %s ./cmd/%s) or pass --bin DIR", p, p, name)
		}
		paths = append(paths, p)
	}
	return paths[0], paths[1], nil
}

// Loopback is a set of real swarmd processes on loopback addresses, run by
// this process without root. Node i (1-based) listens on
// 127.0.0.(200+i) with the default ports, is called bench-i and keeps its
// data and log in a temporary directory.
//
// Every process it starts is killed (SIGKILL) by Close; on Linux the
// kernel also kills them should this process die without closing it.
// Its methods are safe for concurrent use.
type Loopback struct {
	swarmd, swarmctl string
	dir              string
	heartbeat        time.Duration
	netns            bool

	// clockFiles gives every swarmd a clock skew file (EnableClockSkew).
	clockFiles bool
	// flags are every swarmd's flags besides the usual ones (SetFlags).
	flags []string

	mu       sync.Mutex
	nodes    []*LoopbackNode
	closed   bool
	cleanups []func() error
	delays   map[int]io.Closer // SetDelay's packet holders, by node
}

// LoopbackNode is one swarmd of a Loopback.
type LoopbackNode struct {
	Index    int
	IP       string
	Hostname string
	DataDir  string
	LogPath  string

	proc *process // nil while not running; guarded by Loopback.mu
}

// Socket is the node's admin socket.
func (n *LoopbackNode) Socket() string { return filepath.Join(n.DataDir, "swarmd.sock") }

// GatewayAddr is the node's IP:port for joins.
func (n *LoopbackNode) GatewayAddr() string { return net.JoinHostPort(n.IP, "2377") }

type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process was reaped
	err  error         // Wait's result, set before done is closed
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// NewLoopback prepares a cluster of cfg.Nodes nodes; none runs yet. The
// caller must Close it.
func NewLoopback(cfg LoopbackConfig) (*Loopback, error) {
	swarmd, swarmctl, err := cfg.Validate()
	if err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "swarmbench-")
	if err != nil {
		return nil, fmt.Errorf("loopback cluster: %w", err)
	}
	c := &Loopback{swarmd: swarmd, swarmctl: swarmctl, dir: dir, heartbeat: cfg.Heartbeat, netns: cfg.Netns}
	for i := 1; i <= cfg.Nodes; i++ {
		ip := fmt.Sprintf("127.0.0.%d", FirstLoopbackIP+i-1)
		if cfg.Netns {
			ip = fmt.Sprintf("%s%d", netnsHostNet, 10+i)
		}
		c.nodes = append(c.nodes, &LoopbackNode{
			Index:    i,
			IP:       ip,
			Hostname: fmt.Sprintf("bench-%d", i),
			DataDir:  filepath.Join(dir, fmt.Sprintf("node-%d", i)),
			LogPath:  filepath.Join(dir, fmt.Sprintf("node-%d.log", i)),
		})
	}
	if cfg.Netns {
		if err := c.makeNamespaces(); err != nil {
			c.removeNamespaces()
			os.RemoveAll(dir)
			return nil, err
		}
	}
	return c, nil
}

// Namespaces of a Netns cluster: a hub with the bridge, a host per node.
const (
	netnsHub     = "asb-p-hub"
	netnsHost    = "asb-p-h"
	netnsHostNet = "10.196.0."
)

func (c *Loopback) makeNamespaces() error {
	if os.Geteuid() != 0 {
		return errors.New("network-namespace hosts need root")
	}
	c.removeNamespaces() // what a killed earlier run left
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	cmds := [][]string{
		{"ip", "netns", "add", netnsHub},
		{"ip", "-n", netnsHub, "link", "set", "lo", "up"},
		{"ip", "-n", netnsHub, "link", "add", "br0", "type", "bridge"},
		{"ip", "-n", netnsHub, "link", "set", "br0", "up"},
	}
	for _, n := range c.nodes {
		ns, veth := fmt.Sprintf("%s%d", netnsHost, n.Index), fmt.Sprintf("veth%d", n.Index)
		cmds = append(cmds,
			[]string{"ip", "netns", "add", ns},
			[]string{"ip", "-n", ns, "link", "set", "lo", "up"},
			[]string{"ip", "link", "add", veth, "netns", netnsHub, "type", "veth", "peer", "name", "eth0", "netns", ns},
			[]string{"ip", "-n", netnsHub, "link", "set", veth, "master", "br0", "up"},
			[]string{"ip", "-n", ns, "addr", "add", n.IP + "/24", "dev", "eth0"},
			[]string{"ip", "-n", ns, "link", "set", "eth0", "up"},
		)
	}
	return runAll(ctx, cmds)
}

func (c *Loopback) removeNamespaces() {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	for _, n := range c.nodes {
		_ = run(ctx, "ip", "netns", "del", fmt.Sprintf("%s%d", netnsHost, n.Index))
	}
	_ = run(ctx, "ip", "netns", "del", netnsHub)
}

// SetLoss makes node i of a Netns cluster drop each packet it sends or
// receives with probability p (iptables' statistic match in its
// namespace: this kernel has no netem); 0 removes the rule.
func (c *Loopback) SetLoss(ctx context.Context, i int, p float64) error {
	if !c.netns {
		return errors.New("only network-namespace hosts can lose packets")
	}
	ns := fmt.Sprintf("%s%d", netnsHost, i)
	for chain, dir := range map[string]string{"INPUT": "-i", "OUTPUT": "-o"} {
		if err := run(ctx, "ip", "netns", "exec", ns, "iptables", "-w", "-F", chain); err != nil {
			return err
		}
		if p > 0 {
			if err := run(ctx, "ip", "netns", "exec", ns, "iptables", "-w", "-A", chain, dir, "eth0", "-m", "statistic", "--mode", "random",
				"--probability", strconv.FormatFloat(p, 'f', 4, 64), "-j", "DROP"); err != nil {
				return err
			}
		}
	}
	c.note(c.Node(i), fmt.Sprintf("packet loss %.1f%%", p*100))
	return nil
}

// SetLink cuts node i of a Netns cluster off the others (up false) or
// joins it again.
func (c *Loopback) SetLink(ctx context.Context, i int, up bool) error {
	if !c.netns {
		return errors.New("only network-namespace hosts can be cut off")
	}
	state := "down"
	if up {
		state = "up"
	}
	c.note(c.Node(i), "link "+state)
	return run(ctx, "ip", "-n", netnsHub, "link", "set", fmt.Sprintf("veth%d", i), state)
}

// Node returns node i (1-based); it panics on an index out of range, a
// mistake of the scenario.
func (c *Loopback) Node(i int) *LoopbackNode {
	if i < 1 || i > len(c.nodes) {
		panic(fmt.Sprintf("bench: loopback node %d of %d", i, len(c.nodes)))
	}
	return c.nodes[i-1]
}

// NodeByHostname returns the node called hostname.
func (c *Loopback) NodeByHostname(hostname string) (*LoopbackNode, error) {
	for _, n := range c.nodes {
		if n.Hostname == hostname {
			return n, nil
		}
	}
	return nil, fmt.Errorf("no loopback node is called %q", hostname)
}

// Start starts (or, after Kill, restarts) the nodes and waits until each
// admin socket answers.
func (c *Loopback) Start(ctx context.Context, idx ...int) error {
	for _, i := range idx {
		if _, err := c.Launch(i); err != nil {
			return err
		}
	}
	for _, i := range idx {
		if err := c.WaitAnswering(ctx, i); err != nil {
			return err
		}
	}
	return nil
}

// Launch starts node i's swarmd (again, after a kill: same data and flags)
// without waiting for it, and returns when it was started.
func (c *Loopback) Launch(i int) (time.Time, error) {
	n := c.Node(i)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.closed {
		return time.Time{}, errors.New("loopback cluster is closed")
	}
	if n.proc != nil && !n.proc.exited() {
		return time.Time{}, fmt.Errorf("%s already runs (pid %d)", n.Hostname, n.proc.cmd.Process.Pid)
	}
	for _, port := range []string{"2377", "2378"} {
		if c.netns {
			break // the node's own namespace: nothing else there
		}
		ln, err := net.Listen("tcp", net.JoinHostPort(n.IP, port))
		if err != nil {
			return time.Time{}, fmt.Errorf("%s cannot start: %s:%s is taken (another swarmbench or swarmd runs there?): %w", n.Hostname, n.IP, port, err)
		}
		ln.Close()
	}
	logf, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return time.Time{}, fmt.Errorf("log of %s: %w", n.Hostname, err)
	}
	defer logf.Close() // the child has its own descriptor
	args := []string{"--data-dir", n.DataDir, "--addr", n.IP, "--hostname", n.Hostname, "--heartbeat", c.heartbeat.String()}
	if c.clockFiles {
		args = append(args, "--clock-skew-file", c.clockFile(i))
	}
	args = append(args, c.flags...)
	fmt.Fprintf(logf, "=== swarmbench %s: swarmd %s\n", time.Now().Format("15:04:05.000"), strings.Join(args, " "))
	cmd := exec.Command(c.swarmd, args...)
	if c.netns {
		// ip netns exec runs swarmd in place: the pid is swarmd's.
		cmd = exec.Command("ip", append([]string{"netns", "exec", fmt.Sprintf("%s%d", netnsHost, i), c.swarmd}, args...)...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = childAttr()
	started := time.Now()
	if err := cmd.Start(); err != nil {
		return time.Time{}, fmt.Errorf("start %s: %w", n.Hostname, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	n.proc = p
	return started, nil
}

// EnableClockSkew gives every swarmd started from now on a clock skew file
// (swarmd --clock-skew-file), through which SetClockSkew moves its wall
// clock.
func (c *Loopback) EnableClockSkew() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.clockFiles = true
}

// SetFlags gives every swarmd started from now on these flags besides the
// usual ones.
func (c *Loopback) SetFlags(flags ...string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.flags = slices.Clone(flags)
}

func (c *Loopback) clockFile(i int) string {
	return filepath.Join(c.dir, fmt.Sprintf("node-%d.clock", i))
}

// SetClockSkew sets node i's wall clock d from the system's, as if its
// clock had been set (see EnableClockSkew); swarmd reads its file every
// 100 ms. It does not wait for that.
func (c *Loopback) SetClockSkew(i int, d time.Duration) error {
	c.mu.Lock()
	enabled := c.clockFiles
	c.mu.Unlock()
	if !enabled {
		return errors.New("loopback cluster: clock skew files are not enabled")
	}
	path := c.clockFile(c.Node(i).Index)
	tmp := path + ".new"
	if err := os.WriteFile(tmp, []byte(d.String()+"\n"), 0o644); err != nil {
		return err
	}
	return os.Rename(tmp, path)
}

// WaitAnswering waits until node i's admin socket answers a request: a
// node list, or the daemon's refusal of it (an unjoined node has none).
func (c *Loopback) WaitAnswering(ctx context.Context, i int) error {
	n := c.Node(i)
	p := c.proc(n)
	if p == nil {
		return fmt.Errorf("%s is not running", n.Hostname)
	}
	return Poll(ctx, startTimeout, n.Hostname+"'s admin socket to answer", func(ctx context.Context) error {
		if p.exited() {
			return Permanent(fmt.Errorf("%s exited while starting: %v", n.Hostname, p.err))
		}
		if _, err := os.Stat(n.Socket()); err != nil {
			return err
		}
		_, err := c.Ctl(ctx, i, "node", "ls", "-q")
		var ctlErr *CtlError
		if err == nil || (errors.As(err, &ctlErr) && strings.HasPrefix(ctlErr.Stderr, "Error response from daemon:")) {
			return nil
		}
		return err
	})
}

// Kill sends SIGKILL to node i's swarmd, waits until it is reaped and
// returns when the signal was sent.
func (c *Loopback) Kill(i int) (time.Time, error) {
	n := c.Node(i)
	p := c.proc(n)
	if p == nil {
		return time.Time{}, fmt.Errorf("kill %s: not running", n.Hostname)
	}
	c.note(n, "killed with SIGKILL")
	killed := time.Now()
	if err := p.cmd.Process.Kill(); err != nil && !p.exited() {
		return killed, fmt.Errorf("kill %s (pid %d): %w", n.Hostname, p.cmd.Process.Pid, err)
	}
	select {
	case <-p.done:
		c.mu.Lock()
		if n.proc == p {
			n.proc = nil
		}
		c.mu.Unlock()
		return killed, nil
	case <-time.After(reapTimeout):
		return killed, fmt.Errorf("%s (pid %d) still runs %s after SIGKILL", n.Hostname, p.cmd.Process.Pid, reapTimeout)
	}
}

// Signal sends sig to node i's swarmd (SIGSTOP freezes it: it stops
// answering while its tasks run on; SIGCONT thaws it).
func (c *Loopback) Signal(i int, sig os.Signal) (time.Time, error) {
	n := c.Node(i)
	p := c.proc(n)
	if p == nil {
		return time.Time{}, fmt.Errorf("signal %s: not running", n.Hostname)
	}
	c.note(n, "sent "+sig.String())
	at := time.Now()
	if err := p.cmd.Process.Signal(sig); err != nil {
		return at, fmt.Errorf("signal %s (pid %d): %w", n.Hostname, p.cmd.Process.Pid, err)
	}
	return at, nil
}

// OnClose adds fn to what Close does once every swarmd stopped.
func (c *Loopback) OnClose(fn func() error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.cleanups = append(c.cleanups, fn)
}

// Running reports whether node i's swarmd runs (it may have exited by
// itself).
func (c *Loopback) Running(i int) bool {
	p := c.proc(c.Node(i))
	return p != nil && !p.exited()
}

func (c *Loopback) proc(n *LoopbackNode) *process {
	c.mu.Lock()
	defer c.mu.Unlock()
	return n.proc
}

// note writes a line into n's log, so that the log shows what the
// scenario did.
func (c *Loopback) note(n *LoopbackNode, msg string) {
	f, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "=== swarmbench %s: %s\n", time.Now().Format("15:04:05.000"), msg)
}

// CtlError is a swarmctl run that failed.
type CtlError struct {
	Args   []string
	Code   int // exit status, -1 when it did not run to an exit
	Stderr string
	Err    error
}

func (e *CtlError) Error() string {
	msg := strings.TrimSpace(e.Stderr)
	if msg == "" && e.Err != nil {
		msg = e.Err.Error()
	}
	return fmt.Sprintf("swarmctl %s: exit status %d: %s", strings.Join(e.Args, " "), e.Code, msg)
}

func (e *CtlError) Unwrap() error { return e.Err }

// Ctl runs swarmctl against node i's admin socket and returns its
// standard output; a failure is a *CtlError. The run is bounded by
// ctlTimeout and ctx.
func (c *Loopback) Ctl(ctx context.Context, i int, args ...string) (string, error) {
	ctx, cancel := context.WithTimeout(ctx, ctlTimeout)
	defer cancel()
	full := append([]string{"-H", "unix://" + c.Node(i).Socket()}, args...)
	cmd := exec.CommandContext(ctx, c.swarmctl, full...)
	cmd.Env = cleanEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	if err == nil {
		return out.String(), nil
	}
	e := &CtlError{Args: args, Code: -1, Stderr: errOut.String(), Err: err}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		e.Code = exit.ExitCode()
	}
	if ctx.Err() != nil {
		e.Err = context.Cause(ctx)
	}
	return out.String(), e
}

// NodeStatus is a row of `node ls`: what the swarm says of one node.
type NodeStatus struct {
	Hostname      string
	Status        string // Ready, Down, Unknown
	ManagerStatus string // Leader, Reachable, Unreachable, or "" for a worker
}

// Nodes runs `node ls` on node i.
func (c *Loopback) Nodes(ctx context.Context, i int) ([]NodeStatus, error) {
	out, err := c.Ctl(ctx, i, "node", "ls", "--format", "{{.Hostname}} {{.Status}} {{.ManagerStatus}}")
	if err != nil {
		return nil, err
	}
	return parseNodeStatus(out)
}

func parseNodeStatus(out string) ([]NodeStatus, error) {
	var rows []NodeStatus
	for _, line := range strings.Split(strings.TrimRight(out, "\n"), "\n") {
		f := strings.Fields(line)
		switch len(f) {
		case 2:
			rows = append(rows, NodeStatus{Hostname: f[0], Status: f[1]})
		case 3:
			rows = append(rows, NodeStatus{Hostname: f[0], Status: f[1], ManagerStatus: f[2]})
		default:
			return nil, fmt.Errorf("node ls printed %q: want HOSTNAME STATUS [MANAGER STATUS]", line)
		}
	}
	return rows, nil
}

// LogTails returns the last lines of every node's log, for a failure
// report.
func (c *Loopback) LogTails() string {
	var b strings.Builder
	for _, n := range c.nodes {
		data, err := os.ReadFile(n.LogPath)
		if err != nil {
			continue
		}
		lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
		if len(lines) > logTailLines {
			lines = lines[len(lines)-logTailLines:]
		}
		fmt.Fprintf(&b, "----- %s (%s), last %d lines of its log:\n%s\n", n.Hostname, n.IP, len(lines), strings.Join(lines, "\n"))
	}
	return b.String()
}

// Close kills every process the cluster started, waits until they are
// reaped and removes the cluster's directory. It may be called more than
// once; later calls do nothing.
func (c *Loopback) Close() error {
	c.mu.Lock()
	if c.closed {
		c.mu.Unlock()
		return nil
	}
	c.closed = true
	var procs []*process
	for _, n := range c.nodes {
		if n.proc != nil {
			procs = append(procs, n.proc)
			n.proc = nil
		}
	}
	c.mu.Unlock()
	for _, p := range procs {
		_ = p.cmd.Process.Kill()
	}
	var errs []error
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(reapTimeout):
			errs = append(errs, fmt.Errorf("pid %d still runs %s after SIGKILL", p.cmd.Process.Pid, reapTimeout))
		}
	}
	c.mu.Lock()
	delays := c.delays
	c.delays = nil
	c.mu.Unlock()
	for _, d := range delays {
		if err := d.Close(); err != nil {
			errs = append(errs, err)
		}
	}
	if c.netns {
		c.removeNamespaces()
	}
	// What the cluster's users set up for it (mounts on its directories)
	// goes once no swarmd uses it, last first.
	for i := len(c.cleanups) - 1; i >= 0; i-- {
		if err := c.cleanups[i](); err != nil {
			errs = append(errs, err)
		}
	}
	if os.Getenv("SWARMBENCH_KEEP") != "" {
		// Kept for a look at the daemons' logs, as sim-scale keeps its.
		fmt.Fprintf(os.Stderr, "swarmbench: kept %s (SWARMBENCH_KEEP)\n", c.dir)
		return errors.Join(errs...)
	}
	if err := os.RemoveAll(c.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// cleanEnv is this process's environment without what would point
// swarmctl at another daemon.
func cleanEnv() []string {
	var env []string
	for _, kv := range os.Environ() {
		if strings.HasPrefix(kv, "SWARM_HOST=") || strings.HasPrefix(kv, "SWARM_TLS_DIR=") {
			continue
		}
		env = append(env, kv)
	}
	return env
}

// permanentError stops Poll at once.
type permanentError struct{ err error }

func (e permanentError) Error() string { return e.err.Error() }
func (e permanentError) Unwrap() error { return e.err }

// Permanent marks err as one that polling again cannot cure.
func Permanent(err error) error { return permanentError{err} }

// Poll calls check every pollInterval until it returns nil, and fails with
// check's last error when timeout passes first, when check returns a
// Permanent error, or when ctx ends. check gets a context that ends at the
// deadline.
func Poll(ctx context.Context, timeout time.Duration, what string, check func(context.Context) error) error {
	parent := ctx
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	var last error
	for {
		err := check(ctx)
		if err == nil {
			return nil
		}
		var perm permanentError
		if errors.As(err, &perm) {
			return fmt.Errorf("waiting for %s: %w", what, perm.err)
		}
		// A check cut short by the deadline says only that: the one
		// before tells what was still wrong.
		if last == nil || ctx.Err() == nil {
			last = err
		}
		select {
		case <-ctx.Done():
			if parent.Err() != nil {
				return fmt.Errorf("waiting for %s: %w", what, context.Cause(parent))
			}
			return fmt.Errorf("%s: not within %s: %w", what, timeout, last)
		case <-tick.C:
		}
	}
}
