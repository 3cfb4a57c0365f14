package bench

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pinProcess pins every thread of this process and of the processes pids
// to one CPU, the first this process may run on, and returns a function
// that gives every thread (those started meanwhile too, which inherit the
// pin) the CPUs its process had. A child started while pinned inherits the
// pin as well.
func pinProcess(pids ...int) (unpin func() error, err error) {
	self := os.Getpid()
	procs := append([]int{self}, pids...)
	had := make(map[int]unix.CPUSet, len(procs))
	for _, pid := range procs {
		var set unix.CPUSet
		if err := unix.SchedGetaffinity(pid, &set); err != nil {
			return nil, fmt.Errorf("sched_getaffinity of process %d: %w", pid, err)
		}
		had[pid] = set
	}
	cpu := -1
	mine := had[self]
	for c := range cpuSetSize {
		if mine.IsSet(c) {
			cpu = c
			break
		}
	}
	if cpu < 0 {
		return nil, errors.New("sched_getaffinity: no CPU in this process's set")
	}
	unpin = func() error {
		var errs []error
		for pid, set := range had {
			errs = append(errs, setThreadsAffinity(pid, &set))
		}
		return errors.Join(errs...)
	}
	var one unix.CPUSet
	one.Set(cpu)
	for _, pid := range procs {
		if err := setThreadsAffinity(pid, &one); err != nil {
			return nil, errors.Join(err, unpin())
		}
	}
	return unpin, nil
}

// cpuSetSize is the CPUs a unix.CPUSet holds (glibc's CPU_SETSIZE).
const cpuSetSize = 1024

// setThreadsAffinity sets the CPUs of every thread of process pid, until a
// pass over /proc/PID/task finds no thread it did not set (threads may
// start meanwhile). A thread or process that ended meanwhile is skipped.
func setThreadsAffinity(pid int, set *unix.CPUSet) error {
	done := map[int]bool{}
	for pass := 0; pass < 10; pass++ {
		ents, err := os.ReadDir("/proc/" + strconv.Itoa(pid) + "/task")
		if errors.Is(err, fs.ErrNotExist) {
			return nil
		}
		if err != nil {
			return err
		}
		fresh := false
		for _, e := range ents {
			tid, err := strconv.Atoi(e.Name())
			if err != nil || done[tid] {
				continue
			}
			fresh = true
			if err := unix.SchedSetaffinity(tid, set); err != nil && !errors.Is(err, unix.ESRCH) {
				return fmt.Errorf("sched_setaffinity of thread %d of process %d: %w", tid, pid, err)
			}
			done[tid] = true
		}
		if !fresh {
			return nil
		}
	}
	return fmt.Errorf("sched_setaffinity: threads of process %d kept starting", pid)
}
