package bench

import (
	"fmt"
	"os"
	"slices"
	"strconv"
	"strings"
)

// childPIDs returns the processes, zombies aside, whose parent is one of
// parents, as /proc shows them. A process that ends while /proc is read
// is left out.
func childPIDs(parents []int) ([]int, error) {
	if len(parents) == 0 {
		return nil, nil
	}
	entries, err := os.ReadDir("/proc")
	if err != nil {
		return nil, fmt.Errorf("list processes: %w", err)
	}
	var children []int
	for _, e := range entries {
		pid, err := strconv.Atoi(e.Name())
		if err != nil {
			continue
		}
		stat, err := os.ReadFile("/proc/" + e.Name() + "/stat")
		if err != nil {
			continue // gone already
		}
		state, ppid, err := parseProcStat(string(stat))
		if err != nil {
			return nil, fmt.Errorf("process %d: %w", pid, err)
		}
		if state != "Z" && slices.Contains(parents, ppid) {
			children = append(children, pid)
		}
	}
	return children, nil
}

// parseProcStat returns the state and the parent of a process from its
// /proc/PID/stat line, "PID (COMM) STATE PPID ...", where COMM may hold
// spaces and parentheses of its own.
func parseProcStat(line string) (state string, ppid int, err error) {
	i := strings.LastIndexByte(line, ')')
	if i < 0 {
		return "", 0, fmt.Errorf("stat %q: no command name", line)
	}
	f := strings.Fields(line[i+1:])
	if len(f) < 2 {
		return "", 0, fmt.Errorf("stat %q: no state and parent", line)
	}
	ppid, err = strconv.Atoi(f[1])
	if err != nil {
		return "", 0, fmt.Errorf("stat %q: parent: %w", line, err)
	}
	return f[0], ppid, nil
}
