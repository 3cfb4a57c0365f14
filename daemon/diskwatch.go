package daemon

import (
	"fmt"
	"time"

	"golang.org/x/sys/unix"
)

// minFreeDisk is the space a manager's data directory must keep free: a
// Raft replica that cannot write its log panics in the middle of a write
// (dragonboat treats a failed log write as fatal), so swarmd stops cleanly
// before, with an error that says why.
const minFreeDisk = 16 << 20

// diskCheckEvery is how often the free space is looked at (a statfs).
const diskCheckEvery = 100 * time.Millisecond

// Fatal delivers, at most once, the error that makes this swarmd stop by
// itself (its data directory's disk is full, for a manager). Whoever reads
// it should end the process without Close, which would write to the disk.
func (d *Daemon) Fatal() <-chan error { return d.fatal }

// watchDisk stops a manager whose data directory's file system has less
// than minFreeDisk free: it reports on Fatal and returns when stop closes.
func (d *Daemon) watchDisk(stop <-chan struct{}) {
	t := time.NewTicker(diskCheckEvery)
	defer t.Stop()
	for {
		select {
		case <-stop:
			return
		case <-t.C:
		}
		free, err := freeBytes(d.cfg.DataDir)
		if err != nil || free >= minFreeDisk || !d.isManager() {
			continue
		}
		err = fmt.Errorf("the file system of the data directory %s has %s free, less than the %s a manager needs to write its Raft log: stopping before a write fails; free some space and start swarmd again",
			d.cfg.DataDir, mib(free), mib(minFreeDisk))
		d.log.Error("disk full", "data_dir", d.cfg.DataDir, "free_bytes", free)
		select {
		case d.fatal <- err:
		default:
		}
		return
	}
}

func (d *Daemon) isManager() bool {
	d.mu.RLock()
	defer d.mu.RUnlock()
	return d.id != nil && d.id.Manager
}

// freeBytes is the space an unprivileged writer may still use on the file
// system of dir.
func freeBytes(dir string) (uint64, error) {
	var st unix.Statfs_t
	if err := unix.Statfs(dir, &st); err != nil {
		return 0, err
	}
	return st.Bavail * uint64(st.Bsize), nil
}

func mib(n uint64) string { return fmt.Sprintf("%.1f MiB", float64(n)/(1<<20)) }
