package process

import (
	"bufio"
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/actorswarm/swarm/actors/task"
)

// waitFor bounds every wait on a task: far more than any of them needs.
const waitFor = 10 * time.Second

const taskID = "0123456789abcdefghijklmn"

func newRuntime(t *testing.T, cfg Config) *Runtime {
	t.Helper()
	if cfg.Dir == "" {
		cfg.Dir = t.TempDir()
	}
	return New(cfg)
}

func sh(script string, env ...string) task.Spec {
	return task.Spec{TaskID: taskID, Name: "web.1." + taskID, Image: "/bin/sh", Args: []string{"-c", script}, Env: env}
}

func startTask(t *testing.T, r *Runtime, s task.Spec) *Instance {
	t.Helper()
	in, err := r.Start(context.Background(), s)
	if err != nil {
		t.Fatalf("Start(%s %q): %v", s.Image, s.Args, err)
	}
	p := in.(*Instance)
	t.Cleanup(func() { _ = p.Stop(0) })
	return p
}

func waitDone(t *testing.T, in *Instance) {
	t.Helper()
	select {
	case <-in.Done():
	case <-time.After(waitFor):
		t.Fatalf("task %s still running after %v", in.ID(), waitFor)
	}
}

// readyPipe makes a FIFO a task's script writes to ($READY) once it is
// ready, and returns the environment entry naming it and a function that
// waits for the script's first line there.
func readyPipe(t *testing.T) (string, func() string) {
	t.Helper()
	p := filepath.Join(t.TempDir(), "ready")
	if err := syscall.Mkfifo(p, 0o600); err != nil {
		t.Fatal(err)
	}
	// Opened read-write, the FIFO neither blocks the open nor reads EOF
	// between writers.
	f, err := os.OpenFile(p, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return "READY=" + p, func() string {
		t.Helper()
		if err := f.SetReadDeadline(time.Now().Add(waitFor)); err != nil {
			t.Fatal(err)
		}
		line, err := bufio.NewReader(f).ReadString('\n')
		if err != nil {
			t.Fatalf("waiting for the task to be ready: %v", err)
		}
		return strings.TrimSuffix(line, "\n")
	}
}

func TestExitCodeAndLogs(t *testing.T) {
	r := newRuntime(t, Config{})
	in := startTask(t, r, sh("echo out; echo err >&2; exit 3"))
	if code, err := in.ExitCode(); code != 3 && (code != -1 || !errors.Is(err, ErrRunning)) {
		t.Errorf("ExitCode before Done = %d, %v; want -1, ErrRunning (or 3 if it exited)", code, err)
	}
	waitDone(t, in)
	if code, err := in.ExitCode(); code != 3 || err != nil {
		t.Errorf("ExitCode = %d, %v; want 3, nil", code, err)
	}
	got := map[string]string{}
	for _, l := range in.Logs(time.Time{}, 0) {
		if l.Time.IsZero() {
			t.Errorf("line %q has no time", l.Line)
		}
		got[l.Stream] += l.Line
	}
	if got["stdout"] != "out" || got["stderr"] != "err" {
		t.Errorf("logs by stream = %q; want stdout out, stderr err", got)
	}
	if _, err := os.Stat(in.Dir()); !os.IsNotExist(err) {
		t.Errorf("task directory %s after exit: %v", in.Dir(), err)
	}
	if pid, err := strconv.Atoi(in.ID()); err != nil || pid != in.Pid() {
		t.Errorf("ID %q, pid %d", in.ID(), in.Pid())
	}
}

func TestEnv(t *testing.T) {
	dir := t.TempDir()
	realDir, err := filepath.EvalSymlinks(dir)
	if err != nil {
		t.Fatal(err)
	}
	r := newRuntime(t, Config{Dir: dir, Path: "/usr/bin:/bin"})
	script := `echo "$HOSTNAME|$PORT|$FOO|$PATH"; echo "$HOME"; pwd -P`
	for _, tc := range []struct {
		name string
		spec func(s *task.Spec)
		want string
	}{
		{"defaults", func(s *task.Spec) { s.Port = 8080 }, "0123456789ab|8080||/usr/bin:/bin"},
		{"no port", func(*task.Spec) {}, "0123456789ab|||/usr/bin:/bin"},
		{"hostname", func(s *task.Spec) { s.Hostname = "web" }, "web|||/usr/bin:/bin"},
		{"service env", func(s *task.Spec) { s.Env = []string{"FOO=bar", "PATH=/bin"} }, "0123456789ab||bar|/bin"},
		{"runtime wins", func(s *task.Spec) {
			s.Port = 9000
			s.Env = []string{"HOSTNAME=x", "PORT=1"}
		}, "0123456789ab|9000||/usr/bin:/bin"},
		{"short task ID", func(s *task.Spec) { s.TaskID = "abc" }, "abc|||/usr/bin:/bin"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := sh(script)
			s.Image = "sh"
			tc.spec(&s)
			in := startTask(t, r, s)
			waitDone(t, in)
			var lines []string
			for _, l := range in.Logs(time.Time{}, 0) {
				lines = append(lines, l.Line)
			}
			taskDir := filepath.Join(realDir, filepath.Base(in.Dir()))
			want := []string{tc.want, in.Dir(), taskDir}
			if strings.Join(lines, "\n") != strings.Join(want, "\n") {
				t.Errorf("output = %q; want %q", lines, want)
			}
		})
	}
}

func TestStopIgnoringTERM(t *testing.T) {
	r := newRuntime(t, Config{})
	ready, wait := readyPipe(t)
	in := startTask(t, r, sh(`trap "" TERM; echo ready > "$READY"; sleep 60`, ready))
	wait()
	const grace = 200 * time.Millisecond
	begin := time.Now()
	if err := in.Stop(grace); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took < grace || took > waitFor {
		t.Errorf("Stop took %v; want grace %v and a little", took, grace)
	}
	code, err := in.ExitCode()
	var sig *SignalError
	if code != 137 || !errors.As(err, &sig) || sig.Signal != syscall.SIGKILL {
		t.Errorf("ExitCode = %d, %v; want 137, killed by SIGKILL", code, err)
	}
}

func TestStopTwiceAndAfterExit(t *testing.T) {
	r := newRuntime(t, Config{})
	in := startTask(t, r, task.Spec{TaskID: taskID, Image: "sleep", Args: []string{"60"}})
	var wg sync.WaitGroup
	for range 3 {
		wg.Go(func() {
			if err := in.Stop(waitFor); err != nil {
				t.Errorf("Stop: %v", err)
			}
		})
	}
	wg.Wait()
	code, err := in.ExitCode()
	var sig *SignalError
	if code != 143 || !errors.As(err, &sig) || sig.Signal != syscall.SIGTERM {
		t.Errorf("ExitCode = %d, %v; want 143, killed by SIGTERM", code, err)
	}

	exited := startTask(t, r, sh("exit 0"))
	waitDone(t, exited)
	if err := exited.Stop(time.Hour); err != nil {
		t.Errorf("Stop of an exited task: %v", err)
	}
}

func TestStartFails(t *testing.T) {
	plain := filepath.Join(t.TempDir(), "plain")
	if err := os.WriteFile(plain, []byte("#!/bin/sh\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	for _, tc := range []struct {
		name, image, want string
		notFound          bool
	}{
		{"unknown program", "no-such-program-xyz", `program "no-such-program-xyz" not found in PATH`, true},
		{"relative path", "./prog", "must be absolute", false},
		{"missing file", "/no/such/program", "no such file", false},
		{"directory", "/", "is a directory", false},
		{"not executable", plain, "permission denied", false},
		{"no image", "", "image is empty", false},
	} {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			r := newRuntime(t, Config{Dir: dir})
			in, err := r.Start(context.Background(), task.Spec{TaskID: taskID, Image: tc.image})
			if err == nil {
				_ = in.Stop(0)
				t.Fatalf("Start(%q) succeeded", tc.image)
			}
			if !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrNotFound) != tc.notFound {
				t.Errorf("Start(%q) = %v; want %q (ErrNotFound: %v)", tc.image, err, tc.want, tc.notFound)
			}
			if left, _ := os.ReadDir(dir); len(left) != 0 {
				t.Errorf("a failed start left %v", left)
			}
		})
	}
}

func TestLogRing(t *testing.T) {
	r := newRuntime(t, Config{LogLines: 5})
	in := startTask(t, r, sh(`i=0; while [ $i -lt 20 ]; do echo $i; i=$((i+1)); done`))
	waitDone(t, in)
	for _, tc := range []struct {
		tail int
		want string
	}{
		{0, "15 16 17 18 19"},
		{2, "18 19"},
		{9, "15 16 17 18 19"},
	} {
		var got []string
		for _, l := range in.Logs(time.Time{}, tc.tail) {
			got = append(got, l.Line)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("Logs(tail %d) = %q; want %s", tc.tail, got, tc.want)
		}
	}
}

func TestLongLineCut(t *testing.T) {
	r := newRuntime(t, Config{})
	in := startTask(t, r, sh(`head -c 40000 /dev/zero | tr '\0' x; echo; echo next`))
	waitDone(t, in)
	got := in.Logs(time.Time{}, 0)
	if len(got) != 2 || got[0].Line != strings.Repeat("x", MaxLineBytes) || got[1].Line != "next" {
		t.Errorf("got %d lines (first %d bytes); want %d x, then next", len(got), len(got[0].Line), MaxLineBytes)
	}
}

func TestRing(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	r := newRing(3)
	for i := range 5 {
		r.add(task.LogLine{Time: t0.Add(time.Duration(i) * time.Second), Stream: "stdout", Line: strconv.Itoa(i)})
	}
	for _, tc := range []struct {
		since time.Time
		tail  int
		want  string
	}{
		{time.Time{}, 0, "2 3 4"},
		{t0.Add(2 * time.Second), 0, "3 4"},
		{t0.Add(time.Second), 1, "4"},
		{t0.Add(4 * time.Second), 0, ""},
	} {
		var got []string
		for _, l := range r.lines(tc.since, tc.tail) {
			got = append(got, l.Line)
		}
		if strings.Join(got, " ") != tc.want {
			t.Errorf("lines(%v, %d) = %q; want %q", tc.since.Sub(t0), tc.tail, got, tc.want)
		}
	}
}

func TestExec(t *testing.T) {
	r := newRuntime(t, Config{})
	in := startTask(t, r, task.Spec{TaskID: taskID, Image: "sleep", Args: []string{"60"}, Port: 8080})
	for _, tc := range []struct {
		name    string
		cmd     []string
		timeout time.Duration
		code    int
		err     error
	}{
		{"exit code", []string{"sh", "-c", "exit 7"}, waitFor, 7, nil},
		{"task env and dir", []string{"sh", "-c", `[ "$HOSTNAME $PORT" = "0123456789ab 8080" ] && [ "$HOME" = "$(pwd)" ]`}, waitFor, 0, nil},
		{"killed by ctx", []string{"sleep", "60"}, 50 * time.Millisecond, -1, context.DeadlineExceeded},
		{"unknown program", []string{"no-such-program-xyz"}, waitFor, -1, ErrNotFound},
	} {
		t.Run(tc.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), tc.timeout)
			defer cancel()
			code, err := in.Exec(ctx, tc.cmd)
			if code != tc.code || !errors.Is(err, tc.err) {
				t.Errorf("Exec(%q) = %d, %v; want %d, %v", tc.cmd, code, err, tc.code, tc.err)
			}
		})
	}
	if err := in.Stop(waitFor); err != nil {
		t.Fatal(err)
	}
	if _, err := in.Exec(context.Background(), []string{"true"}); !errors.Is(err, ErrExited) {
		t.Errorf("Exec after exit: %v; want ErrExited", err)
	}
}

func TestFreePort(t *testing.T) {
	port, err := FreePort()
	if err != nil || port == 0 {
		t.Fatalf("FreePort() = %d, %v", port, err)
	}
	l, err := net.Listen("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(int(port))))
	if err != nil {
		t.Fatalf("listen on the free port: %v", err)
	}
	l.Close()
}

func TestTaskEnvKeepsLastValue(t *testing.T) {
	got := task.Env(task.Spec{TaskID: "0123456789abcdef", Env: []string{"A=1", "B=2", "A=3", "C", "B="}})
	if want := "A=3 B= C HOSTNAME=0123456789ab"; strings.Join(got, " ") != want {
		t.Errorf("task.Env = %q; want %s", got, want)
	}
}
