package bench

import (
	"archive/tar"
	"bytes"
	"context"
	"crypto/sha256"
	"debug/elf"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// Docker Swarm comparison: the local Docker engine is the manager, and
// each worker is a second dockerd in a network namespace of its own, on a
// bridge with the host. Each worker also gets its own mount, UTS and PID
// namespaces: dockerd (with the containerd it starts and every container
// of it) runs under the PID namespace's first process, so one SIGKILL of
// that process ends the whole "host" at once, as a crash would.
const (
	dockerBridge     = "asbdw0"
	dockerBridgeCIDR = "10.213.0.1/24"
	dockerManagerIP  = "10.213.0.1"
	dockerNetPrefix  = "10.213.0."
	dockerImage      = "actorswarm/bench-http:latest"
	// dockerWait bounds Docker Swarm's waits: it marks a dead node down
	// after ~15 s and replaces its tasks some seconds later.
	dockerWait = 90 * time.Second
)

// dockerEngine is a worker engine in namespaces of its own.
type dockerEngine struct {
	name, ip, dir string
	cmd           *exec.Cmd
	exited        chan struct{}
	initPID       int
}

func (e *dockerEngine) host() string { return "unix://" + filepath.Join(e.dir, "docker.sock") }

// dockerSwarm is a Docker Swarm of the local engine and worker engines.
type dockerSwarm struct {
	dir      string
	log      func(format string, args ...any)
	workers  []*dockerEngine
	manager  string // the local engine's hostname, as docker node ls shows it
	inSwarm  bool
	bridgeUp bool
	// prepare, when set, runs before an engine first starts; cleanups run
	// at close once the engines are gone, last first.
	prepare  func(d *dockerSwarm, e *dockerEngine) error
	cleanups []func() error
}

// startDockerSwarm makes a swarm of the local engine and n worker engines
// and loads the benchmark image into each. It refuses to touch an engine
// that is in a swarm already. On error everything is torn down.
func startDockerSwarm(ctx context.Context, opts Options, n int) (d *dockerSwarm, err error) {
	if err := checkDockerTools(); err != nil {
		return nil, err
	}
	state, err := dockerCLI(ctx, "", "info", "--format", "{{.Swarm.LocalNodeState}}")
	if err != nil {
		return nil, fmt.Errorf("the local Docker engine does not answer (is dockerd running?): %w", err)
	}
	if s := strings.TrimSpace(state); s != "inactive" {
		return nil, fmt.Errorf("the local Docker engine is in a swarm already (state %q): swarmbench measures only a swarm it creates; `docker swarm leave --force` first", s)
	}
	dir, err := os.MkdirTemp("", "swarmbench-dockerswarm-")
	if err != nil {
		return nil, err
	}
	d = &dockerSwarm{dir: dir, log: opts.logf}
	defer func() {
		if err != nil {
			err = errors.Join(err, d.close())
		}
	}()
	if d.manager, err = os.Hostname(); err != nil {
		return d, err
	}
	if err := d.ensureImage(ctx, opts.BinDir); err != nil {
		return d, err
	}
	if err := d.startEngines(ctx, n, "worker"); err != nil {
		return d, err
	}
	if _, err := dockerCLI(ctx, "", "swarm", "init", "--advertise-addr", dockerManagerIP, "--listen-addr", dockerManagerIP+":2377"); err != nil {
		return d, err
	}
	d.inSwarm = true
	token, err := dockerCLI(ctx, "", "swarm", "join-token", "-q", "worker")
	if err != nil {
		return d, err
	}
	for _, e := range d.workers {
		if err := d.loadImage(ctx, e); err != nil {
			return d, err
		}
		if _, err := dockerCLI(ctx, e.host(), "swarm", "join", "--token", strings.TrimSpace(token), dockerManagerIP+":2377"); err != nil {
			return d, err
		}
	}
	return d, d.waitNodes(ctx, "Ready")
}

// ensureImage imports the benchmark image (swarm-http from binDir alone in
// it) into the local engine unless it is there with the same binary.
func (d *dockerSwarm) ensureImage(ctx context.Context, binDir string) error {
	path := filepath.Join(binDir, "swarm-http")
	bin, err := os.ReadFile(path)
	if err != nil {
		return fmt.Errorf("the Docker Swarm image needs swarm-http: %w (make build)", err)
	}
	if f, err := elf.NewFile(bytes.NewReader(bin)); err == nil {
		for _, p := range f.Progs {
			if p.Type == elf.PT_INTERP {
				return fmt.Errorf("%s is dynamically linked; the image holds nothing else: build it with CGO_ENABLED=0 (make build does)", path)
			}
		}
	}
	sum := fmt.Sprintf("%x", sha256.Sum256(bin))
	label := "com.actorswarm.binary.sha256"
	if got, err := dockerCLI(ctx, "", "image", "inspect", "--format", "{{index .Config.Labels \""+label+"\"}}", dockerImage); err == nil && strings.TrimSpace(got) == sum {
		return nil
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	for _, h := range []*tar.Header{
		{Name: "tmp/", Typeflag: tar.TypeDir, Mode: 0o1777},
		{Name: "swarm-http", Typeflag: tar.TypeReg, Mode: 0o755, Size: int64(len(bin))},
	} {
		if err := tw.WriteHeader(h); err != nil {
			return err
		}
	}
	if _, err := tw.Write(bin); err != nil {
		return err
	}
	if err := tw.Close(); err != nil {
		return err
	}
	cmd := exec.CommandContext(ctx, "docker", "import", "--change", `ENTRYPOINT ["/swarm-http"]`, "--change", "LABEL "+label+"="+sum, "-", dockerImage)
	cmd.Stdin = &buf
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("docker import %s: %w: %s", dockerImage, err, bytes.TrimSpace(out))
	}
	return nil
}

// loadImage copies the benchmark image from the local engine into e.
func (d *dockerSwarm) loadImage(ctx context.Context, e *dockerEngine) error {
	save := exec.CommandContext(ctx, "docker", "save", dockerImage)
	load := exec.CommandContext(ctx, "docker", "-H", e.host(), "load", "-q")
	pipe, err := save.StdoutPipe()
	if err != nil {
		return err
	}
	load.Stdin = pipe
	var saveErr, loadOut bytes.Buffer
	save.Stderr = &saveErr
	load.Stdout, load.Stderr = &loadOut, &loadOut
	if err := save.Start(); err != nil {
		return err
	}
	lerr := load.Run()
	serr := save.Wait()
	if serr != nil || lerr != nil {
		return fmt.Errorf("copy %s into %s: save: %v %s; load: %v %s", dockerImage, e.name, serr, bytes.TrimSpace(saveErr.Bytes()), lerr, bytes.TrimSpace(loadOut.Bytes()))
	}
	return nil
}

// addHost makes e's network namespace, with a veth on the bridge.
func (d *dockerSwarm) addHost(ctx context.Context, e *dockerEngine) error {
	if err := os.MkdirAll(filepath.Join(e.dir, "cgroup"), 0o755); err != nil {
		return err
	}
	return runAll(ctx, [][]string{
		{"ip", "netns", "add", e.name},
		{"ip", "link", "add", e.name + "h", "type", "veth", "peer", "name", e.name + "n"},
		{"ip", "link", "set", e.name + "h", "master", dockerBridge, "up"},
		{"ip", "link", "set", e.name + "n", "netns", e.name},
		{"ip", "-n", e.name, "addr", "add", e.ip + "/24", "dev", e.name + "n"},
		{"ip", "-n", e.name, "link", "set", e.name + "n", "up"},
		{"ip", "-n", e.name, "link", "set", "lo", "up"},
	})
}

// engineScript runs as the first process of a worker's PID namespace: a
// /sys of the network namespace with the host's cgroup mounts bound back
// (a fresh sysfs hides them, and dockerd needs them), a /proc of its own,
// no view of a system containerd (so dockerd starts its own, inside), an
// empty run directory as after a reboot, then dockerd with everything
// under the worker's directory.
const engineScript = `set -e
rm -rf "$1/exec" "$1/docker.pid"
mount --make-rprivate /
mount --rbind /sys/fs/cgroup "$1/cgroup"
mount -t sysfs sysfs /sys
mount --rbind "$1/cgroup" /sys/fs/cgroup
mount -t proc proc /proc
mkdir -p /run/containerd
mount -t tmpfs tmpfs /run/containerd
hostname "$2"
exec dockerd --data-root "$1/root" --exec-root "$1/exec" --pidfile "$1/docker.pid" -H "unix://$1/docker.sock" >>"$1/dockerd.log" 2>&1
`

// startEngine starts e's dockerd and waits until it answers.
func (d *dockerSwarm) startEngine(ctx context.Context, e *dockerEngine) error {
	cmd := exec.Command("nsenter", "--net=/run/netns/"+e.name, "unshare", "--mount", "--uts", "--pid", "--fork", "--kill-child",
		"sh", "-c", engineScript, "sh", e.dir, e.name)
	cmd.SysProcAttr = childAttr()
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s's dockerd: %w", e.name, err)
	}
	e.cmd, e.exited = cmd, make(chan struct{})
	go func() {
		_ = cmd.Wait()
		close(e.exited)
	}()
	e.initPID = 0
	err := Poll(ctx, settleTimeout, e.name+"'s dockerd to answer", func(ctx context.Context) error {
		select {
		case <-e.exited:
			return Permanent(fmt.Errorf("%s's dockerd exited: %s", e.name, tailOf(filepath.Join(e.dir, "dockerd.log"))))
		default:
		}
		if e.initPID == 0 {
			kids, err := childPIDs([]int{cmd.Process.Pid})
			if err != nil || len(kids) == 0 {
				return fmt.Errorf("no namespace init yet: %v", err)
			}
			e.initPID = kids[0]
		}
		_, err := dockerCLI(ctx, e.host(), "version", "--format", "{{.Server.Version}}")
		return err
	})
	return err
}

// crash SIGKILLs e's PID namespace init: its dockerd, containerd and
// containers die with it. It returns when they are gone.
func (d *dockerSwarm) crash(e *dockerEngine) (time.Time, error) {
	if e.cmd == nil {
		return time.Time{}, fmt.Errorf("%s is not running", e.name)
	}
	select {
	case <-e.exited:
		e.cmd = nil
		return time.Time{}, fmt.Errorf("%s had exited already", e.name)
	default:
	}
	if e.initPID == 0 {
		_ = e.cmd.Process.Kill()
		<-e.exited
		e.cmd = nil
		return time.Time{}, fmt.Errorf("%s had no namespace init", e.name)
	}
	killed := time.Now()
	if err := syscall.Kill(e.initPID, syscall.SIGKILL); err != nil {
		return killed, fmt.Errorf("kill %s: %w", e.name, err)
	}
	select {
	case <-e.exited:
	case <-time.After(10 * time.Second):
		_ = e.cmd.Process.Kill()
		<-e.exited
	}
	e.cmd = nil
	return killed, nil
}

// waitNodes waits until docker node ls shows every node with status.
func (d *dockerSwarm) waitNodes(ctx context.Context, status string) error {
	return Poll(ctx, dockerWait, "every Docker Swarm node "+status, func(ctx context.Context) error {
		nodes, err := d.nodeStatus(ctx)
		if err != nil {
			return err
		}
		if len(nodes) != len(d.workers)+1 {
			return fmt.Errorf("%d nodes: %v", len(nodes), nodes)
		}
		for host, s := range nodes {
			if s != status {
				return fmt.Errorf("%s is %s", host, s)
			}
		}
		return nil
	})
}

// nodeStatus maps hostnames to their status in docker node ls.
func (d *dockerSwarm) nodeStatus(ctx context.Context) (map[string]string, error) {
	out, err := dockerCLI(ctx, "", "node", "ls", "--format", "{{.Hostname}}\t{{.Status}}")
	if err != nil {
		return nil, err
	}
	nodes := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if host, status, ok := strings.Cut(l, "\t"); ok {
			nodes[host] = status
		}
	}
	return nodes, nil
}

// runningPerNode counts a service's tasks desired and currently running,
// by node.
func (d *dockerSwarm) runningPerNode(ctx context.Context, service string) (map[string]int, int, error) {
	out, err := dockerCLI(ctx, "", "service", "ps", service, "--filter", "desired-state=running", "--format", "{{.Node}}\t{{.CurrentState}}")
	if err != nil {
		return nil, 0, err
	}
	per, total := map[string]int{}, 0
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		node, state, ok := strings.Cut(l, "\t")
		if ok && strings.HasPrefix(state, "Running") {
			per[node]++
			total++
		}
	}
	return per, total, nil
}

// waitSpread waits until want tasks of service run, some on every node.
func (d *dockerSwarm) waitSpread(ctx context.Context, service string, want int) error {
	return Poll(ctx, dockerWait, fmt.Sprintf("%d tasks of %s running on every Docker Swarm node", want, service), func(ctx context.Context) error {
		per, total, err := d.runningPerNode(ctx, service)
		if err != nil {
			return err
		}
		if total != want || len(per) != len(d.workers)+1 {
			return fmt.Errorf("%d running: %v", total, per)
		}
		return nil
	})
}

// respread waits until every node is Ready again, then spreads service's
// replicas over all of them (`service update --force`: Docker Swarm does
// not rebalance by itself) and waits until they run.
func (d *dockerSwarm) respread(ctx context.Context, service string, replicas int) error {
	if err := d.waitNodes(ctx, "Ready"); err != nil {
		return err
	}
	if _, err := dockerCLI(ctx, "", "service", "update", "-d", "--force", service); err != nil {
		return err
	}
	return d.waitSpread(ctx, service, replicas)
}

// close removes the swarm, the engines, the namespaces and the bridge.
func (d *dockerSwarm) close() error {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	var errs []error
	for _, e := range d.workers {
		if e.cmd != nil {
			_, _ = d.crash(e) // an engine that had died already is no error here
		}
	}
	if d.inSwarm {
		if _, err := dockerCLI(ctx, "", "swarm", "leave", "--force"); err != nil {
			errs = append(errs, err)
		}
	}
	d.removeNetwork(len(d.workers))
	for i := len(d.cleanups) - 1; i >= 0; i-- {
		if err := d.cleanups[i](); err != nil {
			errs = append(errs, err)
		}
	}
	if err := os.RemoveAll(d.dir); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// dockerLink is one side of the links between the engines: a device
// and the namespace it is in ("" for this process's).
type dockerLink struct{ ns, dev string }

// links are the engines' links: each worker's end of its veth in its
// namespace, and the bridge, the manager's (the local engine's) side.
func (d *dockerSwarm) links() []dockerLink {
	out := []dockerLink{{"", dockerBridge}}
	for _, e := range d.workers {
		out = append(out, dockerLink{e.name, e.name + "n"})
	}
	return out
}

// removeNetwork deletes the bridge and the namespaces of n workers, which
// takes their veths along; what does not exist is no error.
func (d *dockerSwarm) removeNetwork(n int) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	for i := 1; i <= n; i++ {
		// The host end goes now: with the namespace it would go only once
		// the kernel frees the namespace, which can be after the next
		// scenario wants the name.
		_ = run(ctx, "ip", "link", "del", fmt.Sprintf("asbdw%dh", i))
		_ = run(ctx, "ip", "netns", "del", fmt.Sprintf("asbdw%d", i))
	}
	_ = run(ctx, "ip", "link", "del", dockerBridge)
	_ = bridgeForward(ctx, false)
}

// bridgeForward adds (or removes) the rule that lets traffic cross the
// engines' bridge.
func bridgeForward(ctx context.Context, on bool) error {
	rule := []string{"FORWARD", "-i", dockerBridge, "-o", dockerBridge, "-j", "ACCEPT"}
	present := exec.CommandContext(ctx, "iptables", append([]string{"-w", "-C"}, rule...)...).Run() == nil
	switch {
	case on && !present:
		return run(ctx, "iptables", append([]string{"-w", "-I"}, rule...)...)
	case !on && present:
		return run(ctx, "iptables", append([]string{"-w", "-D"}, rule...)...)
	}
	return nil
}

// dockerCLI runs the docker CLI against host ("" for the local engine)
// and returns its standard output.
func dockerCLI(ctx context.Context, host string, args ...string) (string, error) {
	if host != "" {
		args = append([]string{"-H", host}, args...)
	}
	cmd := exec.CommandContext(ctx, "docker", args...)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		return stdout.String(), fmt.Errorf("docker %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(stderr.String()))
	}
	return stdout.String(), nil
}

// checkDockerTools reports what the Docker Swarm target lacks to run.
func checkDockerTools() error {
	if os.Geteuid() != 0 {
		return errors.New("the Docker Swarm target runs engines in network namespaces: run as root")
	}
	for _, tool := range []string{"docker", "dockerd", "ip", "nsenter", "unshare"} {
		if _, err := exec.LookPath(tool); err != nil {
			return fmt.Errorf("Docker Swarm target: %s not found (apt-get install -y docker.io iproute2 util-linux)", tool)
		}
	}
	return nil
}

// startEngines makes the bridge and n engines in namespaces of their own,
// named role-1..n in d's directory.
func (d *dockerSwarm) startEngines(ctx context.Context, n int, role string) error {
	d.removeNetwork(n) // what a killed earlier run left
	if err := run(ctx, "ip", "link", "add", dockerBridge, "type", "bridge"); err != nil {
		return err
	}
	d.bridgeUp = true
	if err := runAll(ctx, [][]string{
		{"ip", "addr", "add", dockerBridgeCIDR, "dev", dockerBridge},
		{"ip", "link", "set", dockerBridge, "up"},
	}); err != nil {
		return err
	}
	// Engine to engine traffic is bridged; with br_netfilter it meets the
	// FORWARD chain, whose policy the local Docker engine sets to DROP.
	if err := bridgeForward(ctx, true); err != nil {
		return err
	}
	for i := 1; i <= n; i++ {
		e := &dockerEngine{name: fmt.Sprintf("asbdw%d", i), ip: dockerNetPrefix + strconv.Itoa(i+1), dir: filepath.Join(d.dir, fmt.Sprintf("%s-%d", role, i))}
		d.workers = append(d.workers, e)
		if err := d.addHost(ctx, e); err != nil {
			return err
		}
		if d.prepare != nil {
			if err := d.prepare(d, e); err != nil {
				return err
			}
		}
		if err := d.startEngine(ctx, e); err != nil {
			return err
		}
	}
	return nil
}

// tailOf returns the last lines of a log file, for errors.
func tailOf(path string) string {
	f, err := os.Open(path)
	if err != nil {
		return err.Error()
	}
	defer f.Close()
	b, _ := io.ReadAll(io.LimitReader(f, 1<<20))
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	return strings.Join(lines[max(0, len(lines)-5):], "\n")
}

// startDockerManagers makes a swarm of n engines in network namespaces,
// all managers (the first initialises it), leaving the local engine out
// of it: a manager is killed in the leader-crash scenario, and the local
// engine is not this program's to kill. On error everything is torn down.
func startDockerManagers(ctx context.Context, opts Options, n int) (*dockerSwarm, error) {
	return startDockerManagersWith(ctx, opts, n, nil)
}

// startDockerManagersWith is startDockerManagers with prepare run before
// each engine first starts (it may add to d.cleanups).
func startDockerManagersWith(ctx context.Context, opts Options, n int, prepare func(d *dockerSwarm, e *dockerEngine) error) (d *dockerSwarm, err error) {
	if err := checkDockerTools(); err != nil {
		return nil, err
	}
	dir, err := os.MkdirTemp("", "swarmbench-dockerswarm-")
	if err != nil {
		return nil, err
	}
	d = &dockerSwarm{dir: dir, log: opts.logf, prepare: prepare}
	defer func() {
		if err != nil {
			err = errors.Join(err, d.close())
		}
	}()
	if err := d.startEngines(ctx, n, "manager"); err != nil {
		return d, err
	}
	first := d.workers[0]
	if _, err := dockerCLI(ctx, first.host(), "swarm", "init", "--advertise-addr", first.ip, "--listen-addr", first.ip+":2377"); err != nil {
		return d, err
	}
	token, err := dockerCLI(ctx, first.host(), "swarm", "join-token", "-q", "manager")
	if err != nil {
		return d, err
	}
	for _, e := range d.workers[1:] {
		if _, err := dockerCLI(ctx, e.host(), "swarm", "join", "--token", strings.TrimSpace(token), first.ip+":2377"); err != nil {
			return d, err
		}
	}
	return d, d.waitManagers(ctx, first.host())
}

// managerStatus maps each node's hostname to its MANAGER STATUS as the
// engine at host sees it ("Leader", "Reachable", "Unreachable").
func (d *dockerSwarm) managerStatus(ctx context.Context, host string) (map[string]string, error) {
	out, err := dockerCLI(ctx, host, "node", "ls", "--format", "{{.Hostname}}\t{{.ManagerStatus}}")
	if err != nil {
		return nil, err
	}
	st := map[string]string{}
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if h, s, ok := strings.Cut(l, "\t"); ok {
			st[h] = s
		}
	}
	return st, nil
}

// waitManagers waits until the engine at host sees every engine as a
// reachable manager, one of them the leader.
func (d *dockerSwarm) waitManagers(ctx context.Context, host string) error {
	return Poll(ctx, dockerWait, "every Docker Swarm manager reachable", func(ctx context.Context) error {
		st, err := d.managerStatus(ctx, host)
		if err != nil {
			return err
		}
		leaders := 0
		for _, e := range d.workers {
			switch st[e.name] {
			case "Leader":
				leaders++
			case "Reachable":
			default:
				return fmt.Errorf("%s is %q", e.name, st[e.name])
			}
		}
		if leaders != 1 {
			return fmt.Errorf("%d leaders: %v", leaders, st)
		}
		return nil
	})
}

// startDockerService starts the swarm of node-crash and partition on
// Docker Swarm mode (the local engine and one worker engine) with a
// service of crashReplicas (crashQuickReplicas with --quick) spread over
// both; --update-parallelism 0 lets a forced update spread them again at
// once. params describe the run.
func startDockerService(ctx context.Context, opts Options, service string) (d *dockerSwarm, replicas int, params map[string]string, err error) {
	replicas = crashReplicas
	if opts.Quick {
		replicas = crashQuickReplicas
	}
	d, err = startDockerSwarm(ctx, opts, 1)
	if err != nil {
		return nil, 0, nil, err
	}
	if _, err := dockerCLI(ctx, "", "service", "create", "-d", "--name", service, "--replicas", fmt.Sprint(replicas),
		"--update-parallelism", "0", "--no-resolve-image", dockerImage); err != nil {
		return nil, 0, nil, errors.Join(err, d.close())
	}
	if err := d.waitSpread(ctx, service, replicas); err != nil {
		return nil, 0, nil, errors.Join(err, d.close())
	}
	version, _ := dockerCLI(ctx, "", "version", "--format", "{{.Server.Version}}")
	params = map[string]string{
		"replicas": fmt.Sprint(replicas),
		"nodes":    "1 manager (the local engine) + 1 worker engine in a network namespace",
		"engine":   strings.TrimSpace(version),
		"settings": "Docker Swarm defaults (dispatcher heartbeat 5s)",
	}
	return d, replicas, params, nil
}
