package bench

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"
)

// Targets: what a record measures. A scenario runs against ActorSwarm,
// and those that can also against Docker Swarm mode on the local Docker
// engine (DESIGN.md §10), so one run reports both side by side.
const (
	TargetActorSwarm  = "actorswarm"
	TargetDockerSwarm = "dockerswarm"
)

// Targets lists the targets in the order reports show them.
var Targets = []string{TargetActorSwarm, TargetDockerSwarm}

// Names of the report files written into the output directory.
const (
	JSONFile     = "results.json"
	MarkdownFile = "results.md"
)

// Record is the outcome of one scenario measurement: its samples and what
// is needed to compare it with another run (parameters, machine, revision).
// A scenario fills Scenario, Parameters, Started, Unit and Samples; the
// runner stamps the rest (Stamp).
type Record struct {
	// Scenario names what was measured: the scenario, and after a slash
	// which of its measurements ("node-down/ready").
	Scenario string `json:"scenario"`
	Target   string `json:"target"`
	// Parameters are the scenario's sizes and settings, as strings so that
	// they read back exactly as written.
	Parameters  map[string]string `json:"parameters"`
	Machine     Machine           `json:"machine"`
	GitRevision string            `json:"git_revision"`
	Started     time.Time         `json:"started"`
	Unit        string            `json:"unit"`
	Samples     []float64         `json:"samples"`
	Summary     Summary           `json:"summary"`
	// NotRun says why the scenario cannot run on the target; such a
	// record has no samples.
	NotRun string `json:"not_run,omitempty"`
	// Timeline is what a fault scenario observed over time in the
	// repetition whose sample is the median (e.g. node-crash: running
	// replicas), and TimelineUnit what V counts; empty for other records.
	Timeline     []Point `json:"timeline,omitempty"`
	TimelineUnit string  `json:"timeline_unit,omitempty"`
}

// Point is one observation of a timeline: T milliseconds after the fault
// (negative: before it), V the value (e.g. running replicas).
type Point struct {
	T float64 `json:"t"`
	V float64 `json:"v"`
}

// timelines keeps the timeline of each repetition of a measurement, to
// give the record the one of its median repetition.
type timelines struct {
	samples []float64
	series  [][]Point
}

func (tl *timelines) add(sample float64, series []Point) {
	tl.samples = append(tl.samples, sample)
	tl.series = append(tl.series, series)
}

// median returns the timeline of the repetition whose sample is the
// median (Summarize's), nil when there is none.
func (tl *timelines) median() []Point {
	if len(tl.samples) == 0 {
		return nil
	}
	m := Summarize(tl.samples).Median
	for i, v := range tl.samples {
		if v == m {
			return tl.series[i]
		}
	}
	return nil
}

// Stamp sets the target (when the scenario left it empty), the machine,
// the revision and the summary, and puts the start time in UTC.
func (r *Record) Stamp(target string, m Machine, rev string) {
	if r.Target == "" {
		r.Target = target
	}
	if r.Parameters == nil {
		r.Parameters = map[string]string{}
	}
	r.Started = r.Started.UTC()
	r.Machine = m
	r.GitRevision = rev
	r.Summary = Summarize(r.Samples)
}

// Check reports what makes r unfit for a report: no samples (unless it
// says why it was not run), a sample that is not a finite number, a
// summary that does not match the samples, or a missing name, unit,
// target, revision or start time.
func (r *Record) Check() error {
	var errs []error
	for _, f := range []struct{ name, value string }{
		{"scenario", r.Scenario}, {"target", r.Target}, {"unit", r.Unit}, {"git_revision", r.GitRevision},
	} {
		if f.value == "" {
			errs = append(errs, fmt.Errorf("no %s", f.name))
		}
	}
	if r.Started.IsZero() {
		errs = append(errs, errors.New("no start time"))
	}
	switch {
	case r.NotRun != "" && len(r.Samples) > 0:
		errs = append(errs, errors.New("samples in a record of a scenario not run"))
	case r.NotRun == "" && len(r.Samples) == 0:
		errs = append(errs, errors.New("no samples"))
	}
	for i, s := range r.Samples {
		if math.IsNaN(s) || math.IsInf(s, 0) {
			errs = append(errs, fmt.Errorf("sample %d is %v", i, s))
		}
	}
	s := r.Summary
	if want := Summarize(r.Samples); s != want {
		errs = append(errs, fmt.Errorf("summary %+v does not match the samples (%+v)", s, want))
	}
	if len(errs) > 0 {
		return fmt.Errorf("record %q: %w", r.Scenario, errors.Join(errs...))
	}
	return nil
}

// WriteJSON writes recs as JSON lines: one record per line.
func WriteJSON(w io.Writer, recs []Record) error {
	bw := bufio.NewWriter(w)
	enc := json.NewEncoder(bw)
	for i := range recs {
		if err := enc.Encode(&recs[i]); err != nil {
			return fmt.Errorf("encode record %q: %w", recs[i].Scenario, err)
		}
	}
	return bw.Flush()
}

// ReadJSON reads records written by WriteJSON.
func ReadJSON(r io.Reader) ([]Record, error) {
	dec := json.NewDecoder(r)
	dec.DisallowUnknownFields()
	var recs []Record
	for {
		var rec Record
		err := dec.Decode(&rec)
		if errors.Is(err, io.EOF) {
			return recs, nil
		}
		if err != nil {
			return recs, fmt.Errorf("record %d: %w", len(recs)+1, err)
		}
		recs = append(recs, rec)
	}
}

var markdownHeader = []string{"scenario", "target", "n", "unit", "min", "median", "p99", "max"}

// WriteMarkdown writes recs as a Markdown table, one row per record in the
// order given, followed by each record's parameters and the machines and
// revisions measured. Columns are padded so the table reads as well in a
// terminal as rendered.
func WriteMarkdown(w io.Writer, recs []Record) error {
	rows := [][]string{markdownHeader}
	for _, r := range recs {
		s := r.Summary
		if r.NotRun != "" {
			rows = append(rows, []string{r.Scenario, r.Target, "0", r.Unit, "-", "-", "-", "-"})
			continue
		}
		rows = append(rows, []string{r.Scenario, r.Target, strconv.Itoa(s.N), r.Unit,
			FormatFigure(s.Min), FormatFigure(s.Median), FormatFigure(s.P99), FormatFigure(s.Max)})
	}
	width := make([]int, len(markdownHeader))
	for _, row := range rows {
		for i, cell := range row {
			width[i] = max(width[i], utf8.RuneCountInString(cell), 3)
		}
	}
	// Text columns are left-aligned, numbers right-aligned.
	numeric := func(col int) bool { return col == 2 || col >= 4 }
	var b strings.Builder
	line := func(cells []string) {
		for i, cell := range cells {
			pad := strings.Repeat(" ", width[i]-utf8.RuneCountInString(cell))
			if numeric(i) {
				fmt.Fprintf(&b, "| %s%s ", pad, cell)
			} else {
				fmt.Fprintf(&b, "| %s%s ", cell, pad)
			}
		}
		b.WriteString("|\n")
	}
	line(rows[0])
	rule := make([]string, len(width))
	for i, n := range width {
		if numeric(i) {
			rule[i] = strings.Repeat("-", n-1) + ":"
		} else {
			rule[i] = strings.Repeat("-", n)
		}
	}
	line(rule)
	for _, row := range rows[1:] {
		line(row)
	}
	if len(recs) > 0 {
		var params, notRun []Record
		for _, r := range recs {
			if r.NotRun != "" {
				notRun = append(notRun, r)
			} else {
				params = append(params, r)
			}
		}
		if len(params) > 0 {
			b.WriteString("\nParameters:\n\n")
			for _, r := range params {
				fmt.Fprintf(&b, "- %s (%s): %s\n", r.Scenario, r.Target, formatParameters(r.Parameters))
			}
		}
		if cmp := comparisons(params); len(cmp) > 0 {
			b.WriteString("\nCompared (median of the other target / median of actorswarm):\n\n")
			for _, c := range cmp {
				b.WriteString("- " + c + "\n")
			}
		}
		if len(notRun) > 0 {
			b.WriteString("\nNot run:\n\n")
			for _, r := range notRun {
				fmt.Fprintf(&b, "- %s on %s: %s\n", r.Scenario, r.Target, r.NotRun)
			}
		}
		b.WriteString("\nMeasured on:\n\n")
		var seen []string
		for _, r := range recs {
			m := r.Machine
			on := fmt.Sprintf("- %s, %d CPUs, %s, %s, revision %s", m.Hostname, m.CPUs, m.Kernel, m.GoVersion, r.GitRevision)
			if !slices.Contains(seen, on) {
				seen = append(seen, on)
				b.WriteString(on + "\n")
			}
		}
	}
	_, err := io.WriteString(w, b.String())
	return err
}

// comparisons pairs each measurement of another target with ActorSwarm's
// of the same name and unit: "node-crash/replaced: dockerswarm 19926 ms
// vs actorswarm 625 ms = 31.9×".
func comparisons(recs []Record) []string {
	var out []string
	for _, o := range recs {
		if o.Target == TargetActorSwarm {
			continue
		}
		for _, a := range recs {
			if a.Target != TargetActorSwarm || a.Scenario != o.Scenario || a.Unit != o.Unit || a.Summary.Median == 0 {
				continue
			}
			out = append(out, fmt.Sprintf("%s: %s %s %s vs %s %s %s = %s×", o.Scenario,
				o.Target, FormatFigure(o.Summary.Median), o.Unit, a.Target, FormatFigure(a.Summary.Median), a.Unit,
				FormatFigure(o.Summary.Median/a.Summary.Median)))
			break
		}
	}
	return out
}

func formatParameters(p map[string]string) string {
	if len(p) == 0 {
		return "none"
	}
	parts := make([]string, 0, len(p))
	for _, k := range slices.Sorted(maps.Keys(p)) {
		parts = append(parts, k+"="+p[k])
	}
	return strings.Join(parts, ", ")
}

// FormatFigure prints a figure with three significant digits, or as a
// whole number from 100 up: enough to compare runs, not more than the
// measurement holds.
func FormatFigure(v float64) string {
	if math.Abs(v) >= 100 {
		return strconv.FormatFloat(math.Round(v), 'f', 0, 64)
	}
	return strconv.FormatFloat(v, 'g', 3, 64)
}

// WriteReports writes recs into dir (created if needed) as JSONFile and
// MarkdownFile, then a plot per scenario family (WritePlots), replacing
// earlier reports there.
func WriteReports(dir string, recs []Record) error {
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return fmt.Errorf("report directory: %w", err)
	}
	for name, write := range map[string]func(io.Writer, []Record) error{JSONFile: WriteJSON, MarkdownFile: WriteMarkdown} {
		if err := writeFile(filepath.Join(dir, name), recs, write); err != nil {
			return err
		}
	}
	_, err := WritePlots(dir, recs)
	return err
}

func writeFile(path string, recs []Record, write func(io.Writer, []Record) error) error {
	f, err := os.Create(path)
	if err != nil {
		return fmt.Errorf("write report: %w", err)
	}
	if err := write(f, recs); err != nil {
		f.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := f.Close(); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
