package process

import (
	"bufio"
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
	"unsafe"

	"github.com/actorswarm/swarm/actors/task"
)

// waitGone waits, through a pidfd, for process pid (not our child) to
// exit.
func waitGone(t *testing.T, pid int) {
	t.Helper()
	const sysPidfdOpen = 434
	fd, _, errno := syscall.Syscall(sysPidfdOpen, uintptr(pid), 0, 0)
	switch {
	case errno == syscall.ESRCH:
		return
	case errno != 0:
		t.Fatalf("pidfd_open(%d): %v", pid, errno)
	}
	defer syscall.Close(int(fd))
	tv := syscall.NsecToTimeval(waitFor.Nanoseconds())
	for {
		var set syscall.FdSet
		bits := int(unsafe.Sizeof(set.Bits[0])) * 8
		set.Bits[int(fd)/bits] |= 1 << (int(fd) % bits)
		n, err := syscall.Select(int(fd)+1, &set, nil, nil, &tv) // tv: what is left
		switch {
		case errors.Is(err, syscall.EINTR):
			continue
		case err != nil:
			t.Fatalf("select on pidfd: %v", err)
		case n == 0:
			t.Fatalf("process %d still runs after %v", pid, waitFor)
		}
		return
	}
}

// dead tells kill(pid, 0) failing from a zombie nobody reaps (PID 1 of a
// container may not).
func dead(pid int) bool {
	if err := syscall.Kill(pid, 0); errors.Is(err, syscall.ESRCH) {
		return true
	}
	stat, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		return true
	}
	i := bytes.LastIndexByte(stat, ')')
	return i >= 0 && i+2 < len(stat) && (stat[i+2] == 'Z' || stat[i+2] == 'X')
}

func TestStopKillsGroup(t *testing.T) {
	r := newRuntime(t, Config{})
	ready, wait := readyPipe(t)
	in := startTask(t, r, sh(`sleep 60 & echo $! > "$READY"; wait`, ready))
	child, err := strconv.Atoi(wait())
	if err != nil {
		t.Fatal(err)
	}
	begin := time.Now()
	if err := in.Stop(waitFor); err != nil {
		t.Fatal(err)
	}
	if took := time.Since(begin); took > waitFor/2 {
		t.Errorf("Stop took %v", took)
	}
	waitGone(t, child)
	if !dead(child) {
		t.Errorf("the task's child %d survived Stop", child)
	}
	if _, err := os.Stat(in.Dir()); !os.IsNotExist(err) {
		t.Errorf("task directory %s after Stop: %v", in.Dir(), err)
	}
}

func TestExitKillsGroup(t *testing.T) {
	r := newRuntime(t, Config{})
	in := startTask(t, r, sh(`sleep 60 & echo $!`))
	waitDone(t, in)
	lines := in.Logs(time.Time{}, 0)
	if len(lines) != 1 {
		t.Fatalf("logs = %v", lines)
	}
	child, err := strconv.Atoi(lines[0].Line)
	if err != nil {
		t.Fatal(err)
	}
	waitGone(t, child)
	if code, err := in.ExitCode(); code != 0 || err != nil {
		t.Errorf("ExitCode = %d, %v", code, err)
	}
}

// TestHelperSwarmd is a swarmd for TestKilledWithNode: it starts a task
// and prints its pid, then waits to be killed.
func TestHelperSwarmd(t *testing.T) {
	dir := os.Getenv("PROCESS_TEST_SWARMD_DIR")
	if dir == "" {
		t.Skip("run by TestKilledWithNode")
	}
	in, err := New(Config{Dir: dir}).Start(context.Background(), task.Spec{TaskID: taskID, Image: "sleep", Args: []string{"60"}})
	if err != nil {
		fmt.Println(err)
		os.Exit(1)
	}
	fmt.Println(in.ID())
	_, _ = bufio.NewReader(os.Stdin).ReadString('\n')
}

func TestKilledWithNode(t *testing.T) {
	out, w, err := os.Pipe()
	if err != nil {
		t.Fatal(err)
	}
	defer out.Close()
	swarmd := exec.Command(os.Args[0], "-test.run=^TestHelperSwarmd$")
	swarmd.Env = append(os.Environ(), "PROCESS_TEST_SWARMD_DIR="+t.TempDir())
	swarmd.Stdout = w
	stdin, err := swarmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	defer stdin.Close()
	if err := swarmd.Start(); err != nil {
		t.Fatal(err)
	}
	w.Close()
	if err := out.SetReadDeadline(time.Now().Add(waitFor)); err != nil {
		t.Fatal(err)
	}
	line, err := bufio.NewReader(out).ReadString('\n')
	pid, perr := strconv.Atoi(strings.TrimSpace(line))
	if err != nil || perr != nil {
		_ = swarmd.Process.Kill()
		_ = swarmd.Wait()
		t.Fatalf("helper swarmd said %q: %v", line, err)
	}
	if err := swarmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = swarmd.Wait()
	waitGone(t, pid)
	if !dead(pid) {
		t.Errorf("task %d survived its swarmd", pid)
	}
}
