package docker

import (
	"bytes"
	"io"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/docker/docker/pkg/stdcopy"

	"github.com/actorswarm/swarm/actors/task"
)

var t0 = time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)

// at is the time and its docker log prefix i milliseconds after t0.
func at(i int) (time.Time, string) {
	t := t0.Add(time.Duration(i) * time.Millisecond)
	return t, t.Format("2006-01-02T15:04:05.000000000Z07:00") + " "
}

// muxed is a log stream as the engine sends it: each write a frame.
func muxed(t *testing.T, frames ...[2]string) io.Reader {
	t.Helper()
	var buf bytes.Buffer
	out := stdcopy.NewStdWriter(&buf, stdcopy.Stdout)
	errw := stdcopy.NewStdWriter(&buf, stdcopy.Stderr)
	for _, f := range frames {
		w := out
		if f[0] == "stderr" {
			w = errw
		}
		if _, err := io.WriteString(w, f[1]); err != nil {
			t.Fatal(err)
		}
	}
	return &buf
}

func TestDemuxLogs(t *testing.T) {
	t1, p1 := at(1)
	t2, p2 := at(2)
	t3, p3 := at(3)
	t4, p4 := at(4)
	t5, p5 := at(5)
	long := strings.Repeat("x", MaxLineBytes+10)
	stream := func() io.Reader {
		return muxed(t,
			[2]string{"stdout", p1 + "one\n"},
			[2]string{"stdout", p3 + "three\n" + p4 + "fo"}, // a line split over frames
			[2]string{"stderr", p2 + "two\n"},
			[2]string{"stdout", "ur\n"},
			[2]string{"stderr", "no time: the last one's\n"},
			[2]string{"stderr", p5 + long}, // no final newline
		)
	}
	all := []task.LogLine{
		{Time: t1, Stream: "stdout", Line: "one"},
		{Time: t2, Stream: "stderr", Line: "two"},
		{Time: t2, Stream: "stderr", Line: "no time: the last one's"},
		{Time: t3, Stream: "stdout", Line: "three"},
		{Time: t4, Stream: "stdout", Line: "four"},
		{Time: t5, Stream: "stderr", Line: long[:MaxLineBytes]},
	}
	for _, tc := range []struct {
		name  string
		since time.Time
		tail  int
		want  []task.LogLine
	}{
		{"all", time.Time{}, 0, all},
		{"tail", time.Time{}, 2, all[4:]},
		{"since", t2, 0, all[3:]},
		{"since and tail", t1, 10, all[1:]},
		{"since the last", t5, 0, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, err := demuxLogs(stream(), tc.since, tc.tail)
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("demuxLogs(since %v, tail %d) =\n%+v\nwant\n%+v", tc.since, tc.tail, got, tc.want)
			}
		})
	}
}

func TestDemuxLogsBadStream(t *testing.T) {
	if _, err := demuxLogs(strings.NewReader("not a multiplexed stream at all"), time.Time{}, 0); err == nil {
		t.Error("demuxLogs of garbage: nil error")
	}
}
