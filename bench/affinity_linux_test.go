package bench

import (
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestPinProcess pins the test binary: every thread, and a child started
// meanwhile, may run on one CPU only, the first of the process's; unpin
// gives every thread the process's CPUs back.
func TestPinProcess(t *testing.T) {
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(os.Getpid(), &all); err != nil {
		t.Fatal(err)
	}
	first := -1
	for c := range cpuSetSize {
		if all.IsSet(c) {
			first = c
			break
		}
	}
	unpin, err := pinProcess()
	if err != nil {
		t.Fatal(err)
	}
	pinned := threadSets(t)
	out, err := exec.Command("grep", "Cpus_allowed_list", "/proc/self/status").Output()
	if err != nil {
		unpin()
		t.Fatal(err)
	}
	if err := unpin(); err != nil {
		t.Fatal(err)
	}
	for tid, s := range pinned {
		if s.Count() != 1 || !s.IsSet(first) {
			t.Errorf("thread %d pinned: %d CPUs (CPU %d in: %v), want CPU %d alone", tid, s.Count(), first, s.IsSet(first), first)
		}
	}
	if got := strings.TrimSpace(strings.TrimPrefix(string(out), "Cpus_allowed_list:")); got != strconv.Itoa(first) {
		t.Errorf("child started while pinned may run on %q, want %d", got, first)
	}
	for tid, s := range threadSets(t) {
		if s != all {
			t.Errorf("thread %d unpinned: %d CPUs, want the process's %d", tid, s.Count(), all.Count())
		}
	}
}

// threadSets returns the CPUs of every thread of this process.
func threadSets(t *testing.T) map[int]unix.CPUSet {
	t.Helper()
	ents, err := os.ReadDir("/proc/self/task")
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
