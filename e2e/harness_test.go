//go:build linux

package e2e

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

const (
	// pollInterval is how often Eventually re-checks a condition.
	pollInterval = 50 * time.Millisecond
	// startTimeout bounds a swarmd start until its admin socket answers.
	startTimeout = 20 * time.Second
	// stopTimeout bounds a graceful stop (SIGTERM) and the reaping of a
	// killed process.
	stopTimeout = 20 * time.Second
	// ctlTimeout bounds one swarmctl run; swarmctl bounds its own calls at
	// 30 s, so this only catches a swarmctl that hangs.
	ctlTimeout = 45 * time.Second
	// heartbeat is the --heartbeat every node is started with.
	heartbeat = "100ms"
	// logTailLines is how much of each node's log a failed test prints.
	logTailLines = 60
)

// binaries are the programs under test.
type binaries struct {
	// dir holds the binaries (swarm-http too, for the services tests).
	dir              string
	swarmd, swarmctl string
}

// findBinaries skips the test unless SWARM_E2E=1 and returns the binaries
// in $SWARM_BIN (default ../bin), failing when one is missing.
func findBinaries(t *testing.T) binaries {
	t.Helper()
	if os.Getenv("SWARM_E2E") != "1" {
		t.Skip("end-to-end test: set SWARM_E2E=1 to run it (and build the binaries with make build)")
	}
	dir := os.Getenv("SWARM_BIN")
	if dir == "" {
		dir = filepath.Join("..", "bin")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("SWARM_BIN %q: %v", dir, err)
	}
	b := binaries{dir: abs, swarmd: filepath.Join(abs, "swarmd"), swarmctl: filepath.Join(abs, "swarmctl")}
	for _, p := range []string{b.swarmd, b.swarmctl} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatalf("binary under test is missing: %v\nbuild it with `make build` (or go build -o bin/%s ./cmd/%s) or point SWARM_BIN at the directory that holds swarmd and swarmctl",
				err, filepath.Base(p), filepath.Base(p))
		}
		if st.IsDir() || st.Mode()&0o111 == 0 {
			t.Fatalf("%s is not an executable file", p)
		}
	}
	return b
}

// netPrefix is the first three octets of the nodes' addresses: 127.0.0,
// or $SWARM_E2E_NET (e.g. 127.0.1) to move the suite to another part of
// the loopback network when something else uses 127.0.0.x.
func netPrefix(t *testing.T) string {
	t.Helper()
	p := os.Getenv("SWARM_E2E_NET")
	if p == "" {
		return "127.0.0"
	}
	ip := net.ParseIP(p + ".1").To4()
	if ip == nil || ip[0] != 127 || strings.Count(p, ".") != 2 {
		t.Fatalf("SWARM_E2E_NET=%q: want the first three octets of a loopback address, e.g. 127.0.1", p)
	}
	return p
}

// checkFree fails the test when something already listens on a port node n
// is about to use: another swarmd, most likely, started outside this test.
func (c *Cluster) checkFree(n *Node) {
	c.t.Helper()
	if n.Netns != "" {
		return // the namespace is new: nothing else listens there
	}
	for _, port := range []string{"2377", "2378"} {
		addr := net.JoinHostPort(n.IP, port)
		ln, err := net.Listen("tcp", addr)
		if err != nil {
			c.t.Fatalf("%s cannot start: %s is taken (%v). Something outside this test listens there; stop it or move the suite with SWARM_E2E_NET=127.0.N", n.Hostname, addr, err)
		}
		ln.Close()
	}
}

// blockOwners maps an IP block to the test that uses it, so that two tests
// given the same block fail loudly instead of fighting over ports.
var blockOwners sync.Map

// Cluster is a set of swarmd processes started by one test. Node i (1..9)
// listens on 127.0.0.(block+i) (see netPrefix) with the default ports and keeps its state in
// its own directory under t.TempDir(). Every process it starts is killed when
// the test ends; when the test failed, the tail of each node's log is printed.
//
// Its methods may be called from several goroutines; those that fail the
// test (the ones without an error result) must be called from the test's
// goroutine.
type Cluster struct {
	t     *testing.T
	bin   binaries
	net   string // first three octets of the nodes' IPs
	block int
	dir   string
	// netns, when set, names the namespaces of netns hosts: node i runs in
	// netns+i with the address 10.199.0.(10+i).
	netns string

	mu      sync.Mutex
	nodes   map[int]*Node
	extra   []*exec.Cmd // other swarmd runs (RunSwarmd), killed at cleanup
	crashes []crashed
}

// Node is one swarmd of a Cluster.
type Node struct {
	Index    int
	IP       string
	Hostname string
	DataDir  string
	LogPath  string
	// Netns, when set, is the network namespace the node runs in (see
	// NewNetnsCluster).
	Netns string

	args   []string
	starts int
	proc   *process // nil while stopped
}

// Socket is the path of the node's admin socket.
func (n *Node) Socket() string { return filepath.Join(n.DataDir, "swarmd.sock") }

// Host is the -H value for the node's admin socket.
func (n *Node) Host() string { return "unix://" + n.Socket() }

// GatewayAddr is the node's IP:port for joins and tcp:// hosts.
func (n *Node) GatewayAddr() string { return n.IP + ":2377" }

// AdminDir is where swarm init writes the admin TLS bundle.
func (n *Node) AdminDir() string { return filepath.Join(n.DataDir, "admin") }

type process struct {
	cmd  *exec.Cmd
	done chan struct{} // closed once the process was reaped
	err  error         // Wait's result, set before done is closed
}

// crashed is what the test did not ask for: a swarmd that exited by itself
// (a panic, a fatal error) while the test was using it.
type crashed struct {
	node string
	pid  int
	err  error
}

func (p *process) exited() bool {
	select {
	case <-p.done:
		return true
	default:
		return false
	}
}

// NewCluster returns an empty cluster whose nodes use the IP block
// 127.0.0.(block+1)..127.0.0.(block+9) (see netPrefix); block is a multiple
// of 10 that no other test of the package uses.
func NewCluster(t *testing.T, block int) *Cluster {
	t.Helper()
	if block < 10 || block > 240 || block%10 != 0 {
		t.Fatalf("IP block %d: want a multiple of 10 from 10 to 240", block)
	}
	if owner, loaded := blockOwners.LoadOrStore(block, t.Name()); loaded && owner != t.Name() {
		t.Fatalf("IP block %d (addresses .%d-.%d) is already used by %s: give each test its own block", block, block+1, block+9, owner)
	}
	return newCluster(t, block)
}

// newCluster returns an empty cluster without claiming a loopback block
// (netns clusters use their own addresses).
func newCluster(t *testing.T, block int) *Cluster {
	t.Helper()
	bin := findBinaries(t)
	c := &Cluster{t: t, bin: bin, net: netPrefix(t), block: block, dir: t.TempDir(), nodes: map[int]*Node{}}
	// Registered after t.TempDir, so it runs before the directory goes.
	t.Cleanup(c.cleanup)
	return c
}

// Node returns node i, creating its description (not its process) on first
// use.
func (c *Cluster) Node(i int) *Node {
	c.mu.Lock()
	defer c.mu.Unlock()
	if i < 1 || i > 9 {
		c.t.Fatalf("node index %d: want 1..9", i)
	}
	if n, ok := c.nodes[i]; ok {
		return n
	}
	n := &Node{
		Index:    i,
		IP:       fmt.Sprintf("%s.%d", c.net, c.block+i),
		Hostname: fmt.Sprintf("node-%d", i),
		DataDir:  filepath.Join(c.dir, fmt.Sprintf("node-%d", i)),
		LogPath:  filepath.Join(c.dir, fmt.Sprintf("node-%d.log", i)),
	}
	if c.netns != "" {
		n.IP = fmt.Sprintf("10.199.0.%d", 10+i)
		n.Netns = fmt.Sprintf("%s%d", c.netns, i)
	}
	n.args = []string{"--data-dir", n.DataDir, "--addr", n.IP, "--hostname", n.Hostname, "--heartbeat", heartbeat}
	c.nodes[i] = n
	return n
}

// Start starts the swarmd of each node and waits until every admin socket
// answers.
func (c *Cluster) Start(idx ...int) {
	c.t.Helper()
	for _, i := range idx {
		c.launch(c.Node(i))
	}
	for _, i := range idx {
		c.waitReady(c.Node(i))
	}
}

// Restart starts again a node that was stopped or killed, with the same data
// directory and flags, and waits until its admin socket answers.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	n := c.Node(i)
	c.mu.Lock()
	started := n.starts
	c.mu.Unlock()
	if started == 0 {
		c.t.Fatalf("restart of %s, which never started", n.Hostname)
	}
	c.Start(i)
}

// Kill sends SIGKILL to node i's swarmd and waits until it is gone.
func (c *Cluster) Kill(i int) {
	c.t.Helper()
	n := c.Node(i)
	p := c.running(n)
	c.checkAlive(n, p)
	c.note(n, "killed with SIGKILL by the test")
	if err := p.cmd.Process.Signal(syscall.SIGKILL); err != nil && !p.exited() {
		c.t.Fatalf("kill %s (pid %d): %v", n.Hostname, p.cmd.Process.Pid, err)
	}
	select {
	case <-p.done:
	case <-time.After(stopTimeout):
		c.t.Fatalf("%s (pid %d) still runs %s after SIGKILL", n.Hostname, p.cmd.Process.Pid, stopTimeout)
	}
	c.setProc(n, nil)
}

// Stop sends SIGTERM to node i's swarmd and waits until it exits; a swarmd
// that does not exit in time, or exits with an error, fails the test.
func (c *Cluster) Stop(i int) {
	c.t.Helper()
	n := c.Node(i)
	p := c.running(n)
	if !c.checkAlive(n, p) {
		c.setProc(n, nil)
		return
	}
	c.note(n, "stopped with SIGTERM by the test")
	if err := p.cmd.Process.Signal(syscall.SIGTERM); err != nil && !p.exited() {
		c.t.Fatalf("SIGTERM to %s (pid %d): %v", n.Hostname, p.cmd.Process.Pid, err)
	}
	select {
	case <-p.done:
		if p.err != nil {
			c.t.Errorf("%s exited with %v after SIGTERM; want a clean exit (status 0)", n.Hostname, p.err)
		}
	case <-time.After(stopTimeout):
		c.t.Errorf("%s (pid %d) did not exit within %s of SIGTERM; killing it", n.Hostname, p.cmd.Process.Pid, stopTimeout)
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
		<-p.done
	}
	c.setProc(n, nil)
}

// checkAlive reports whether p still runs, and records a crash (failing the
// test at its end) when it does not.
func (c *Cluster) checkAlive(n *Node, p *process) bool {
	if !p.exited() {
		return true
	}
	c.mu.Lock()
	c.crashes = append(c.crashes, crashed{node: n.Hostname, pid: p.cmd.Process.Pid, err: p.err})
	c.mu.Unlock()
	return false
}

// Running reports whether node i's swarmd is running.
func (c *Cluster) Running(i int) bool {
	n := c.Node(i)
	c.mu.Lock()
	p := n.proc
	c.mu.Unlock()
	return p != nil && !p.exited()
}

func (c *Cluster) running(n *Node) *process {
	c.t.Helper()
	c.mu.Lock()
	p := n.proc
	c.mu.Unlock()
	if p == nil {
		c.t.Fatalf("%s is not running", n.Hostname)
	}
	return p
}

func (c *Cluster) setProc(n *Node, p *process) {
	c.mu.Lock()
	n.proc = p
	c.mu.Unlock()
}

// launch starts n's swarmd with its output appended to n.LogPath.
func (c *Cluster) launch(n *Node) {
	c.t.Helper()
	c.mu.Lock()
	if n.proc != nil && !n.proc.exited() {
		c.mu.Unlock()
		c.t.Fatalf("%s is already running (pid %d)", n.Hostname, n.proc.cmd.Process.Pid)
	}
	c.mu.Unlock()
	c.checkFree(n)
	c.mu.Lock()
	n.starts++
	starts := n.starts
	c.mu.Unlock()

	logf, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		c.t.Fatalf("log of %s: %v", n.Hostname, err)
	}
	defer logf.Close() // the child holds its own descriptor
	fmt.Fprintf(logf, "=== e2e %s: start #%d: swarmd %s\n", time.Now().Format("15:04:05.000"), starts, strings.Join(n.args, " "))
	cmd := exec.Command(c.bin.swarmd, n.args...)
	if n.Netns != "" {
		// ip netns exec execs swarmd: the pid stays swarmd's.
		cmd = exec.Command("ip", append([]string{"netns", "exec", n.Netns, c.bin.swarmd}, n.args...)...)
	}
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.Env = cleanEnv()
	// Should the test binary die without its cleanups, take swarmd along.
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	if err := cmd.Start(); err != nil {
		c.t.Fatalf("start %s: %v", n.Hostname, err)
	}
	p := &process{cmd: cmd, done: make(chan struct{})}
	go func() {
		p.err = cmd.Wait()
		close(p.done)
	}()
	c.setProc(n, p)
}

// waitReady waits until n's admin socket answers a request: a node list, or
// the daemon's refusal of it (an unjoined node has no list to give).
func (c *Cluster) waitReady(n *Node) {
	c.t.Helper()
	p := c.running(n)
	deadline := time.Now().Add(startTimeout)
	var last string
	for {
		if p.exited() {
			c.setProc(n, nil)
			c.t.Fatalf("%s exited while starting: %v (its log follows)", n.Hostname, p.err)
		}
		if _, err := os.Stat(n.Socket()); err == nil {
			_, errOut, code := c.CtlWithin(5*time.Second, n.Index, "node", "ls", "-q")
			if code == 0 || strings.HasPrefix(errOut, "Error response from daemon:") {
				return
			}
			last = strings.TrimSpace(errOut)
		} else {
			last = err.Error()
		}
		if time.Now().After(deadline) {
			c.t.Fatalf("%s: admin socket did not answer within %s (last: %s; its log follows)", n.Hostname, startTimeout, last)
		}
		select {
		case <-p.done:
		case <-time.After(pollInterval):
		}
	}
}

// note writes a line into n's log, so that the log shows what the test did.
func (c *Cluster) note(n *Node, msg string) {
	f, err := os.OpenFile(n.LogPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return
	}
	defer f.Close()
	fmt.Fprintf(f, "=== e2e %s: %s\n", time.Now().Format("15:04:05.000"), msg)
}

// Ctl runs swarmctl against node i's admin socket and returns its output
// and exit status (-1 when it could not run or was killed after ctlTimeout).
func (c *Cluster) Ctl(i int, args ...string) (stdout, stderr string, code int) {
	return c.CtlWithin(ctlTimeout, i, args...)
}

// CtlWithin is Ctl with swarmctl killed after d.
func (c *Cluster) CtlWithin(d time.Duration, i int, args ...string) (stdout, stderr string, code int) {
	return c.Swarmctl(d, append([]string{"-H", c.Node(i).Host()}, args...)...)
}

// Swarmctl runs swarmctl with exactly args (global flags included) and an
// environment without SWARM_HOST and SWARM_TLS_DIR, killing it after d.
func (c *Cluster) Swarmctl(d time.Duration, args ...string) (stdout, stderr string, code int) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin.swarmctl, args...)
	cmd.Env = cleanEnv()
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return out.String(), errOut.String() + fmt.Sprintf("(e2e: swarmctl killed after %s)\n", d), -1
	case errors.As(err, &exit):
		return out.String(), errOut.String(), exit.ExitCode()
	case err != nil:
		return out.String(), errOut.String() + fmt.Sprintf("(e2e: run swarmctl: %v)\n", err), -1
	}
	return out.String(), errOut.String(), 0
}

// MustCtl runs swarmctl against node i and fails the test unless it exits
// with status 0; it returns stdout.
func (c *Cluster) MustCtl(i int, args ...string) string {
	c.t.Helper()
	out, errOut, code := c.Ctl(i, args...)
	if code != 0 {
		c.t.Fatalf("%s on %s: exit status %d\nstderr: %s\nstdout: %s", cmdline(args), c.Node(i).Hostname, code, strings.TrimSpace(errOut), strings.TrimSpace(out))
	}
	return out
}

// RunSwarmd runs another swarmd with args until it exits (killing it after
// d) and returns its combined output and exit status (-1 when killed).
func (c *Cluster) RunSwarmd(d time.Duration, args ...string) (output string, code int) {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	defer cancel()
	cmd := exec.CommandContext(ctx, c.bin.swarmd, args...)
	cmd.Env = cleanEnv()
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	c.mu.Lock()
	c.extra = append(c.extra, cmd)
	c.mu.Unlock()
	err := cmd.Run()
	var exit *exec.ExitError
	switch {
	case ctx.Err() != nil:
		return out.String(), -1
	case errors.As(err, &exit):
		return out.String(), exit.ExitCode()
	case err != nil:
		return out.String() + fmt.Sprintf("(e2e: run swarmd: %v)\n", err), -1
	}
	return out.String(), 0
}

// cleanup kills every process the cluster started and, when the test
// failed, prints the tail of each node's log.
func (c *Cluster) cleanup() {
	c.mu.Lock()
	var procs []*process
	var nodes []*Node
	crashes := c.crashes
	for i := 1; i <= 9; i++ {
		n, ok := c.nodes[i]
		if !ok {
			continue
		}
		if n.starts > 0 {
			nodes = append(nodes, n)
		}
		if p := n.proc; p != nil {
			procs = append(procs, p)
			if p.exited() {
				crashes = append(crashes, crashed{node: n.Hostname, pid: p.cmd.Process.Pid, err: p.err})
			}
		}
		n.proc = nil
	}
	extra := c.extra
	c.mu.Unlock()
	for _, cr := range crashes {
		c.t.Errorf("%s (pid %d) exited by itself while the test relied on it: %v (see its log)", cr.node, cr.pid, cr.err)
	}
	for _, p := range procs {
		_ = p.cmd.Process.Signal(syscall.SIGKILL)
	}
	for _, p := range procs {
		select {
		case <-p.done:
		case <-time.After(stopTimeout):
			c.t.Errorf("pid %d still runs %s after SIGKILL", p.cmd.Process.Pid, stopTimeout)
		}
	}
	for _, cmd := range extra {
		if cmd.Process != nil && cmd.ProcessState == nil {
			_ = cmd.Process.Signal(syscall.SIGKILL)
		}
	}
	if !c.t.Failed() {
		return
	}
	for _, n := range nodes {
		c.t.Logf("%s", c.logTail(n))
	}
}

// logTail returns the last logTailLines lines of n's log, headed by its
// name and path.
func (c *Cluster) logTail(n *Node) string {
	data, err := os.ReadFile(n.LogPath)
	if err != nil {
		return fmt.Sprintf("----- %s (%s): no log: %v", n.Hostname, n.IP, err)
	}
	lines := strings.Split(strings.TrimRight(string(data), "\n"), "\n")
	if len(lines) > logTailLines {
		lines = lines[len(lines)-logTailLines:]
	}
	return fmt.Sprintf("----- %s (%s) log, last %d lines of %s:\n%s\n----- end of %s log",
		n.Hostname, n.IP, len(lines), n.LogPath, strings.Join(lines, "\n"), n.Hostname)
}

// cleanEnv is the test's environment without the variables that would
// point swarmctl at another daemon.
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

func cmdline(args []string) string { return "swarmctl " + strings.Join(args, " ") }

// Eventually calls fn every pollInterval until it returns nil, and fails the
// test with fn's last error when timeout passed first.
func Eventually(t testing.TB, timeout time.Duration, fn func() error) {
	t.Helper()
	if err := poll(time.Now().Add(timeout), fn); err != nil {
		t.Fatalf("not within %s: %v", timeout, err)
	}
}

// poll calls fn every pollInterval until it returns nil or deadline passed,
// and returns fn's last error in the latter case. It does not touch the
// test, so goroutines may use it.
func poll(deadline time.Time, fn func() error) error {
	tick := time.NewTicker(pollInterval)
	defer tick.Stop()
	for {
		err := fn()
		if err == nil {
			return nil
		}
		if !time.Now().Before(deadline) {
			return err
		}
		<-tick.C
	}
}

// NodeRow is one row of `swarmctl node ls` as printed in its default table.
type NodeRow struct {
	ID            string
	Self          bool // the row is marked with "*": the node swarmctl talked to
	Hostname      string
	Status        string
	Availability  string
	ManagerStatus string
	EngineVersion string
}

func (r NodeRow) String() string {
	self := ""
	if r.Self {
		self = " *"
	}
	ms := r.ManagerStatus
	if ms == "" {
		ms = "-"
	}
	return fmt.Sprintf("%s(%s%s %s %s %s)", r.Hostname, short(r.ID), self, r.Status, r.Availability, ms)
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}

var (
	idPattern     = regexp.MustCompile(`^[0-9a-z]{12,64}$`)
	tableColumns  = []string{"ID", "HOSTNAME", "STATUS", "AVAILABILITY", "MANAGER STATUS", "ENGINE VERSION"}
	errNoNodeRows = errors.New("node ls printed no header")
)

// ParseNodeTable reads the default table of `swarmctl node ls`. Columns are
// cut at the offsets of the header's titles, since MANAGER STATUS is blank
// for workers.
func ParseNodeTable(out string) ([]NodeRow, error) {
	lines := strings.Split(strings.TrimRight(out, "\n"), "\n")
	if len(lines) == 0 || lines[0] == "" {
		return nil, errNoNodeRows
	}
	header := lines[0]
	offsets := make([]int, len(tableColumns))
	from := 0
	for k, col := range tableColumns {
		at := strings.Index(header[from:], col)
		if at < 0 {
			return nil, fmt.Errorf("node ls header %q lacks column %s (after offset %d)", header, col, from)
		}
		offsets[k] = from + at
		from = offsets[k] + len(col)
	}
	if offsets[0] != 0 {
		return nil, fmt.Errorf("node ls header %q does not start with ID", header)
	}
	cell := func(line string, k int) string {
		start := offsets[k]
		if start >= len(line) {
			return ""
		}
		end := len(line)
		if k+1 < len(offsets) && offsets[k+1] < end {
			end = offsets[k+1]
		}
		return strings.TrimSpace(line[start:end])
	}
	var rows []NodeRow
	for _, line := range lines[1:] {
		idCell := strings.Fields(cell(line, 0))
		r := NodeRow{
			Hostname:      cell(line, 1),
			Status:        cell(line, 2),
			Availability:  cell(line, 3),
			ManagerStatus: cell(line, 4),
			EngineVersion: cell(line, 5),
		}
		switch {
		case len(idCell) == 1:
			r.ID = idCell[0]
		case len(idCell) == 2 && idCell[1] == "*":
			r.ID, r.Self = idCell[0], true
		default:
			return nil, fmt.Errorf("node ls row %q: ID column %q is not `ID` or `ID *`", line, cell(line, 0))
		}
		if !idPattern.MatchString(r.ID) {
			return nil, fmt.Errorf("node ls row %q: %q is not a node ID", line, r.ID)
		}
		rows = append(rows, r)
	}
	return rows, nil
}

// Nodes runs `node ls` on node i and parses its table. The error carries
// swarmctl's stderr.
func (c *Cluster) Nodes(i int) ([]NodeRow, error) {
	return c.NodesWithin(ctlTimeout, i)
}

// NodesWithin is Nodes with swarmctl killed after d.
func (c *Cluster) NodesWithin(d time.Duration, i int) ([]NodeRow, error) {
	out, errOut, code := c.CtlWithin(d, i, "node", "ls")
	if code != 0 {
		return nil, fmt.Errorf("node ls on %s: exit status %d: %s", c.Node(i).Hostname, code, strings.TrimSpace(errOut))
	}
	rows, err := ParseNodeTable(out)
	if err != nil {
		return nil, fmt.Errorf("node ls on %s: %w\n%s", c.Node(i).Hostname, err, out)
	}
	return rows, nil
}

// MustNodes is Nodes failing the test on error.
func (c *Cluster) MustNodes(i int) []NodeRow {
	c.t.Helper()
	rows, err := c.Nodes(i)
	if err != nil {
		c.t.Fatal(err)
	}
	return rows
}

func TestParseNodeTable(t *testing.T) {
	const table = `ID                            HOSTNAME   STATUS    AVAILABILITY   MANAGER STATUS   ENGINE VERSION
4tt8lt60spwhrxxuzajx3xviu *   node-1     Ready     Active         Leader           dev
408y79plp4jl349mkwjd5yas9     node-2     Down      Drain          Unreachable      dev
bn9daq9fytz4osridfvk7pie8     node-3     Ready     Active                          dev
`
	tests := []struct {
		name    string
		out     string
		want    []NodeRow
		wantErr string
	}{
		{
			name: "default table",
			out:  table,
			want: []NodeRow{
				{ID: "4tt8lt60spwhrxxuzajx3xviu", Self: true, Hostname: "node-1", Status: "Ready", Availability: "Active", ManagerStatus: "Leader", EngineVersion: "dev"},
				{ID: "408y79plp4jl349mkwjd5yas9", Hostname: "node-2", Status: "Down", Availability: "Drain", ManagerStatus: "Unreachable", EngineVersion: "dev"},
				{ID: "bn9daq9fytz4osridfvk7pie8", Hostname: "node-3", Status: "Ready", Availability: "Active", EngineVersion: "dev"},
			},
		},
		{name: "header only", out: strings.SplitAfter(table, "\n")[0]},
		{name: "empty", out: "", wantErr: "no header"},
		{name: "missing column", out: "ID   HOSTNAME   STATUS\n", wantErr: "lacks column AVAILABILITY"},
		{name: "bad marker", out: strings.Replace(table, "xviu *", "xviu +", 1), wantErr: "is not `ID` or `ID *`"},
		{name: "not an ID", out: strings.Replace(table, "bn9daq9fytz4osridfvk7pie8", "BN9DAQ9FYTZ4OSRIDFVK7PIE8", 1), wantErr: "is not a node ID"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ParseNodeTable(tt.out)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("ParseNodeTable error = %v, want one containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("ParseNodeTable: %v", err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("ParseNodeTable =\n%v\nwant\n%v", got, tt.want)
			}
		})
	}
}
