package bench

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPinProcess pins the test binary and a sleep started before: every
// thread of both, and a child started meanwhile, may run on one CPU only,
// the first of the test binary's; unpin gives every thread its process's
// CPUs back.
func TestPinProcess(t *testing.T) {
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(os.Getpid(), &all); err != nil {
		t.Fatal(err)
	}
	other := exec.Command("sleep", "30")
	if err := other.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { other.Process.Kill(); other.Wait() })
	var otherHad unix.CPUSet
	if err := unix.SchedGetaffinity(other.Process.Pid, &otherHad); err != nil {
		t.Fatal(err)
	}
	first := -1
	for c := range cpuSetSize {
		if all.IsSet(c) {
			first = c
			break
		}
	}
	unpin, err := pinProcess(other.Process.Pid)
	if err != nil {
		t.Fatal(err)
	}
	pinned := threadSets(t, os.Getpid())
	otherPinned := threadSets(t, other.Process.Pid)
	out, err := exec.Command("grep", "Cpus_allowed_list", "/proc/self/status").Output()
	if err != nil {
		unpin()
		t.Fatal(err)
	}
	if err := unpin(); err != nil {
		t.Fatal(err)
	}
	for _, sets := range []map[int]unix.CPUSet{pinned, otherPinned} {
		for tid, s := range sets {
			if s.Count() != 1 || !s.IsSet(first) {
				t.Errorf("thread %d pinned: %d CPUs (CPU %d in: %v), want CPU %d alone", tid, s.Count(), first, s.IsSet(first), first)
			}
		}
	}
	if got := strings.TrimSpace(strings.TrimPrefix(string(out), "Cpus_allowed_list:")); got != strconv.Itoa(first) {
		t.Errorf("child started while pinned may run on %q, want %d", got, first)
	}
	for tid, s := range threadSets(t, os.Getpid()) {
		if s != all {
			t.Errorf("thread %d unpinned: %d CPUs, want the process's %d", tid, s.Count(), all.Count())
		}
	}
	for tid, s := range threadSets(t, other.Process.Pid) {
		if s != otherHad {
			t.Errorf("thread %d of the sleep unpinned: %d CPUs, want its %d", tid, s.Count(), otherHad.Count())
		}
	}
}

// threadSets returns the CPUs of every thread of process pid.
func threadSets(t *testing.T, pid int) map[int]unix.CPUSet {
	t.Helper()
	ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
	if err != nil {
		t.Fatal(err)
	}
	sets := map[int]unix.CPUSet{}
	for _, e := range ents {
		tid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		var s unix.CPUSet
		if err := unix.SchedGetaffinity(tid, &s); err != nil {
			continue // ended meanwhile
		}
		sets[tid] = s
	}
	if len(sets) == 0 {
		t.Fatal("no thread found in /proc/self/task")
	}
	return sets
}
