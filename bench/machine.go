package bench

import (
	"context"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"time"
)

// Machine describes where a record was measured.
type Machine struct {
	CPUs      int    `json:"cpus"`
	GoVersion string `json:"go_version"`
	// Kernel is `uname -sr` ("Linux 6.8.0"), or "unknown".
	Kernel   string `json:"kernel"`
	Hostname string `json:"hostname"`
}

// unknown stands for what could not be found out.
const unknown = "unknown"

// probeTimeout bounds each external command run to describe the machine.
const probeTimeout = 5 * time.Second

// ThisMachine describes the machine it runs on.
func ThisMachine(ctx context.Context) Machine {
	host, err := os.Hostname()
	if err != nil || host == "" {
		host = unknown
	}
	return Machine{
		CPUs:      runtime.NumCPU(),
		GoVersion: runtime.Version(),
		Kernel:    firstLineOf(ctx, "uname", "-sr"),
		Hostname:  host,
	}
}

// GitRevision returns `git rev-parse --short HEAD` in the working
// directory, or "unknown" outside a repository or without git.
func GitRevision(ctx context.Context) string {
	return firstLineOf(ctx, "git", "rev-parse", "--short", "HEAD")
}

// firstLineOf runs name with args and returns the first line it printed,
// or "unknown" when it failed or printed nothing.
func firstLineOf(ctx context.Context, name string, args ...string) string {
	ctx, cancel := context.WithTimeout(ctx, probeTimeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, name, args...).Output()
	line, _, _ := strings.Cut(strings.TrimSpace(string(out)), "\n")
	if err != nil || line == "" {
		return unknown
	}
	return line
}
