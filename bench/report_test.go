package bench

import (
	"bytes"
	"flag"
	"math"
	"os"
	"path/filepath"
	"reflect"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/ with the current output")

// golden compares got with testdata/name, or rewrites the file with -update.
func golden(t *testing.T, name string, got []byte) {
	t.Helper()
	path := filepath.Join("testdata", name)
	if *update {
		if err := os.WriteFile(path, got, 0o644); err != nil {
			t.Fatalf("update golden file: %v", err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("golden file: %v (run go test ./bench -run %s -update to create it)", err, t.Name())
	}
	if !bytes.Equal(got, want) {
		t.Errorf("output differs from %s (run with -update to accept it after review)\n--- got ---\n%s\n--- want ---\n%s", path, got, want)
	}
}

// fixtureRecords are records as a run would produce them, with fixed times
// and figures.
func fixtureRecords() []Record {
	m := Machine{CPUs: 2, GoVersion: "go1.26.0", Kernel: "Linux 6.8.0", Hostname: "bench-host"}
	started := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	recs := []Record{
		{
			Scenario:   "raft-propose/latency",
			Parameters: map[string]string{"replicas": "3", "commands": "5", "proposers": "1"},
			Started:    started,
			Unit:       "ms",
			Samples:    []float64{1.25, 0.875, 3.5, 1.0625, 0.9375},
		},
		{
			Scenario:   "raft-propose/64-proposers",
			Parameters: map[string]string{"replicas": "3", "commands": "2000", "proposers": "64"},
			Started:    started.Add(2 * time.Second),
			Unit:       "commands/s",
			Samples:    []float64{10234.5, 9876.25, 11002},
		},
		{
			Scenario:   "leader-crash",
			Parameters: map[string]string{"managers": "3", "workers": "2", "heartbeat": "100ms"},
			Started:    started.Add(time.Minute),
			Unit:       "ms",
			Samples:    []float64{1029, 812.5, 1544.25},
		},
		{
			Scenario: "empty-parameters",
			Started:  started.Add(2 * time.Minute),
			Unit:     "ms",
			Samples:  []float64{0.0123, 42},
		},
		{
			Scenario:   "leader-crash",
			Target:     TargetDockerSwarm,
			Parameters: map[string]string{"managers": "3", "engine": "20.10.24"},
			Started:    started.Add(3 * time.Minute),
			Unit:       "ms",
			Samples:    []float64{10250, 12125.5},
		},
		{
			Scenario: "raft-propose",
			Target:   TargetDockerSwarm,
			Started:  started.Add(4 * time.Minute),
			Unit:     "-",
			NotRun:   "cannot be driven on its own",
		},
	}
	for i := range recs {
		recs[i].Stamp(TargetActorSwarm, m, "abc1234")
	}
	return recs
}

func TestWriteJSONGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteJSON(&b, fixtureRecords()); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	golden(t, "results.json.golden", b.Bytes())
}

func TestWriteMarkdownGolden(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, fixtureRecords()); err != nil {
		t.Fatalf("WriteMarkdown: %v", err)
	}
	golden(t, "results.md.golden", b.Bytes())
}

// TestWriteMarkdownAlignsRunes: a unit of two-byte runes (µs) is padded
// like any other, so every line of the table is as wide.
func TestWriteMarkdownAlignsRunes(t *testing.T) {
	started := time.Date(2026, 11, 29, 4, 0, 0, 0, time.UTC)
	recs := []Record{
		{Scenario: "a", Started: started, Unit: "µs", Samples: []float64{12.5}},
		{Scenario: "b", Started: started, Unit: "packets/s/core", Samples: []float64{650000}},
	}
	for i := range recs {
		recs[i].Stamp(TargetActorSwarm, Machine{CPUs: 2}, "abc1234")
	}
	var b bytes.Buffer
	if err := WriteMarkdown(&b, recs); err != nil {
		t.Fatal(err)
	}
	var widths []int
	for _, l := range strings.Split(b.String(), "\n") {
		if strings.HasPrefix(l, "|") {
			widths = append(widths, utf8.RuneCountInString(l))
		}
	}
	if len(widths) != 4 || slices.Min(widths) != slices.Max(widths) {
		t.Errorf("table lines of %v runes, want 4 of one width:\n%s", widths, b.String())
	}
}

func TestWriteMarkdownNoRecords(t *testing.T) {
	var b bytes.Buffer
	if err := WriteMarkdown(&b, nil); err != nil {
		t.Fatalf("WriteMarkdown: %v", err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[0], "| scenario ") {
		t.Errorf("WriteMarkdown(no records) = %q, want the header and the rule only", b.String())
	}
}

func TestJSONRoundTrip(t *testing.T) {
	want := fixtureRecords()
	var b bytes.Buffer
	if err := WriteJSON(&b, want); err != nil {
		t.Fatalf("WriteJSON: %v", err)
	}
	if n := strings.Count(b.String(), "\n"); n != len(want) {
		t.Errorf("WriteJSON wrote %d lines for %d records", n, len(want))
	}
	got, err := ReadJSON(&b)
	if err != nil {
		t.Fatalf("ReadJSON: %v", err)
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("ReadJSON(WriteJSON(recs)) =\n%+v\nwant\n%+v", got, want)
	}
}

func TestReadJSONRejects(t *testing.T) {
	tests := []struct{ name, in string }{
		{"not JSON", "scenario: x\n"},
		{"unknown field", `{"scenario":"x","speed":"fast"}` + "\n"},
		{"truncated", `{"scenario":"x",`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if _, err := ReadJSON(strings.NewReader(tt.in)); err == nil {
				t.Errorf("ReadJSON(%q) succeeded", tt.in)
			}
		})
	}
}

func TestWriteReports(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	recs := fixtureRecords()
	if err := WriteReports(dir, recs); err != nil {
		t.Fatalf("WriteReports: %v", err)
	}
	for name, write := range map[string]func(*bytes.Buffer) error{
		JSONFile:     func(b *bytes.Buffer) error { return WriteJSON(b, recs) },
		MarkdownFile: func(b *bytes.Buffer) error { return WriteMarkdown(b, recs) },
	} {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Fatalf("report %s: %v", name, err)
		}
		var want bytes.Buffer
		if err := write(&want); err != nil {
			t.Fatal(err)
		}
		if !bytes.Equal(got, want.Bytes()) {
			t.Errorf("%s =\n%s\nwant\n%s", name, got, want.Bytes())
		}
	}
}

func TestRecordCheck(t *testing.T) {
	tests := []struct {
		name    string
		edit    func(*Record)
		wantErr string
	}{
		{"well-formed", func(*Record) {}, ""},
		{"no samples", func(r *Record) { r.Samples = nil; r.Summary = Summary{} }, "no samples"},
		{"NaN sample", func(r *Record) { r.Samples[1] = math.NaN() }, "sample 1 is NaN"},
		{"stale summary", func(r *Record) { r.Samples[0] = 1e6 }, "does not match the samples"},
		{"no unit", func(r *Record) { r.Unit = "" }, "no unit"},
		{"not stamped", func(r *Record) { r.Target, r.GitRevision = "", "" }, "no target"},
		{"no start", func(r *Record) { r.Started = time.Time{} }, "no start time"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := fixtureRecords()[0]
			tt.edit(&r)
			err := r.Check()
			switch {
			case tt.wantErr == "" && err != nil:
				t.Errorf("Check() = %v, want nil", err)
			case tt.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tt.wantErr)):
				t.Errorf("Check() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestFormatFigure(t *testing.T) {
	tests := []struct {
		v    float64
		want string
	}{
		{0, "0"},
		{0.0123456, "0.0123"},
		{1.23456, "1.23"},
		{42, "42"},
		{81.25, "81.2"},
		{99.96, "100"},
		{812.5, "813"},
		{10234.5, "10235"},
		{-3.14159, "-3.14"},
	}
	for _, tt := range tests {
		if got := FormatFigure(tt.v); got != tt.want {
			t.Errorf("FormatFigure(%v) = %q, want %q", tt.v, got, tt.want)
		}
	}
}

// TestTimelineOfMedian: a record keeps the timeline of the repetition
// whose sample is the median.
func TestTimelineOfMedian(t *testing.T) {
	var tl timelines
	if tl.median() != nil {
		t.Fatal("a timeline without repetitions")
	}
	tl.add(900, []Point{{T: 900, V: 1}})
	tl.add(700, []Point{{T: 700, V: 2}})
	tl.add(2000, []Point{{T: 2000, V: 3}})
	if got := tl.median(); len(got) != 1 || got[0].V != 1 {
		t.Fatalf("median timeline %v, want the 900 ms repetition's", got)
	}
}
