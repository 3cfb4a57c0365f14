package bench

import (
	"errors"
	"fmt"
	"os"
	"strconv"

	"golang.org/x/sys/unix"
)

// pinProcess pins every thread of this process to one CPU, the first it
// may run on, and returns a function that gives every thread (those
// started meanwhile too, which inherit the pin) the CPUs the process had.
// A child started while pinned inherits the pin as well.
func pinProcess() (unpin func() error, err error) {
	var all unix.CPUSet
	if err := unix.SchedGetaffinity(os.Getpid(), &all); err != nil {
		return nil, fmt.Errorf("sched_getaffinity: %w", err)
	}
	cpu := -1
	for c := range cpuSetSize {
		if all.IsSet(c) {
			cpu = c
			break
		}
	}
	if cpu < 0 {
		return nil, errors.New("sched_getaffinity: no CPU in this process's set")
	}
	var one unix.CPUSet
	one.Set(cpu)
	unpin = func() error { return setThreadsAffinity(&all) }
	if err := setThreadsAffinity(&one); err != nil {
		return nil, errors.Join(err, unpin())
	}
	return unpin, nil
}

// cpuSetSize is the CPUs a unix.CPUSet holds (glibc's CPU_SETSIZE).
const cpuSetSize = 1024

// setThreadsAffinity sets the CPUs of every thread of this process, until
// a pass over /proc/self/task finds no thread it did not set (threads may
// start meanwhile). A thread that ended meanwhile is skipped.
func setThreadsAffinity(set *unix.CPUSet) error {
	done := map[int]bool{}
	for pass := 0; pass < 10; pass++ {
		ents, err := os.ReadDir("/proc/self/task")
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
				return fmt.Errorf("sched_setaffinity of thread %d: %w", tid, err)
			}
			done[tid] = true
		}
		if !fresh {
			return nil
		}
	}
	return errors.New("sched_setaffinity: threads kept starting")
}
