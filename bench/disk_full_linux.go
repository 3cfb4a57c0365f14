package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// disk-full: one manager's data directory is a small tmpfs of its own,
// filled up while the swarm runs.
const (
	diskFullSize = "64m"
	// diskFullNode is the manager whose disk fills: not the first, which
	// inits the swarm.
	diskFullNode = 3
	// diskFullWatch is how long the full manager is watched (and written
	// through) before its space is freed.
	diskFullWatch      = 10 * time.Second
	diskFullQuickWatch = 4 * time.Second
	// diskFullTasks is how many tasks the service is scaled to and back
	// from while the disk is full.
	diskFullTasks = 200
)

// runDiskFull fills the data directory of one of three managers (a tmpfs
// of diskFullSize) and measures the time until a write through another
// manager succeeds, writes through the full manager for diskFullWatch
// (scaling a service up and down), notes whether its swarmd stayed up,
// then frees the space (starting the swarmd again if it stopped) and
// measures the time until every node is Ready and every manager reachable
// again. Needs root (mount).
func runDiskFull(ctx context.Context, opts Options) (recs []Record, err error) {
	const name = "disk-full"
	if os.Geteuid() != 0 {
		return nil, errors.New("needs root: it mounts a tmpfs as a manager's data directory")
	}
	var mnt string
	s, err := startSwarmWith(ctx, opts, false, func(lb *Loopback) error {
		mnt = lb.Node(diskFullNode).DataDir
		umount, err := mountSmallDisk(ctx, mnt)
		if err != nil {
			return err
		}
		lb.OnClose(umount)
		return nil
	})
	if err != nil {
		return nil, err // startSwarmWith tore it down
	}
	defer func() { err = errors.Join(err, s.close(opts, err)) }()

	full := s.Node(diskFullNode).Hostname
	params := s.parameters()
	params["full"] = fmt.Sprintf("%s (a manager): its data directory a tmpfs of %s, filled", full, diskFullSize)
	params["write"] = "node update --label-add through " + s.Node(s.managers[0]).Hostname
	started := time.Now()
	write := Record{Scenario: name + "/write", Parameters: params, Started: started, Unit: "ms"}
	recovered := Record{Scenario: name + "/recovered", Parameters: maps.Clone(params), Started: started, Unit: "ms"}
	filler := filepath.Join(mnt, "filler")
	self := s.Node(s.managers[0]).Hostname
	const service = "diskfull"
	watch := diskFullWatch
	if opts.Quick {
		watch = diskFullQuickWatch
	}
	if err := s.createService(ctx, s.managers[0], service, 1); err != nil {
		return nil, err
	}
	for run := 1; run <= opts.Repeat; run++ {
		if err := fillUp(filler); err != nil {
			return nil, err
		}
		filled := time.Now()
		label := "diskfull=" + strconv.Itoa(run)
		err := Poll(ctx, settleTimeout, "a write through "+self+" with "+full+"'s disk full", func(ctx context.Context) error {
			_, err := s.Ctl(ctx, s.managers[0], "node", "update", "--label-add", label, self)
			return err
		})
		if err != nil {
			return nil, err
		}
		tWrite := ms(time.Since(filled))
		// Writes through the full manager, each either commits or fails,
		// none may hang: the service is scaled up and down, which makes
		// entries of tasks and their reports, more than the log's
		// preallocated space holds.
		okThrough, failedThrough := scaleThroughFull(ctx, filled.Add(watch), func(ctx context.Context, scale string) error {
			_, err := s.Ctl(ctx, diskFullNode, "service", "scale", "-d", service+"="+scale)
			return err
		})
		survived := s.Running(diskFullNode)
		logPath := s.Node(diskFullNode).LogPath
		stoppedClean := countInFile(logPath, `msg="disk full"`)
		panics := countInFile(logPath, "panic:")

		tRecovered, err := freeAndRecover(filler, full, survived, func() error { return s.Start(ctx, diskFullNode) },
			func() error { return s.waitHealthy(ctx, s.managers[0]) })
		if err != nil {
			return nil, err
		}
		write.Samples = append(write.Samples, tWrite)
		recovered.Samples = append(recovered.Samples, tRecovered)
		state := "its swarmd stayed up"
		if !survived {
			state = fmt.Sprintf("its swarmd stopped (log so far: %d disk-full stops, %d panics) and was started again", stoppedClean, panics)
		}
		opts.progress(name, run, "%s full: a write through %s after %s ms; through %s %d writes succeeded, %d failed; %s; every node Ready %s ms after the space was freed",
			full, self, FormatFigure(tWrite), full, okThrough, failedThrough, state, FormatFigure(tRecovered))
	}
	return []Record{write, recovered}, nil
}

// freeAndRecover frees a full manager's disk (removes filler), starts the
// manager again with restart when it stopped, waits until the swarm is
// whole again and returns how long that took from the space being freed,
// in ms.
func freeAndRecover(filler, full string, survived bool, restart, whole func() error) (float64, error) {
	if err := os.Remove(filler); err != nil {
		return 0, err
	}
	freed := time.Now()
	if !survived {
		if err := restart(); err != nil {
			return 0, fmt.Errorf("%s after its disk was freed: %w", full, err)
		}
	}
	if err := whole(); err != nil {
		return 0, err
	}
	return ms(time.Since(freed)), nil
}

// scaleThroughFull scales the disk-full service between 1 and
// diskFullTasks through the full manager with scale (each write bounded
// to 2 s: it must commit or fail, not hang), 100 ms apart, until until;
// it returns how many writes succeeded and failed.
func scaleThroughFull(ctx context.Context, until time.Time, scale func(ctx context.Context, replicas string) error) (ok, failed int) {
	for i := 0; time.Now().Before(until); i++ {
		wctx, cancel := context.WithTimeout(ctx, 2*time.Second)
		err := scale(wctx, strconv.Itoa(1+(i%2)*diskFullTasks))
		cancel()
		if err != nil {
			failed++
		} else {
			ok++
		}
		time.Sleep(100 * time.Millisecond)
	}
	return ok, failed
}

// mountSmallDisk mounts a tmpfs of diskFullSize on dir (made if need be)
// and returns what unmounts it.
func mountSmallDisk(ctx context.Context, dir string) (umount func() error, err error) {
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, err
	}
	if out, err := exec.CommandContext(ctx, "mount", "-t", "tmpfs", "-o", "size="+diskFullSize+",mode=0700", "tmpfs", dir).CombinedOutput(); err != nil {
		return nil, fmt.Errorf("mount a tmpfs on %s: %w: %s", dir, err, out)
	}
	return func() error {
		if out, err := exec.Command("umount", dir).CombinedOutput(); err != nil {
			return fmt.Errorf("umount %s: %w: %s", dir, err, out)
		}
		return nil
	}, nil
}

// countInFile counts the lines of path that hold s (0 if it cannot be read).
func countInFile(path, s string) int {
	b, err := os.ReadFile(path)
	if err != nil {
		return 0
	}
	return strings.Count(string(b), s)
}

// fillUp writes zeros to path until the file system is full.
func fillUp(path string) error {
	f, err := os.Create(path)
	if err != nil {
		if errors.Is(err, syscall.ENOSPC) {
			return nil
		}
		return err
	}
	defer f.Close()
	buf := make([]byte, 1<<20)
	for {
		if _, err := f.Write(buf); err != nil {
			if errors.Is(err, syscall.ENOSPC) {
				return nil
			}
			return fmt.Errorf("fill %s: %w", path, err)
		}
	}
}
