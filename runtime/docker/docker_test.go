package docker

import (
	"context"
	"crypto/rand"
	"errors"
	"io"
	"net"
	"net/http"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"github.com/actorswarm/swarm/actors/task"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// The tests below need a Docker engine (they skip without one) and build
// the image of cmd/swarm-http with scripts/build-http-image.sh. Every
// container they make carries its task's label, and is removed by label
// when the test ends.

const (
	testImage = "actorswarm/http:latest"
	testNode  = "node-under-test"
	// waitFor bounds every wait on the engine: far more than any needs.
	waitFor = 30 * time.Second
	// pollEvery is how often a condition the engine cannot signal (a port
	// that listens, a log line that arrived) is looked at again.
	pollEvery = 20 * time.Millisecond
)

var (
	imageOnce sync.Once
	imageErr  error
)

// newRuntime returns a runtime on the local engine, closed at the end of
// the test, once the test image is built; without an engine it skips.
func newRuntime(t *testing.T) *Runtime {
	t.Helper()
	r, err := New(Config{NodeID: testNode})
	if err != nil {
		t.Skipf("skipping: these tests need a Docker engine (start dockerd): %v", err)
	}
	t.Cleanup(func() { r.Close() })
	imageOnce.Do(func() {
		out, err := exec.Command(filepath.Join("..", "..", "scripts", "build-http-image.sh")).CombinedOutput()
		if err != nil {
			imageErr = errors.New(strings.TrimSpace(string(out)) + ": " + err.Error())
		}
	})
	if imageErr != nil {
		t.Fatalf("build %s: %v", testImage, imageErr)
	}
	return r
}

// newSpec is a task of the test image with a fresh ID, whose containers
// are removed when the test ends.
func newSpec(t *testing.T, args ...string) task.Spec {
	t.Helper()
	id := randomID(t)
	s := task.Spec{
		TaskID:      id,
		ServiceID:   "svc" + id[:22],
		ServiceName: "web",
		Slot:        1,
		Name:        "web.1." + id,
		Image:       testImage,
		Args:        args,
		Labels:      map[string]string{"com.example.team": "runtime"},
	}
	t.Cleanup(func() { removeTaskContainers(t, s) })
	return s
}

// removeTaskContainers removes the containers labelled with s's task ID,
// and the one that holds its name, with a client of its own (the test's
// runtimes may be closed).
func removeTaskContainers(t *testing.T, s task.Spec) {
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Errorf("cleanup: %v", err)
		return
	}
	defer cli.Close()
	ctx, cancel := context.WithTimeout(context.Background(), waitFor)
	defer cancel()
	list, err := cli.ContainerList(ctx, container.ListOptions{
		All:     true,
		Filters: filters.NewArgs(filters.Arg("label", LabelTaskID+"="+s.TaskID)),
	})
	if err != nil {
		t.Errorf("cleanup: list containers: %v", err)
	}
	ids := []string{s.Name}
	for _, c := range list {
		ids = append(ids, c.ID)
	}
	for _, id := range ids {
		err := cli.ContainerRemove(ctx, id, container.RemoveOptions{Force: true, RemoveVolumes: true})
		if err != nil && !cerrdefs.IsNotFound(err) {
			t.Errorf("cleanup: remove container %s: %v", id, err)
		}
	}
}

// randomID is a 25-character task ID, as the manager makes them.
func randomID(t *testing.T) string {
	const alphabet = "0123456789abcdefghijklmnopqrstuvwxyz"
	b := make([]byte, 25)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	for i := range b {
		b[i] = alphabet[int(b[i])%len(alphabet)]
	}
	return string(b)
}

func freePort(t *testing.T) uint32 {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return uint32(l.Addr().(*net.TCPAddr).Port)
}

func start(t *testing.T, r *Runtime, s task.Spec) *Instance {
	t.Helper()
	in, err := r.Start(context.Background(), s)
	if err != nil {
		t.Fatalf("Start(%s %q): %v", s.Image, s.Args, err)
	}
	return in.(*Instance)
}

// poll waits until cond holds. The engine signals neither a port that
// starts to listen nor a log line that reached its log file, so these are
// looked at again every pollEvery, up to waitFor.
func poll(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(waitFor)
	tick := time.NewTicker(pollEvery)
	defer tick.Stop()
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("still waiting after %v for %s", waitFor, what)
		}
		<-tick.C
	}
}

// get returns the body of the page the task on port serves, once it does.
func get(t *testing.T, port uint32) string {
	t.Helper()
	url := "http://127.0.0.1:" + strconv.Itoa(int(port)) + "/"
	var body string
	poll(t, "GET "+url, func() bool {
		resp, err := http.Get(url)
		if err != nil {
			return false
		}
		defer resp.Body.Close()
		b, err := io.ReadAll(resp.Body)
		body = string(b)
		return err == nil
	})
	return body
}

func waitDone(t *testing.T, in task.Instance) {
	t.Helper()
	select {
	case <-in.Done():
	case <-time.After(waitFor):
		t.Fatalf("container %s still running after %v", shortID(in.ID()), waitFor)
	}
}

func running(in task.Instance) bool {
	select {
	case <-in.Done():
		return false
	default:
		return true
	}
}

// waitLog waits until the task wrote a line containing text on stream and
// returns it.
func waitLog(t *testing.T, in task.Instance, stream, text string) task.LogLine {
	t.Helper()
	var found task.LogLine
	poll(t, "a log line with "+strconv.Quote(text), func() bool {
		i := slices.IndexFunc(in.Logs(time.Time{}, 0), func(l task.LogLine) bool {
			return l.Stream == stream && strings.Contains(l.Line, text)
		})
		if i >= 0 {
			found = in.Logs(time.Time{}, 0)[i]
		}
		return i >= 0
	})
	return found
}

func hasLine(lines []task.LogLine, text string) bool {
	return slices.ContainsFunc(lines, func(l task.LogLine) bool { return strings.Contains(l.Line, text) })
}

func inspect(t *testing.T, r *Runtime, id string) container.InspectResponse {
	t.Helper()
	info, err := r.cli.ContainerInspect(context.Background(), id)
	if err != nil {
		t.Fatalf("inspect container %s: %v", shortID(id), err)
	}
	return info
}

func wantRemoved(t *testing.T, r *Runtime, id string) {
	t.Helper()
	if _, err := r.cli.ContainerInspect(context.Background(), id); !cerrdefs.IsNotFound(err) {
		t.Errorf("container %s: inspect error %v, want not found (removed)", shortID(id), err)
	}
}

func TestNewUnreachable(t *testing.T) {
	sock := "unix://" + filepath.Join(t.TempDir(), "docker.sock")
	_, err := New(Config{Host: sock})
	if err == nil || !strings.HasPrefix(err.Error(), "docker engine not reachable: ") {
		t.Fatalf("New(%s) = %v, want docker engine not reachable: ...", sock, err)
	}
}

func TestLifecycle(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	s := newSpec(t)
	s.Port = freePort(t)
	s.Env = []string{"GREETING=hello", "HOSTNAME=from-the-service", "PORT=1"}
	s.Limits = &swarmv1.Resources{NanoCpus: 500_000_000, MemoryBytes: 64 << 20}
	in := start(t, r, s)
	short := task.ShortID(s.TaskID)

	want := "<h1>This request was processed by host: " + short + "</h1>\n"
	if got := get(t, s.Port); got != want {
		t.Fatalf("GET / = %q, want %q", got, want)
	}

	t.Run("container", func(t *testing.T) {
		info := inspect(t, r, in.ID())
		if info.ID != in.ID() || info.Name != "/"+s.Name {
			t.Errorf("container %s named %q, want %s named /%s", info.ID, info.Name, in.ID(), s.Name)
		}
		wantLabels := map[string]string{
			LabelTaskID:        s.TaskID,
			LabelServiceID:     s.ServiceID,
			LabelServiceName:   s.ServiceName,
			LabelNodeID:        testNode,
			"com.example.team": "runtime",
		}
		for k, v := range wantLabels {
			if got := info.Config.Labels[k]; got != v {
				t.Errorf("label %s = %q, want %q", k, got, v)
			}
		}
		if info.Config.Hostname != short {
			t.Errorf("hostname %q, want %q", info.Config.Hostname, short)
		}
		for _, kv := range []string{"GREETING=hello", "HOSTNAME=" + short, "PORT=" + strconv.Itoa(int(s.Port))} {
			if !slices.Contains(info.Config.Env, kv) {
				t.Errorf("env %q lacks %s", info.Config.Env, kv)
			}
		}
		hc := info.HostConfig
		if hc.NanoCPUs != s.Limits.NanoCpus || hc.Memory != s.Limits.MemoryBytes || !hc.NetworkMode.IsHost() {
			t.Errorf("host config: cpus %d memory %d network %s, want %d %d host",
				hc.NanoCPUs, hc.Memory, hc.NetworkMode, s.Limits.NanoCpus, s.Limits.MemoryBytes)
		}
		if code, err := in.ExitCode(); code != -1 || !errors.Is(err, ErrRunning) {
			t.Errorf("ExitCode of a running task = %d, %v, want -1, ErrRunning", code, err)
		}
	})

	t.Run("exec", func(t *testing.T) {
		for _, tc := range []struct {
			cmd  []string
			code int
		}{
			{[]string{"/swarm-http", "--version"}, 0},
			{[]string{"/swarm-http", "--no-such-flag"}, 1},
			{[]string{"/no/such/program"}, 126},
		} {
			code, err := in.Exec(context.Background(), tc.cmd)
			if err != nil || code != tc.code {
				t.Errorf("Exec(%q) = %d, %v, want %d, nil", tc.cmd, code, err, tc.code)
			}
		}
	})

	listening := waitLog(t, in, "stderr", "msg=listening")
	t.Run("logs while running", func(t *testing.T) {
		if !strings.Contains(listening.Line, "hostname="+short) || listening.Time.IsZero() {
			t.Errorf("listening line %+v: want hostname=%s and a time", listening, short)
		}
		if lines := in.Logs(listening.Time, 0); hasLine(lines, "msg=listening") {
			t.Errorf("Logs(since the listening line) = %+v, want it left out", lines)
		}
	})

	if err := in.Stop(10 * time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	t.Run("after stop", func(t *testing.T) {
		if running(in) {
			t.Fatal("Done still open after Stop returned")
		}
		if code, err := in.ExitCode(); code != 0 || err != nil {
			t.Errorf("ExitCode = %d, %v, want 0, nil (swarm-http ends cleanly on SIGTERM)", code, err)
		}
		wantRemoved(t, r, in.ID())
		all := in.Logs(time.Time{}, 0)
		if !hasLine(all, "msg=listening") || !hasLine(all, "msg=stopped") {
			t.Errorf("Logs after removal = %+v, want the listening and stopped lines", all)
		}
		if last := in.Logs(time.Time{}, 1); len(last) != 1 || !strings.Contains(last[0].Line, "msg=stopped") {
			t.Errorf("Logs(tail 1) = %+v, want the stopped line", last)
		}
		if _, err := in.Exec(context.Background(), []string{"/swarm-http", "--version"}); !errors.Is(err, ErrExited) {
			t.Errorf("Exec after exit: %v, want ErrExited", err)
		}
		if err := in.Stop(time.Second); err != nil {
			t.Errorf("second Stop: %v", err)
		}
	})
}

func TestExitCode(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	s := newSpec(t, "--no-such-flag")
	in := start(t, r, s)
	waitDone(t, in)
	if code, err := in.ExitCode(); code != 1 || err != nil {
		t.Errorf("ExitCode = %d, %v, want 1, nil (swarm-http's exit on a bad flag)", code, err)
	}
	if lines := in.Logs(time.Time{}, 0); !hasLine(lines, "unknown flag: --no-such-flag") {
		t.Errorf("Logs = %+v, want cobra's complaint", lines)
	}
	wantRemoved(t, r, in.ID())
}

func TestAdoptRunning(t *testing.T) {
	t.Parallel()
	r1 := newRuntime(t)
	s := newSpec(t)
	s.Port = freePort(t)
	in1 := start(t, r1, s)
	get(t, s.Port)
	before := inspect(t, r1, in1.ID()).State.StartedAt

	// swarmd restarts: the old runtime lets go, a new one adopts.
	if err := r1.Close(); err != nil {
		t.Fatal(err)
	}
	if err := in1.Stop(time.Second); !errors.Is(err, ErrClosed) {
		t.Errorf("Stop through a closed runtime: %v, want ErrClosed", err)
	}
	r2 := newRuntime(t)
	got, ok, err := r2.Adopt(context.Background(), s)
	if err != nil || !ok {
		t.Fatalf("Adopt = %v, %v, %v, want an instance", got, ok, err)
	}
	in2 := got.(*Instance)
	if in2.ID() != in1.ID() {
		t.Errorf("adopted container %s, want %s", in2.ID(), in1.ID())
	}
	if !running(in2) {
		t.Fatal("adopted instance is done")
	}
	info := inspect(t, r2, in2.ID())
	if !info.State.Running || info.State.StartedAt != before {
		t.Errorf("after adoption: running %v, started at %s, want running since %s (not restarted)",
			info.State.Running, info.State.StartedAt, before)
	}
	want := "<h1>This request was processed by host: " + task.ShortID(s.TaskID) + "</h1>\n"
	if body := get(t, s.Port); body != want {
		t.Errorf("GET / = %q, want %q", body, want)
	}
	waitLog(t, in2, "stderr", "msg=listening") // the output from before the adoption

	if err := in2.Stop(10 * time.Second); err != nil {
		t.Fatalf("Stop: %v", err)
	}
	if code, err := in2.ExitCode(); code != 0 || err != nil {
		t.Errorf("ExitCode = %d, %v, want 0, nil", code, err)
	}
	wantRemoved(t, r2, in2.ID())
}

func TestAdoptNone(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	if in, ok, err := r.Adopt(context.Background(), newSpec(t)); in != nil || ok || err != nil {
		t.Errorf("Adopt of a task without container = %v, %v, %v, want nil, false, nil", in, ok, err)
	}
}

// create makes the container Start would make for s, without starting it:
// what an earlier swarmd left.
func create(t *testing.T, r *Runtime, s task.Spec) string {
	t.Helper()
	cfg, hc := containerConfig(s, testNode)
	c, err := r.cli.ContainerCreate(context.Background(), cfg, hc, nil, nil, s.Name)
	if err != nil {
		t.Fatalf("create container %s: %v", s.Name, err)
	}
	return c.ID
}

func TestAdoptExited(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	s := newSpec(t, "--no-such-flag")
	id := create(t, r, s)
	ctx := context.Background()
	if err := r.cli.ContainerStart(ctx, id, container.StartOptions{}); err != nil {
		t.Fatal(err)
	}
	resC, errC := r.cli.ContainerWait(ctx, id, container.WaitConditionNotRunning)
	select {
	case <-resC:
	case err := <-errC:
		t.Fatal(err)
	}

	in, ok, err := r.Adopt(ctx, s)
	if err != nil || !ok {
		t.Fatalf("Adopt = %v, %v, %v, want an instance", in, ok, err)
	}
	if in.ID() != id || running(in) {
		t.Errorf("adopted %s, running %v: want %s, done", in.ID(), running(in), id)
	}
	if code, err := in.ExitCode(); code != 1 || err != nil {
		t.Errorf("ExitCode = %d, %v, want 1, nil", code, err)
	}
	if lines := in.Logs(time.Time{}, 0); !hasLine(lines, "unknown flag") {
		t.Errorf("Logs = %+v, want cobra's complaint", lines)
	}
	wantRemoved(t, r, id)
}

func TestAdoptNeverStarted(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	s := newSpec(t)
	id := create(t, r, s)
	if in, ok, err := r.Adopt(context.Background(), s); in != nil || ok || err != nil {
		t.Errorf("Adopt of a container never started = %v, %v, %v, want nil, false, nil", in, ok, err)
	}
	wantRemoved(t, r, id)
}

func TestStartReplacesStale(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	s := newSpec(t)
	s.Port = freePort(t)
	stale := create(t, r, s)
	in := start(t, r, s)
	if in.ID() == stale {
		t.Fatalf("Start reused the stale container %s", shortID(stale))
	}
	wantRemoved(t, r, stale)
	get(t, s.Port)
	if err := in.Stop(10 * time.Second); err != nil {
		t.Fatal(err)
	}
}

func TestStartNameTaken(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	s := newSpec(t)
	other := s
	other.TaskID = randomID(t)
	id := create(t, r, other) // under s's name, with another task's label
	_, err := r.Start(context.Background(), s)
	if !errors.Is(err, ErrNameTaken) {
		t.Errorf("Start with its name taken: %v, want ErrNameTaken", err)
	}
	if _, err := r.cli.ContainerInspect(context.Background(), id); err != nil {
		t.Errorf("the other container: %v, want it left alone", err)
	}
}

func TestStartAbsentImage(t *testing.T) {
	t.Parallel()
	r := newRuntime(t)
	s := newSpec(t)
	s.Image = "actorswarm/absent-" + s.TaskID + ":never"
	in, err := r.Start(context.Background(), s)
	var ie *ImageError
	if !errors.As(err, &ie) || ie.Image != s.Image {
		t.Fatalf("Start = %v, %v, want an *ImageError for %s", in, err, s.Image)
	}
	want := "image " + s.Image + " not found locally and could not be pulled: "
	if !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q, want it to begin with %q", err, want)
	}
	if _, err := r.cli.ContainerInspect(context.Background(), s.Name); !cerrdefs.IsNotFound(err) {
		t.Errorf("container %s: %v, want none made", s.Name, err)
	}
}
