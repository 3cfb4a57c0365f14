package docker

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strconv"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/client"
	"github.com/docker/docker/pkg/stdcopy"

	"github.com/actorswarm/swarm/actors/task"
)

// MaxLineBytes is where a longer output line is cut.
const MaxLineBytes = 16 << 10

// readLogs reads the last tail lines a container wrote with a timestamp
// after since, oldest first.
func readLogs(ctx context.Context, cli *client.Client, id string, since time.Time, tail int) ([]task.LogLine, error) {
	opts := container.LogsOptions{
		ShowStdout: true,
		ShowStderr: true,
		Timestamps: true,
		Tail:       strconv.Itoa(tail),
	}
	if since.Unix() > 0 {
		opts.Since = fmt.Sprintf("%d.%09d", since.Unix(), since.Nanosecond())
	}
	rc, err := cli.ContainerLogs(ctx, id, opts)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	return demuxLogs(rc, since, tail)
}

// demuxLogs splits a multiplexed log stream whose lines start with their
// timestamp into lines, merged by time (the engine sends each stream in
// order but not the two interleaved as written), and keeps the last tail
// (0: all) of those after since.
func demuxLogs(r io.Reader, since time.Time, tail int) ([]task.LogLine, error) {
	stdout := &lineSplitter{stream: "stdout"}
	stderr := &lineSplitter{stream: "stderr"}
	if _, err := stdcopy.StdCopy(stdout, stderr, r); err != nil {
		return nil, fmt.Errorf("read logs: %w", err)
	}
	stdout.flush()
	stderr.flush()
	lines := append(stdout.lines, stderr.lines...)
	slices.SortStableFunc(lines, func(a, b task.LogLine) int { return a.Time.Compare(b.Time) })
	return cut(lines, since, tail), nil
}

// cut keeps, of lines in time order, the last tail (0: all) of those
// after since.
func cut(lines []task.LogLine, since time.Time, tail int) []task.LogLine {
	if !since.IsZero() {
		i := slices.IndexFunc(lines, func(l task.LogLine) bool { return l.Time.After(since) })
		if i < 0 {
			return nil
		}
		lines = lines[i:]
	}
	if tail > 0 && len(lines) > tail {
		lines = lines[len(lines)-tail:]
	}
	return lines
}

// lineSplitter turns one output stream of "<RFC 3339 time> <text>\n"
// lines into LogLines. A line without a readable time gets the previous
// line's.
type lineSplitter struct {
	stream  string
	partial []byte
	last    time.Time
	lines   []task.LogLine
}

func (w *lineSplitter) Write(p []byte) (int, error) {
	n := len(p)
	for len(p) > 0 {
		i := bytes.IndexByte(p, '\n')
		if i < 0 {
			w.partial = append(w.partial, p...)
			break
		}
		if len(w.partial) > 0 {
			w.add(append(w.partial, p[:i]...))
			w.partial = w.partial[:0]
		} else {
			w.add(p[:i])
		}
		p = p[i+1:]
	}
	return n, nil
}

// flush adds a last line that had no newline.
func (w *lineSplitter) flush() {
	if len(w.partial) > 0 {
		w.add(w.partial)
		w.partial = nil
	}
}

func (w *lineSplitter) add(line []byte) {
	t := w.last
	if ts, text, ok := bytes.Cut(line, []byte{' '}); ok {
		if parsed, err := time.Parse(time.RFC3339Nano, string(ts)); err == nil {
			t, line = parsed, text
		}
	}
	if len(line) > MaxLineBytes {
		line = line[:MaxLineBytes]
	}
	w.last = t
	w.lines = append(w.lines, task.LogLine{Time: t, Stream: w.stream, Line: string(line)})
}
