package bench

import (
	"bytes"
	"encoding/xml"
	"errors"
	"io"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"
)

// plotFixtureRecords are records of four families: node-crash with both
// targets far apart (a log axis), a second unit, a record not run in a
// unit that has samples and the timelines of both targets (those of
// nodeCrashTimelines); raft-propose with two units and a record not run
// for a long reason in a unit of its own; leader-crash with both targets
// under ten times apart (a linear axis); and a family whose name and units
// need escaping, with a timeline of a single point at the fault.
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
		{Scenario: "a&b <c>/\"d\"", Unit: "µs", Samples: []float64{0.5}, Timeline: []Point{{0, 0}}, TimelineUnit: `tasks <off> & "on"`},
	}
	recs[0].Timeline, recs[1].Timeline = nodeCrashTimelines()
	recs[0].TimelineUnit, recs[1].TimelineUnit = timelineUnit, timelineUnit
	for i := range recs {
		recs[i].Started = started.Add(time.Duration(i) * time.Minute)
		recs[i].Stamp(TargetActorSwarm, m, "abc1234")
	}
	return recs
}

// nodeCrashTimelines returns timelines as node-crash observes them in
// its median repetitions, a poll before the kill and then until the
// tasks are all running again: ActorSwarm's replacing the killed node's
// two tasks at 625 ms, polled every 25 ms, and Docker Swarm's at 19926
// ms, polled every 500 ms.
func nodeCrashTimelines() (actorswarm, dockerswarm []Point) {
	series := func(before, first, every, replaced, second float64) []Point {
		points := []Point{{before, 6}}
		for t := first; t < replaced; t += every {
			v := 4.0
			if t >= second {
				v = 5
			}
			points = append(points, Point{t, v})
		}
		return append(points, Point{replaced, 6})
	}
	return series(-35, 10, 25, 625, 560), series(-120, 40, 500, 19926, 17000)
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
		timeline     bool
	}{
		{"a&b <c>", "a_b__c_.svg", false, 0, true},
		{"leader-crash", "leader-crash.svg", false, 0, false},
		{"node-crash", "node-crash.svg", true, 1, true},
		{"raft-propose", "raft-propose.svg", false, 1, false},
	}
	dir := t.TempDir()
	names, err := WritePlots(dir, plotFixtureRecords())
	if err != nil {
		t.Fatalf("WritePlots: %v", err)
	}
	var want []string
	for _, tt := range tests {
		want = append(want, tt.file)
		if tt.timeline {
			want = append(want, strings.TrimSuffix(tt.file, ".svg")+"-timeline.svg")
		}
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
	tests := []struct {
		name string
		recs []Record
	}{
		{"families a b and a_b", []Record{
			{Scenario: "a b/x", Unit: "ms", Samples: []float64{1}},
			{Scenario: "a_b/y", Unit: "ms", Samples: []float64{2}},
		}},
		{"a family a-timeline and the timeline of a", []Record{
			{Scenario: "a/x", Unit: "ms", Samples: []float64{1}, Timeline: []Point{{0, 1}}},
			{Scenario: "a-timeline/y", Unit: "ms", Samples: []float64{2}},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			dir := filepath.Join(t.TempDir(), "out")
			if names, err := WritePlots(dir, tt.recs); err == nil {
				t.Errorf("WritePlots = %q, want an error", names)
			}
			if _, err := os.Stat(dir); !errors.Is(err, os.ErrNotExist) {
				t.Errorf("WritePlots failed but wrote into %s (%v)", dir, err)
			}
		})
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

// svgElement is an element of an SVG document: its name, its attributes
// and, for a text element, its text.
type svgElement struct {
	name string
	attr map[string]string
	text string
}

// svgElements checks that data is a well-formed SVG document (svgTexts)
// and returns its elements in document order.
func svgElements(t *testing.T, data []byte) []svgElement {
	t.Helper()
	svgTexts(t, data)
	dec := xml.NewDecoder(bytes.NewReader(data))
	var els []svgElement
	text := -1 // the index of the text element open, if any
	for {
		tok, err := dec.Token()
		if errors.Is(err, io.EOF) {
			return els
		}
		if err != nil {
			t.Fatalf("SVG is not well-formed XML: %v", err)
		}
		switch tok := tok.(type) {
		case xml.StartElement:
			el := svgElement{name: tok.Name.Local, attr: map[string]string{}}
			for _, a := range tok.Attr {
				el.attr[a.Name.Local] = a.Value
			}
			if el.name == "text" {
				text = len(els)
			}
			els = append(els, el)
		case xml.CharData:
			if text >= 0 {
				els[text].text += string(tok)
			}
		case xml.EndElement:
			if tok.Name.Local == "text" {
				text = -1
			}
		}
	}
}

func TestWritePlotsTimelineGolden(t *testing.T) {
	actorswarm, dockerswarm := nodeCrashTimelines()
	tests := []struct {
		family, file, title string
		legends             []string // the timelines' in order
		targets             []string // the step lines' in order
		timeUnit, unit      string
		dots                int
	}{
		{
			family: "a&b <c>", file: "a_b__c_-timeline.svg", title: "a&b <c> over time",
			legends: []string{`"d" (actorswarm)`}, timeUnit: "ms", unit: `tasks <off> & "on"`, dots: 1,
		},
		{
			family: "node-crash", file: "node-crash-timeline.svg", title: "node-crash over time",
			legends:  []string{"replaced (actorswarm)", "replaced (dockerswarm)"},
			targets:  []string{TargetActorSwarm, TargetDockerSwarm},
			timeUnit: "s", unit: timelineUnit, dots: len(actorswarm) + len(dockerswarm),
		},
	}
	dir := t.TempDir()
	if _, err := WritePlots(dir, plotFixtureRecords()); err != nil {
		t.Fatalf("WritePlots: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.family, func(t *testing.T) {
			data, err := os.ReadFile(filepath.Join(dir, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			golden(t, "plot-"+tt.file, data)
			els := svgElements(t, data)
			var texts, legends, strokes []string
			var faults []svgElement
			dots := 0
			for _, el := range els {
				switch {
				case el.name == "text":
					texts = append(texts, el.text)
					if strings.HasSuffix(el.text, ")") && !strings.HasPrefix(el.text, "time after") {
						legends = append(legends, el.text)
					}
				case el.name == "path":
					strokes = append(strokes, el.attr["stroke"])
				case el.name == "circle":
					dots++
					if x, err := strconv.ParseFloat(el.attr["cx"], 64); err != nil || x < timelineAxisLeft || x > timelineAxisRight {
						t.Errorf("dot at x = %q, off the time axis", el.attr["cx"])
					}
				case el.name == "line" && el.attr["stroke-dasharray"] != "":
					faults = append(faults, el)
				}
			}
			if len(texts) == 0 || texts[0] != tt.title {
				t.Errorf("first text = %q, want the title %q", texts[:min(1, len(texts))], tt.title)
			}
			if !slices.Equal(legends, tt.legends) {
				t.Errorf("legends %q, want %q", legends, tt.legends)
			}
			var want []string
			for _, target := range tt.targets {
				want = append(want, targetColour(target))
			}
			if !slices.Equal(strokes, want) {
				t.Errorf("step lines in %q, want %q", strokes, want)
			}
			if dots != tt.dots {
				t.Errorf("%d dots, want one a point: %d", dots, tt.dots)
			}
			for _, s := range []string{"time after the fault (" + tt.timeUnit + ")", tt.unit} {
				if !slices.Contains(texts, s) {
					t.Errorf("no text %q in %q", s, texts)
				}
			}
			if len(faults) != 1 || faults[0].attr["x1"] != faults[0].attr["x2"] {
				t.Fatalf("dashed lines %v, want one upright at the fault", faults)
			}
			x := faults[0].attr["x1"]
			var label, zero bool
			for _, el := range els {
				label = label || el.name == "text" && el.text == "fault" && el.attr["x"] == x
				zero = zero || el.name == "text" && el.text == "0" && el.attr["text-anchor"] == "middle" && el.attr["x"] == x
			}
			if !label || !zero {
				t.Errorf("fault line at x = %s: labelled %v, at the time label 0 %v", x, label, zero)
			}
		})
	}
	for _, file := range []string{"leader-crash-timeline.svg", "raft-propose-timeline.svg"} {
		if _, err := os.Stat(filepath.Join(dir, file)); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("a family without timelines has %s (%v)", file, err)
		}
	}
}

func TestWritePlotsTimelineNeedsAFinitePoint(t *testing.T) {
	nan := math.NaN()
	recs := []Record{
		{Scenario: "none/a", Unit: "ms", Samples: []float64{1}},
		{Scenario: "nan/a", Unit: "ms", Samples: []float64{1}, Timeline: []Point{{nan, 1}, {1, math.Inf(1)}}},
		{Scenario: "one/a", Unit: "ms", Samples: []float64{1}, Timeline: []Point{{-5, 1}, {nan, 2}}},
	}
	names, err := WritePlots(t.TempDir(), recs)
	if want := []string{"nan.svg", "none.svg", "one.svg", "one-timeline.svg"}; err != nil || !slices.Equal(names, want) {
		t.Errorf("WritePlots = %q, %v; want %q", names, err, want)
	}
}

func TestTimelineAxes(t *testing.T) {
	actorswarm, dockerswarm := nodeCrashTimelines()
	tests := []struct {
		name                  string
		timelines             [][]Point
		timeUnit              string
		start, end            float64
		timeTicks, valueTicks []float64
	}{
		{
			"actorswarm alone", [][]Point{actorswarm}, "ms", -35, 625,
			[]float64{0, 100, 200, 300, 400, 500, 600}, []float64{0, 2, 4, 6},
		},
		{
			"both targets", [][]Point{actorswarm, dockerswarm}, "s", -0.12, 19.926,
			[]float64{0, 2, 4, 6, 8, 10, 12, 14, 16, 18}, []float64{0, 2, 4, 6},
		},
		{
			"10 s exactly", [][]Point{{{0, 1}, {10000, 1}}}, "ms", 0, 10000,
			[]float64{0, 1000, 2000, 3000, 4000, 5000, 6000, 7000, 8000, 9000, 10000}, []float64{0, 0.2, 0.4, 0.6, 0.8, 1},
		},
		{
			"after the fault only", [][]Point{{{900, 3}, {200, 3}}}, "ms", 0, 900,
			[]float64{0, 100, 200, 300, 400, 500, 600, 700, 800, 900}, []float64{0, 1, 2, 3},
		},
		{
			"a point at the fault", [][]Point{{{0, 0}}}, "ms", 0, 1,
			[]float64{0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1}, []float64{0, 0.2, 0.4, 0.6, 0.8, 1},
		},
		{
			"negative values", [][]Point{{{-10, -2}, {10, 3}}}, "ms", -10, 10,
			[]float64{-10, -8, -6, -4, -2, 0, 2, 4, 6, 8, 10}, []float64{-2, -1, 0, 1, 2, 3},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var recs []Record
			for _, tl := range tt.timelines {
				recs = append(recs, Record{Scenario: "f/m", Timeline: tl})
			}
			a := newTimelineAxes(timelineLines(recs), 100)
			if a.timeUnit() != tt.timeUnit || a.start != tt.start || a.end != tt.end {
				t.Errorf("time axis %v to %v %s, want %v to %v %s", a.start, a.end, a.timeUnit(), tt.start, tt.end, tt.timeUnit)
			}
			if !slices.Equal(a.timeTicks, tt.timeTicks) || !slices.Equal(a.valueTicks, tt.valueTicks) {
				t.Errorf("ticks %v and %v, want %v and %v", a.timeTicks, a.valueTicks, tt.timeTicks, tt.valueTicks)
			}
			if x := a.x(0); x < timelineAxisLeft || x > timelineAxisRight {
				t.Errorf("fault at x = %v, off the axis", x)
			}
			for _, tl := range tt.timelines {
				for _, p := range tl {
					x, y := a.x(p.T), a.y(p.V)
					if x < timelineAxisLeft-1e-9 || x > timelineAxisRight+1e-9 || y < float64(a.top) || y > float64(a.bottom) {
						t.Errorf("point %v at (%v, %v), off the axes", p, x, y)
					}
				}
			}
		})
	}
}

func TestTicksWithin(t *testing.T) {
	tests := []struct {
		lo, hi float64
		n      int
		want   []float64
	}{
		{-0.12, 19.926, 12, []float64{0, 2, 4, 6, 8, 10, 12, 14, 16, 18}},
		{0.05, 0.95, 4, []float64{0.5}},
		{-3, -1, 2, []float64{-3, -2, -1}},
		{0.1, 0.3, 2, []float64{0.1, 0.2, 0.3}},
	}
	for _, tt := range tests {
		if got := ticksWithin(tt.lo, tt.hi, tt.n); !slices.Equal(got, tt.want) {
			t.Errorf("ticksWithin(%v, %v, %d) = %v, want %v", tt.lo, tt.hi, tt.n, got, tt.want)
		}
	}
}
