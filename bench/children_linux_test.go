package bench

import (
	"os"
	"os/exec"
	"slices"
	"testing"
)

func TestParseProcStat(t *testing.T) {
	tests := []struct {
		line  string
		state string
		ppid  int
	}{
		{"4242 (sleep) S 4200 4242 4200 0 -1 4194560 98 0 0 0", "S", 4200},
		{"17 (a (b) c) Z 1 17 17 0 -1", "Z", 1},
	}
	for _, tt := range tests {
		state, ppid, err := parseProcStat(tt.line)
		if err != nil || state != tt.state || ppid != tt.ppid {
			t.Errorf("parseProcStat(%q) = %q, %d, %v; want %q, %d", tt.line, state, ppid, err, tt.state, tt.ppid)
		}
	}
	for _, bad := range []string{"4242 sleep S 4200", "4242 (sleep) S", "4242 (sleep) S x"} {
		if _, _, err := parseProcStat(bad); err == nil {
			t.Errorf("parseProcStat accepted %q", bad)
		}
	}
}

func TestChildPIDs(t *testing.T) {
	cmd := exec.Command("/bin/sleep", "3600")
	if err := cmd.Start(); err != nil {
		t.Skipf("no /bin/sleep to start: %v", err)
	}
	pid := cmd.Process.Pid
	got, err := childPIDs([]int{os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Contains(got, pid) {
		t.Errorf("childPIDs(this process) = %v, want it to hold %d", got, pid)
	}
	if err := cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	_ = cmd.Wait() // killed: the error says so
	got, err = childPIDs([]int{os.Getpid()})
	if err != nil {
		t.Fatal(err)
	}
	if slices.Contains(got, pid) {
		t.Errorf("childPIDs(this process) = %v, still holds %d once it was reaped", got, pid)
	}
	if got, err := childPIDs(nil); err != nil || len(got) != 0 {
		t.Errorf("childPIDs(nil) = %v, %v; want none", got, err)
	}
}
