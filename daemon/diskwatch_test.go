package daemon

import (
	"io"
	"log/slog"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"
)

// TestWatchDiskStopsAFullManager: on a data directory whose file system
// has less than minFreeDisk free, a manager's swarmd is told to stop with
// an error that says so, and a worker's is not.
func TestWatchDiskStopsAFullManager(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("mounts a small tmpfs: needs root")
	}
	dir := t.TempDir()
	if out, err := exec.Command("mount", "-t", "tmpfs", "-o", "size=4m", "tmpfs", dir).CombinedOutput(); err != nil {
		t.Skipf("mount tmpfs: %v: %s", err, out)
	}
	t.Cleanup(func() { _ = exec.Command("umount", dir).Run() })

	for _, manager := range []bool{true, false} {
		d := &Daemon{cfg: Config{DataDir: dir}, log: slog.New(slog.NewTextHandler(io.Discard, nil)),
			id: &identity{Manager: manager}, fatal: make(chan error, 1)}
		stop := make(chan struct{})
		go d.watchDisk(stop)
		select {
		case err := <-d.Fatal():
			if !manager {
				t.Errorf("a worker was stopped: %v", err)
			} else if !strings.Contains(err.Error(), dir) || !strings.Contains(err.Error(), "free some space") {
				t.Errorf("error %q does not name the directory and the way out", err)
			}
		case <-time.After(3 * diskCheckEvery):
			if manager {
				t.Error("a manager on a 4 MiB file system was not stopped")
			}
		}
		close(stop)
	}
}
