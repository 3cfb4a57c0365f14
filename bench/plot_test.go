package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

// plotFixtureRecords are records of four families: node-crash with both
// targets far apart (a log axis), a second unit and a record not run in a
// unit that has samples; raft-propose with two units and a record not run
// for a long reason in a unit of its own; leader-crash with both targets
// under ten times apart (a linear axis); and a family whose name and unit
// need escaping.
func plotFixtureRecords() []Record {
	m := Machine{CPUs: 2, GoVersion: "go1.26.0", Kernel: "Linux 6.8.0", Hostname: "bench-host"}
	started := time.Date(2025, 3, 14, 15, 9, 26, 0, time.UTC)
	recs := []Record{
		{Scenario: "node-crash/replaced", Unit: "ms", Samples: []float64{625, 598.5, 702, 611, 640.25}},
		{Scenario: "node-crash/replaced", Target: TargetDockerSwarm, Unit: "ms", Samples: []float64{19926, 18204.5, 21050}},
		{Scenario: "node-crash/down", Unit: "ms", Samples: []float64{120.5, 135, 128}},
		{Scenario: "node-crash/down", Target: TargetDockerSwarm, Unit: "ms", NotRun: "the engine shows no node down"},
		{Scenario: "node-crash/lost", Unit: "tasks", Samples: []float64{0, 0, 1}},
		{Scenario: "node-crash/lost", Target: TargetDockerSwarm, Unit: "tasks", Samples: []float64{0, 2, 1}},
		{Scenario: "raft-propose/latency", Unit: "ms", Samples: []float64{1.25, 0.875, 3.5, 1.0625, 0.9375}},
		{Scenario: "raft-propose/64-proposers", Unit: "commands/s", Samples: []float64{10234.5, 9876.25, 11002}},
		{
			Scenario: "raft-propose",
			Target:   TargetDockerSwarm,
			Unit:     "-",
			NotRun: "Docker Swarm mode's Raft log <cannot> be driven on its own & \"docker\" has no such command;\n" +
				"this reason goes on long enough\tthat the plot cuts it short",
		},
		{Scenario: "leader-crash", Unit: "ms", Samples: []float64{1029, 812.5, 1544.25}},
		{Scenario: "leader-crash", Target: TargetDockerSwarm, Unit: "ms", Samples: []float64{10250, 12125.5}},
		{Scenario: "a&b <c>/\"d\"", Unit: "µs", Samples: []float64{0.5}},
	}
	for i := range recs {
		recs[i].Started = started.Add(time.Duration(i) * time.Minute)
		recs[i].Stamp(TargetActorSwarm, m, "abc1234")
	}
	return recs
}

// svgTexts checks that data is a well-formed SVG document and returns the
// text of its text elements.
func svgTexts(t *testing.T, data []byte) []string {
	t.Helper()
	dec := xml.NewDecoder(bytes.NewReader(data))
	var (
		texts []string
		text  *strings.Builder
		root  bool
	)
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			break
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			if !root {
				root = true
				if want := (xml.Name{Space: "http://www.w3.org/2000/svg", Local: "svg"}); tok.Name != want {
					t.Errorf("root element %v, want %v", tok.Name, want)
				}
			}
			if tok.Name.Local == "script" {
				t.Errorf("SVG has a script")
			}
			if tok.Name.Local == "text" {
				text = &strings.Builder{}
			}
		case xml.CharData:
			if text != nil {
				text.Write(tok)
			}
		case xml.EndElement:
			if tok.Name.Local == "text" {
				texts = append(texts, text.String())
				text = nil
			}
		}
	}
	if !root {
		t.Fatalf("SVG has no root element")
	}
	return texts
}

func TestWritePlotsGolden(t *testing.T) {
	tests := []struct {
		family, file string
		log          bool
		notRun       int
	}{
		{"a&b <c>", "a_b__c_.svg", false, 0},
		{"leader-crash", "leader-crash.svg", false, 0},
		{"node-crash", "node-crash.svg", true, 1},
		{"raft-propose", "raft-propose.svg", false, 1},
	}
	dir := t.TempDir()
	names, err := WritePlots(dir, plotFixtureRecords())
	if err != nil {
		t.Fatalf("WritePlots: %v", err)
	}
	var want []string
	for _, tt := range tests {
		want = append(want, tt.file)
	}
	if !slices.Equal(names, want) {
		t.Fatalf("WritePlots wrote %q, want %q", names, want)
	}
	for _, tt := range tests {
		t.Run(tt.family, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "plot-"+tt.file, data)
			texts := svgTexts(t, data)
			if len(texts) == 0 || texts[0] != tt.family {
				t.Errorf("first text = %q, want the title %q", texts[:min(1, len(texts))], tt.family)
			}
			notRun, log := 0, false
			for _, s := range texts {
				if strings.HasPrefix(s, "not run: ") {
					notRun++
				}
				log = log || strings.HasSuffix(s, "(log scale)")
			}
			if notRun != tt.notRun {
				t.Errorf("%d rows not run, want %d", notRun, tt.notRun)
			}
			if log != tt.log {
				t.Errorf("log scale = %v, want %v", log, tt.log)
			}
		})
	}
}

func TestWritePlotsIgnoresRecordOrder(t *testing.T) {
	recs := plotFixtureRecords()
	a, b := t.TempDir(), t.TempDir()
	names, err := WritePlots(a, recs)
	if err != nil {
		t.Fatalf("WritePlots: %v", err)
	}
	slices.Reverse(recs)
	if _, err := WritePlots(b, recs); err != nil {
		t.Fatalf("WritePlots: %v", err)
	}
	for _, name := range names {
		got, _ := os.ReadFile(filepath.Join(b, name))
		want, _ := os.ReadFile(filepath.Join(a, name))
		if !bytes.Equal(got, want) {
			t.Errorf("%s differs when the records are reversed", name)
		}
	}
}

func TestWritePlotsNone(t *testing.T) {
	names, err := WritePlots(t.TempDir(), nil)
	if err != nil || len(names) != 0 {
		t.Errorf("WritePlots(no records) = %q, %v; want no files", names, err)
	}
}

func TestWritePlotsFileNameClash(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	recs := []Record{{Scenario: "a b/x", Unit: "ms", Samples: []float64{1}}, {Scenario: "a_b/y", Unit: "ms", Samples: []float64{2}}}
	if names, err := WritePlots(dir, recs); err == nil {
		t.Errorf("WritePlots(families a b and a_b) = %q, want an error", names)
	}
	if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("WritePlots failed but wrote into %s (%v)", dir, err)
	}
}

func TestPlotFileName(t *testing.T) {
	tests := []struct{ family, want string }{
		{"node-crash", "node-crash.svg"},
		{"v1.2_x", "v1.2_x.svg"},
		{"../etc", "_._etc.svg"},
		{".hidden", "_hidden.svg"},
		{"", "_.svg"},
		{"dé jà", "d__j_.svg"},
	}
	for _, tt := range tests {
		if got := plotFileName(tt.family); got != tt.want {
			t.Errorf("plotFileName(%q) = %q, want %q", tt.family, got, tt.want)
		}
	}
}

func TestLinearTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []float64
	}{
		{0, 3.5, []float64{0, 1, 2, 3, 4}},
		{0, 1544.25, []float64{0, 500, 1000, 1500, 2000}},
		{0, 19926, []float64{0, 5000, 10000, 15000, 20000}},
		{9876.25, 11002, []float64{9500, 10000, 10500, 11000, 11500}},
		{0.1, 0.7, []float64{0, 0.2, 0.4, 0.6, 0.8}},
		{0.6, 0.6, []float64{0, 0.2, 0.4, 0.6}},
		{5, 5, []float64{0, 1, 2, 3, 4, 5}},
		{0, 0, []float64{0, 0.2, 0.4, 0.6, 0.8, 1}},
		{-3, 7, []float64{-4, -2, 0, 2, 4, 6, 8}},
		{-2, -2, []float64{-2, -1.5, -1, -0.5, 0}},
		{0, 1e-5, []float64{0, 2e-6, 4e-6, 6e-6, 8e-6, 1e-5}},
	}
	for _, tt := range tests {
		if got := linearTicks(tt.lo, tt.hi); !slices.Equal(got, tt.want) {
			t.Errorf("linearTicks(%v, %v) = %v, want %v", tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestLogTicks(t *testing.T) {
	tests := []struct {
		lo, hi float64
		want   []float64
	}{
		{3, 40, []float64{2, 5, 10, 20, 50}},
		{0.02, 0.3, []float64{0.02, 0.05, 0.1, 0.2, 0.5}},
		{100, 1000, []float64{100, 200, 500, 1000}},
		{1000, 1000, []float64{1000, 2000}},
		{120.5, 21050, []float64{100, 1000, 10000, 100000}},
		{0.9, 120, []float64{0.1, 1, 10, 100, 1000}},
		{1e-3, 1e6, []float64{0.001, 0.1, 10, 1000, 1e5, 1e7}},
	}
	for _, tt := range tests {
		if got := logTicks(tt.lo, tt.hi); !slices.Equal(got, tt.want) {
			t.Errorf("logTicks(%v, %v) = %v, want %v", tt.lo, tt.hi, got, tt.want)
		}
	}
}

func TestPlotAxisScale(t *testing.T) {
	row := func(measurement, target string, samples ...float64) plotRow {
		return plotRow{measurement: measurement, target: target, unit: "ms", samples: samples, summary: Summarize(samples)}
	}
	tests := []struct {
		name string
		rows []plotRow
		log  bool
	}{
		{"targets 31× apart", []plotRow{row("m", TargetActorSwarm, 600, 625), row("m", TargetDockerSwarm, 19926)}, true},
		{"targets under 10× apart", []plotRow{row("m", TargetActorSwarm, 1029), row("m", TargetDockerSwarm, 10250)}, false},
		{"apart but different measurements", []plotRow{row("a", TargetActorSwarm, 1), row("b", TargetDockerSwarm, 1000)}, false},
		{"one target far apart from itself", []plotRow{row("a", TargetActorSwarm, 1), row("b", TargetActorSwarm, 1000)}, false},
		{"a zero sample", []plotRow{row("m", TargetActorSwarm, 0, 1), row("m", TargetDockerSwarm, 1000)}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			a := newPlotAxis(tt.rows)
			if a.log != tt.log {
				t.Errorf("log = %v, want %v (ticks %v)", a.log, tt.log, a.ticks)
			}
			for _, r := range tt.rows {
				for _, v := range r.samples {
					if x := a.x(v); x < plotAxisLeft || x > plotAxisRight {
						t.Errorf("sample %v at x = %v, off the axis %v", v, x, a.ticks)
					}
				}
			}
		})
	}
}

func TestFitText(t *testing.T) {
	tests := []struct {
		s    string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"two\nlines\t and  tabs", 40, "two lines and tabs"},
		{"exactly ten", 11, "exactly ten"},
		{"cut this short", 8, "cut thi…"},
		{"cut at a space", 7, "cut at…"},
		{"éèêëēėę", 4, "éèê…"},
	}
	for _, tt := range tests {
		if got := fitText(tt.s, tt.n); got != tt.want {
			t.Errorf("fitText(%q, %d) = %q, want %q", tt.s, tt.n, got, tt.want)
		}
	}
}

func TestWriteReportsWritesPlots(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "out")
	recs := fixtureRecords()
	if err := WriteReports(dir, recs); err != nil {
		t.Fatalf("WriteReports: %v", err)
	}
	want := t.TempDir()
	names, err := WritePlots(want, recs)
	if err != nil {
		t.Fatalf("WritePlots: %v", err)
	}
	if len(names) == 0 {
		t.Fatal("WritePlots wrote no plots for the fixture")
	}
	for _, name := range names {
		got, err := os.ReadFile(filepath.Join(dir, name))
		if err != nil {
			t.Errorf("WriteReports wrote no %s: %v", name, err)
			continue
		}
		svgTexts(t, got)
		if w, _ := os.ReadFile(filepath.Join(want, name)); !bytes.Equal(got, w) {
			t.Errorf("%s written by WriteReports differs from WritePlots'", name)
		}
	}
}
