package bench

import (
	"context"
	"errors"
	"fmt"
	"maps"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// runDockerDiskFull is disk-full on Docker Swarm mode with its default
// settings: three engines in network namespaces, all managers, the third
// with its data root (Raft log and snapshots included) on a tmpfs of
// diskFullSize. Per repetition the tmpfs is filled, and the time is
// measured until a write (node update --label-add) through the first
// manager succeeds; then for diskFullWatch a service is scaled between 1
// and diskFullTasks through the full manager (each write committing or
// failing) and whether its engine stayed up is noted; then the space is
// freed (the engine started again if it stopped) and the time is measured
// until the three are reachable managers, every node Ready. Needs root.
func runDockerDiskFull(ctx context.Context, opts Options) (recs []Record, err error) {
	const (
		name    = "disk-full"
		service = "diskfull"
	)
	var mnt string
	d, err := startDockerManagersWith(ctx, opts, 3, func(d *dockerSwarm, e *dockerEngine) error {
		if e.name != fmt.Sprintf("asbdw%d", diskFullNode) {
			return nil
		}
		mnt = filepath.Join(e.dir, "root")
		umount, err := mountSmallDisk(ctx, mnt)
		if err != nil {
			return err
		}
		d.cleanups = append(d.cleanups, umount) // at close, once its engine is gone
		return nil
	})
	if err != nil {
		return nil, err // startDockerManagersWith tore it down
	}
	defer func() { err = errors.Join(err, d.close()) }()
	first, full := d.workers[0], d.workers[diskFullNode-1]
	version, _ := dockerCLI(ctx, first.host(), "version", "--format", "{{.Server.Version}}")
	params := map[string]string{
		"managers": "3 engines in network namespaces",
		"engine":   strings.TrimSpace(version),
		"settings": "Docker Swarm defaults",
		"full":     fmt.Sprintf("%s (a manager): its data root a tmpfs of %s, filled", full.name, diskFullSize),
		"write":    "node update --label-add through " + first.name,
	}
	started := time.Now()
	write := Record{Scenario: name + "/write", Target: TargetDockerSwarm, Parameters: params, Started: started, Unit: "ms"}
	recovered := Record{Scenario: name + "/recovered", Target: TargetDockerSwarm, Parameters: maps.Clone(params), Started: started, Unit: "ms"}
	watch := diskFullWatch
	if opts.Quick {
		watch = diskFullQuickWatch
	}
	if _, err := dockerCLI(ctx, first.host(), "service", "create", "-d", "--name", service, "--no-resolve-image", dockerImage); err != nil {
		return nil, err
	}
	filler := filepath.Join(mnt, "filler")
	for rep := 1; rep <= opts.Repeat; rep++ {
		if err := fillUp(filler); err != nil {
			return nil, err
		}
		filled := time.Now()
		label := "diskfull=" + strconv.Itoa(rep)
		err := Poll(ctx, dockerWait, "a write through "+first.name+" with "+full.name+"'s disk full", func(ctx context.Context) error {
			_, err := dockerCLI(ctx, first.host(), "node", "update", "--label-add", label, first.name)
			return err
		})
		if err != nil {
			return nil, err
		}
		tWrite := ms(time.Since(filled))
		okThrough, failedThrough := scaleThroughFull(ctx, filled.Add(watch), func(ctx context.Context, scale string) error {
			_, err := dockerCLI(ctx, full.host(), "service", "scale", "-d", service+"="+scale)
			return err
		})
		survived := true
		select {
		case <-full.exited:
			survived = false
		default:
		}
		tRecovered, err := freeAndRecover(filler, full.name, survived, func() error {
			full.cmd = nil
			return d.startEngine(ctx, full)
		}, func() error { return d.waitManagers(ctx, first.host()) })
		if err != nil {
			return nil, err
		}
		write.Samples = append(write.Samples, tWrite)
		recovered.Samples = append(recovered.Samples, tRecovered)
		state := "its dockerd stayed up"
		if !survived {
			state = "its dockerd stopped and was started again"
		}
		opts.progress(name, rep, "dockerswarm: %s full: a write through %s after %s ms; through %s %d writes succeeded, %d failed; %s; every manager reachable %s ms after the space was freed",
			full.name, first.name, FormatFigure(tWrite), full.name, okThrough, failedThrough, state, FormatFigure(tRecovered))
	}
	return []Record{write, recovered}, nil
}
