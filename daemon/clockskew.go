package daemon

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"strings"
	"time"

	"github.com/actorswarm/swarm/internal/clock"
)

// clockSkewEvery is how often the clock skew file is read.
const clockSkewEvery = 100 * time.Millisecond

// maxClockSkew bounds the skew a file may ask for: a year either way.
const maxClockSkew = 366 * 24 * time.Hour

// readClockSkew returns the skew the file at path asks for: a duration
// such as "-1h" or "90s"; a missing or empty file asks for none.
func readClockSkew(path string) (time.Duration, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return 0, nil
	}
	if err != nil {
		return 0, err
	}
	text := strings.TrimSpace(string(b))
	if text == "" {
		return 0, nil
	}
	d, err := time.ParseDuration(text)
	if err != nil {
		return 0, fmt.Errorf("clock skew file %s: %q is not a duration such as -1h or 90s", path, text)
	}
	if d < -maxClockSkew || d > maxClockSkew {
		return 0, fmt.Errorf("clock skew file %s: %s is more than a year", path, d)
	}
	return d, nil
}

// watchClockSkew sets the process's clock skew from the file named by
// ClockSkewFile whenever it changes, until stop closes. It is a benchmark's
// way to make this daemon's wall clock jump (clock.SetSkew): what this
// daemon stamps and compares with dates moves, durations do not. A file it
// cannot use is logged once and the skew left as it was.
func (d *Daemon) watchClockSkew(stop <-chan struct{}) {
	t := time.NewTicker(clockSkewEvery)
	defer t.Stop()
	var lastErr string
	for {
		skew, err := readClockSkew(d.cfg.ClockSkewFile)
		switch {
		case err != nil && err.Error() != lastErr:
			d.log.Error("clock skew not changed", "err", err)
			lastErr = err.Error()
		case err == nil && skew != clock.Skew():
			clock.SetSkew(skew)
			lastErr = ""
			d.log.Warn("wall clock skewed (testing)", "skew", skew, "file", d.cfg.ClockSkewFile)
		}
		select {
		case <-stop:
			return
		case <-t.C:
		}
	}
}
