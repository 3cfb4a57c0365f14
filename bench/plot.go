package bench

import (
	"cmp"
	"encoding/xml"
	"fmt"
	"io"
	"maps"
	"math"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"unicode/utf8"
)

// Layout of a plot, in pixels. Text sits in columns: the measurement from
// the left margin, the target from plotTargetX, the axis between
// plotAxisLeft and plotAxisRight, the median up to the right margin.
const (
	plotWidth      = 760
	plotMargin     = 16
	plotTargetX    = 160
	plotAxisLeft   = 250
	plotAxisRight  = 620
	plotTop        = 62 // title and legend
	plotHeadHeight = 24 // a panel's unit and the median column's heading
	plotRowHeight  = 24
	plotFootHeight = 30 // the axis and its labels
	plotPanelGap   = 12
	plotJitter     = 5 // dots spread this far above and below their row
	// plotTickIntervals is how many intervals a linear axis aims at.
	plotTickIntervals = 5
)

// Most runes of text that fit their column at the font sizes used; longer
// text is cut short with an ellipsis.
const (
	maxTitleRunes       = 70
	maxMeasurementRunes = 22
	maxTargetRunes      = 13
	maxMedianRunes      = 20
	maxNoteRunes        = 80
)

// WritePlots writes into dir (created if needed) one SVG plot per scenario
// family of recs, named after the family: the part of Record.Scenario
// before the first '/', so that "node-crash/replaced" and "node-crash/down"
// share node-crash.svg. A family of which a record has a timeline also
// gets a timeline plot (node-crash-timeline.svg). It returns the names of
// the files written (on error, those written before it) in the order of
// the families' names, a family's plot before its timeline plot. A plot of
// the same name is replaced; other files are left alone. Before it writes
// anything, it fails if two plots would share a file name.
func WritePlots(dir string, recs []Record) ([]string, error) {
	byFamily := map[string][]Record{}
	for _, r := range recs {
		family, _, _ := strings.Cut(r.Scenario, "/")
		byFamily[family] = append(byFamily[family], r)
	}
	type plotFile struct {
		name, family string
		write        func(w io.Writer, family string, recs []Record) error
	}
	var files []plotFile
	for _, family := range slices.Sorted(maps.Keys(byFamily)) {
		files = append(files, plotFile{plotFileName(family), family, writePlot})
		if len(timelineLines(byFamily[family])) > 0 {
			files = append(files, plotFile{timelineFileName(family), family, writeTimelinePlot})
		}
	}
	owner := map[string]string{}
	for _, f := range files {
		if other, ok := owner[f.name]; ok {
			return nil, fmt.Errorf("plots of scenario families %q and %q would both be %s", other, f.family, f.name)
		}
		owner[f.name] = f.family
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plot directory: %w", err)
	}
	names := make([]string, 0, len(files))
	for _, f := range files {
		write := func(w io.Writer, recs []Record) error { return f.write(w, f.family, recs) }
		if err := writeFile(filepath.Join(dir, f.name), byFamily[f.family], write); err != nil {
			return names, err
		}
		names = append(names, f.name)
	}
	return names, nil
}

// plotFileName names the plot of a family: the family with every rune but
// an ASCII letter, a digit, '-', '_' or a '.' that does not lead replaced
// by '_', so that the name is a plain file in the report directory.
func plotFileName(family string) string {
	var b strings.Builder
	for i, r := range family {
		switch {
		case 'a' <= r && r <= 'z', 'A' <= r && r <= 'Z', '0' <= r && r <= '9', r == '-', r == '_', r == '.' && i > 0:
			b.WriteRune(r)
		default:
			b.WriteByte('_')
		}
	}
	if b.Len() == 0 {
		b.WriteByte('_')
	}
	return b.String() + ".svg"
}

// timelineFileName names the timeline plot of a family: its plot's name
// with "-timeline" before the extension.
func timelineFileName(family string) string {
	return strings.TrimSuffix(plotFileName(family), ".svg") + "-timeline.svg"
}

// plotRow is a record as a plot shows it: a row of dots, or a grey note.
type plotRow struct {
	measurement, target, unit string
	samples                   []float64 // finite ones only
	summary                   Summary
	// note replaces the samples: why the record was not run, or that it
	// has no samples.
	note string
}

// measurementName is what a plot calls the measurement of a scenario: the
// part after the family's slash, or the whole when there is none.
func measurementName(scenario string) string {
	if _, m, _ := strings.Cut(scenario, "/"); m != "" {
		return m
	}
	return scenario
}

func newPlotRow(r Record) plotRow {
	row := plotRow{measurement: measurementName(r.Scenario), target: r.Target, unit: r.Unit}
	if r.NotRun != "" {
		row.note = "not run: " + r.NotRun
		return row
	}
	for _, s := range r.Samples {
		if finite(s) {
			row.samples = append(row.samples, s)
		}
	}
	if len(row.samples) == 0 {
		row.note = "no samples"
	}
	row.summary = Summarize(row.samples)
	return row
}

// plotPanel is a block of rows: those of a unit on their shared axis, or,
// with no axis, the notes of a unit that no row with samples has.
type plotPanel struct {
	unit string
	rows []plotRow
	axis *plotAxis
}

// plotPanels lays out recs: a panel per unit with samples, in the order of
// the units' names, then the rows that fit none of them. Rows are in the
// order of their measurements' names, each measurement's targets in the
// order of Targets; equal rows keep the order of recs.
func plotPanels(recs []Record) []plotPanel {
	rows := make([]plotRow, 0, len(recs))
	for _, r := range recs {
		rows = append(rows, newPlotRow(r))
	}
	slices.SortStableFunc(rows, func(a, b plotRow) int {
		return cmp.Or(cmp.Compare(a.measurement, b.measurement), compareTargets(a.target, b.target))
	})
	var units []string
	for _, r := range rows {
		if r.note == "" && !slices.Contains(units, r.unit) {
			units = append(units, r.unit)
		}
	}
	slices.Sort(units)
	var panels []plotPanel
	for _, u := range units {
		p := plotPanel{unit: u}
		for _, r := range rows {
			if r.unit == u {
				p.rows = append(p.rows, r)
			}
		}
		p.axis = newPlotAxis(p.rows)
		panels = append(panels, p)
	}
	var rest []plotRow
	for _, r := range rows {
		if !slices.Contains(units, r.unit) {
			rest = append(rest, r)
		}
	}
	if len(rest) > 0 {
		panels = append(panels, plotPanel{rows: rest})
	}
	return panels
}

// compareTargets orders targets as Targets does, any other after them by
// name.
func compareTargets(a, b string) int {
	rank := func(t string) int {
		if i := slices.Index(Targets, t); i >= 0 {
			return i
		}
		return len(Targets)
	}
	return cmp.Or(cmp.Compare(rank(a), rank(b)), cmp.Compare(a, b))
}

// plotAxis maps the values of a panel to x.
type plotAxis struct {
	log bool
	// ticks are ascending, at least two; the first and the last are the
	// ends of the axis.
	ticks []float64
}

// newPlotAxis returns the axis of rows, of which at least one has samples.
// It is logarithmic when all the values are positive and targetsApart;
// otherwise it is linear, and starts at zero when the smallest value is at
// most half the largest, so that the lengths of the rows compare.
func newPlotAxis(rows []plotRow) *plotAxis {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, r := range rows {
		if r.note == "" {
			lo, hi = min(lo, r.summary.Min), max(hi, r.summary.Max)
		}
	}
	if lo > 0 && targetsApart(rows) {
		return &plotAxis{log: true, ticks: logTicks(lo, hi)}
	}
	if lo > 0 && lo <= hi/2 {
		lo = 0
	}
	return &plotAxis{ticks: linearTicks(lo, hi)}
}

// targetsApart reports whether, for some measurement, one target's median
// is more than ten times another's: on a linear axis the smaller would be
// squashed against the axis's start.
func targetsApart(rows []plotRow) bool {
	for i, a := range rows {
		for _, b := range rows[i+1:] {
			if a.note != "" || b.note != "" || a.measurement != b.measurement || a.target == b.target {
				continue
			}
			lo, hi := min(a.summary.Median, b.summary.Median), max(a.summary.Median, b.summary.Median)
			if lo > 0 && hi > 10*lo {
				return true
			}
		}
	}
	return false
}

// x returns where v lies on the axis.
func (a *plotAxis) x(v float64) float64 {
	lo, hi := a.ticks[0], a.ticks[len(a.ticks)-1]
	f := (v - lo) / (hi - lo)
	if a.log {
		f = math.Log10(v/lo) / math.Log10(hi/lo)
	}
	return plotAxisLeft + f*(plotAxisRight-plotAxisLeft)
}

// linearTicks returns evenly spaced ticks from at most lo to at least hi
// (lo ≤ hi), about plotTickIntervals apart, at multiples of a step of 1, 2
// or 5 times a power of ten. Equal ends are widened to reach zero (or one,
// when both are zero).
func linearTicks(lo, hi float64) []float64 {
	switch {
	case lo < hi:
	case lo > 0:
		lo = 0
	case lo < 0:
		hi = 0
	default:
		hi = 1
	}
	m, e := niceStep((hi - lo) / plotTickIntervals)
	step := scaled(m, e)
	// A hair of slack: lo/step can miss a whole number by a rounding error.
	first := int64(math.Floor(lo/step + 1e-9))
	last := int64(math.Ceil(hi/step - 1e-9))
	ticks := make([]float64, 0, last-first+1)
	for k := first; k <= last; k++ {
		ticks = append(ticks, scaled(float64(k)*m, e))
	}
	return ticks
}

// niceStep returns the smallest step m·10^e, m one of 1, 2 and 5, that is
// at least rough (> 0), give or take a rounding error in rough.
func niceStep(rough float64) (m float64, e int) {
	e = decadeFloor(rough)
	for _, m := range []float64{1, 2, 5} {
		if scaled(m, e) >= rough*(1-1e-9) {
			return m, e
		}
	}
	return 1, e + 1
}

// logTicks returns ticks from at most lo to at least hi (0 < lo ≤ hi) for
// a logarithmic axis: 1, 2 and 5 times each power of ten when they span
// at most two decades, the powers of ten when they span up to six, and
// every second or further power beyond, so that no more than seven
// labels share the axis.
func logTicks(lo, hi float64) []float64 {
	elo, ehi := decadeFloor(lo), decadeCeil(hi)
	if ehi-elo > 2 {
		step := (ehi - elo + 5) / 6
		var ticks []float64
		for e := elo; ; e += step {
			ticks = append(ticks, scaled(1, e))
			if e >= ehi {
				return ticks
			}
		}
	}
	var all []float64
	for e := elo; e <= ehi; e++ {
		for _, m := range []float64{1, 2, 5} {
			all = append(all, scaled(m, e))
		}
	}
	first := 0
	for i, v := range all {
		if v <= lo {
			first = i
		}
	}
	last := first + 1
	for all[last] < hi {
		last++
	}
	return all[first : last+1]
}

// decadeFloor returns the largest e with 10^e ≤ v (> 0).
func decadeFloor(v float64) int {
	e := int(math.Floor(math.Log10(v)))
	// Log10 may land a hair off at a power of ten.
	for scaled(1, e) > v {
		e--
	}
	for scaled(1, e+1) <= v {
		e++
	}
	return e
}

// decadeCeil returns the smallest e with 10^e ≥ v (> 0).
func decadeCeil(v float64) int {
	e := decadeFloor(v)
	if scaled(1, e) < v {
		e++
	}
	return e
}

// scaled returns a·10^e as the float nearest to it for a whole a, so
// that ticks print and compare as the round numbers they are (6·10⁻¹ is
// 0.6, not 0.6000000000000001).
func scaled(a float64, e int) float64 {
	if e >= 0 {
		return a * math.Pow10(e)
	}
	return a / math.Pow10(-e)
}

// targetColour is the colour of a target's dots, lines and name.
func targetColour(target string) string {
	switch target {
	case TargetActorSwarm:
		return "#1f77b4"
	case TargetDockerSwarm:
		return "#ff7f0e"
	default:
		return "#2ca02c"
	}
}

// Colours of what is not a target's.
const (
	plotInk      = "#222"
	plotFaintInk = "#666"
	plotNoteInk  = "#777"
	plotGrid     = "#ddd"
	plotStripe   = "#f3f5f8"
	plotNoteFill = "#ebebeb"
)

// writePlot writes the plot of a scenario family's records as SVG 1.1:
// the family as title, a legend of the targets, and a panel per unit (see
// plotPanels) with a row per record. A row draws every sample as a dot,
// jittered up or down so that equal samples stay apart, a line from the
// minimum to the maximum and a tall tick at the median, in the target's
// colour, and gives the median and unit at the right. A record without
// samples is a grey row saying why.
func writePlot(w io.Writer, family string, recs []Record) error {
	panels := plotPanels(recs)
	var body strings.Builder
	y := plotTop
	for _, p := range panels {
		y = writePanel(&body, p, y)
	}
	height := y + plotMargin/2

	var b strings.Builder
	writeSVGStart(&b, family, height)
	var targets []string
	for _, p := range panels {
		for _, r := range p.rows {
			if !slices.Contains(targets, r.target) {
				targets = append(targets, r.target)
			}
		}
	}
	slices.SortFunc(targets, compareTargets)
	x := float64(plotMargin)
	for _, t := range targets {
		name := fitText(t, maxTargetRunes)
		fmt.Fprintf(&b, `<circle cx="%s" cy="44" r="4" fill="%s"/>`+"\n", coord(x+4), targetColour(t))
		fmt.Fprintf(&b, `<text x="%s" y="48" fill="%s">%s</text>`+"\n", coord(x+12), plotInk, escapeText(name))
		// About 6.5 pixels a rune at this size.
		x += 12 + 6.5*float64(utf8.RuneCountInString(name)) + 18
	}
	fmt.Fprintf(&b, `<text x="%d" y="48" font-size="10" text-anchor="end" fill="%s">dot: a sample · tall tick: the median · line: minimum to maximum</text>`+"\n",
		plotWidth-plotMargin, plotFaintInk)
	b.WriteString(body.String())
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// writeSVGStart opens an SVG 1.1 document of height pixels, titled
// title, on a white background; the caller closes it.
func writeSVGStart(b *strings.Builder, title string, height int) {
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(b, `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		plotWidth, height, plotWidth, height)
	fmt.Fprintf(b, "<title>%s</title>\n", escapeText(title))
	fmt.Fprintf(b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", plotWidth, height)
	fmt.Fprintf(b, `<text x="%d" y="26" font-size="16" font-weight="bold" fill="%s">%s</text>`+"\n",
		plotMargin, plotInk, escapeText(fitText(title, maxTitleRunes)))
}

// writePanel writes p with its top at y and returns where it ends.
func writePanel(b *strings.Builder, p plotPanel, y int) int {
	if p.axis != nil {
		head := p.unit
		if p.axis.log {
			head += " (log scale)"
		}
		fmt.Fprintf(b, `<text x="%d" y="%d" font-weight="bold" fill="%s">%s</text>`+"\n",
			plotMargin, y+16, plotInk, escapeText(fitText(head, maxTitleRunes)))
		fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end" fill="%s">median</text>`+"\n",
			plotWidth-plotMargin, y+16, plotFaintInk)
		y += plotHeadHeight
	}
	top, bottom := y, y+len(p.rows)*plotRowHeight
	// Stripes bind the rows of a measurement together: every other
	// measurement is striped.
	striped := true
	for i, r := range p.rows {
		if i > 0 && r.measurement != p.rows[i-1].measurement {
			striped = !striped
		}
		fill := ""
		switch {
		case r.note != "":
			fill = plotNoteFill
		case striped:
			fill = plotStripe
		}
		if fill != "" {
			fmt.Fprintf(b, `<rect x="%d" y="%d" width="%d" height="%d" fill="%s"/>`+"\n",
				plotMargin, top+i*plotRowHeight, plotWidth-2*plotMargin, plotRowHeight, fill)
		}
	}
	if p.axis != nil {
		for _, t := range p.axis.ticks {
			fmt.Fprintf(b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="%s"/>`+"\n",
				coord(p.axis.x(t)), top, coord(p.axis.x(t)), bottom, plotGrid)
		}
	}
	for i, r := range p.rows {
		writeRow(b, p.axis, r, top+i*plotRowHeight+plotRowHeight/2)
	}
	if p.axis == nil {
		return bottom + plotPanelGap
	}
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`+"\n",
		plotAxisLeft, bottom, plotAxisRight, bottom)
	for _, t := range p.axis.ticks {
		x := coord(p.axis.x(t))
		fmt.Fprintf(b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#888"/>`+"\n", x, bottom, x, bottom+4)
		fmt.Fprintf(b, `<text x="%s" y="%d" font-size="10" text-anchor="middle" fill="#444">%s</text>`+"\n",
			x, bottom+16, escapeText(FormatFigure(t)))
	}
	return bottom + plotFootHeight + plotPanelGap
}

// writeRow writes r centred on y; axis is nil only when r has a note.
func writeRow(b *strings.Builder, axis *plotAxis, r plotRow, y int) {
	ink, colour := plotInk, targetColour(r.target)
	if r.note != "" {
		ink, colour = plotNoteInk, plotNoteInk
	}
	fmt.Fprintf(b, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n",
		plotMargin, y+4, ink, escapeText(fitText(r.measurement, maxMeasurementRunes)))
	fmt.Fprintf(b, `<text x="%d" y="%d" fill="%s">%s</text>`+"\n",
		plotTargetX, y+4, colour, escapeText(fitText(r.target, maxTargetRunes)))
	if r.note != "" {
		fmt.Fprintf(b, `<text x="%d" y="%d" font-style="italic" fill="%s">%s</text>`+"\n",
			plotAxisLeft, y+4, ink, escapeText(fitText(r.note, maxNoteRunes)))
		return
	}
	s := r.summary
	fmt.Fprintf(b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="%s" stroke-width="1.5"/>`+"\n",
		coord(axis.x(s.Min)), y, coord(axis.x(s.Max)), y, colour)
	fmt.Fprintf(b, `<g fill="%s" fill-opacity="0.5">`+"\n", colour)
	for i, v := range r.samples {
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="2.5"/>`+"\n", coord(axis.x(v)), coord(float64(y)+jitter(i)))
	}
	b.WriteString("</g>\n")
	x := coord(axis.x(s.Median))
	fmt.Fprintf(b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="%s" stroke-width="3"/>`+"\n", x, y-8, x, y+8, colour)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="end" fill="%s">%s</text>`+"\n",
		plotWidth-plotMargin, y+4, ink, escapeText(fitText(FormatFigure(s.Median)+" "+r.unit, maxMedianRunes)))
}

// jitter is the vertical offset of the i-th dot of a row, within
// ±plotJitter: the fractional parts of multiples of the golden ratio
// spread evenly without repeating, and the same every time.
func jitter(i int) float64 {
	_, frac := math.Modf(float64(i) * 0.6180339887498949)
	return (2*frac - 1) * plotJitter
}

// Layout of a timeline plot, in pixels, besides plotWidth and plotMargin:
// the title, the legend's rows, then the axes.
const (
	timelineAxisLeft   = 72 // room for the value labels and the unit
	timelineAxisRight  = plotWidth - 2*plotMargin
	timelineAxisHeight = 240
	timelineLegendY    = 48 // the baseline of the legend's first row
	timelineLegendRow  = 18
	// timelineLegendGap is from the legend's last baseline to the top of
	// the axes; the fault's label sits in it.
	timelineLegendGap  = 30
	timelineFootHeight = 66 // time labels, the time axis's title, a note
	// timelineTimeIntervals is how many intervals the time axis aims at:
	// it has room for a dozen labels.
	timelineTimeIntervals = 12
	// timelineSecondsAbove is the span of time, in ms, beyond which the
	// time axis counts seconds.
	timelineSecondsAbove = 10000
	maxTimelineUnitRunes = 36
)

// timelineLine is a record's timeline as its plot draws it.
type timelineLine struct {
	measurement, target, unit string
	points                    []Point // finite ones only, in the order of T
}

// timelineLines returns the timelines of recs that have a finite point,
// in the order of their measurements' names, each measurement's targets
// in the order of Targets; equal ones keep the order of recs, and equal
// times within a timeline the order observed.
func timelineLines(recs []Record) []timelineLine {
	var lines []timelineLine
	for _, r := range recs {
		var points []Point
		for _, p := range r.Timeline {
			if finite(p.T) && finite(p.V) {
				points = append(points, p)
			}
		}
		if len(points) == 0 {
			continue
		}
		slices.SortStableFunc(points, func(a, b Point) int { return cmp.Compare(a.T, b.T) })
		lines = append(lines, timelineLine{measurement: measurementName(r.Scenario), target: r.Target, unit: r.TimelineUnit, points: points})
	}
	slices.SortStableFunc(lines, func(a, b timelineLine) int {
		return cmp.Or(cmp.Compare(a.measurement, b.measurement), compareTargets(a.target, b.target))
	})
	return lines
}

func finite(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }

// timelineAxes place the points of a timeline plot: the time along x,
// linear, from the earliest point to the latest, the fault included; the
// value along y, from zero (or a smaller value) to the largest.
type timelineAxes struct {
	// msPer is how many ms a unit of the time axis is: 1, or 1000 when
	// the time spans more than timelineSecondsAbove ms.
	msPer float64
	// start and end are the ends of the time axis in its unit, and
	// timeTicks the multiples of a round step between them.
	start, end float64
	timeTicks  []float64
	// valueTicks are ascending, at least two; the first and the last are
	// the ends of the value axis.
	valueTicks  []float64
	top, bottom int // the y of the ends of the value axis
}

// newTimelineAxes returns the axes of lines, with the top at top.
func newTimelineAxes(lines []timelineLine, top int) timelineAxes {
	var tlo, thi, vlo, vhi float64
	for _, l := range lines {
		for _, p := range l.points {
			tlo, thi = min(tlo, p.T), max(thi, p.T)
			vlo, vhi = min(vlo, p.V), max(vhi, p.V)
		}
	}
	if tlo == thi {
		thi = 1
	}
	a := timelineAxes{msPer: 1, top: top, bottom: top + timelineAxisHeight}
	if thi-tlo > timelineSecondsAbove {
		a.msPer = 1000
	}
	a.start, a.end = tlo/a.msPer, thi/a.msPer
	a.timeTicks = ticksWithin(a.start, a.end, timelineTimeIntervals)
	a.valueTicks = linearTicks(vlo, vhi)
	return a
}

// timeUnit is the unit of the time axis.
func (a timelineAxes) timeUnit() string {
	if a.msPer == 1 {
		return "ms"
	}
	return "s"
}

// x returns where t, in ms, lies on the time axis.
func (a timelineAxes) x(t float64) float64 {
	f := (t/a.msPer - a.start) / (a.end - a.start)
	return timelineAxisLeft + f*(timelineAxisRight-timelineAxisLeft)
}

// y returns where v lies on the value axis.
func (a timelineAxes) y(v float64) float64 {
	lo, hi := a.valueTicks[0], a.valueTicks[len(a.valueTicks)-1]
	return float64(a.bottom) - (v-lo)/(hi-lo)*float64(a.bottom-a.top)
}

// ticksWithin returns the multiples from lo to hi (lo < hi) of a step of
// 1, 2 or 5 times a power of ten that makes about n intervals of them.
// Unlike linearTicks, it leaves the ends where they are: a time axis
// stretched to round ends would leave a good part of it empty.
func ticksWithin(lo, hi float64, n int) []float64 {
	m, e := niceStep((hi - lo) / float64(n))
	step := scaled(m, e)
	// A hair of slack: lo/step can miss a whole number by a rounding error.
	first := int64(math.Ceil(lo/step - 1e-9))
	last := int64(math.Floor(hi/step + 1e-9))
	ticks := make([]float64, 0, max(0, last-first+1))
	for k := first; k <= last; k++ {
		ticks = append(ticks, scaled(float64(k)*m, e))
	}
	return ticks
}

// writeTimelinePlot writes as SVG 1.1 what a scenario family's records
// observed over time (Record.Timeline): the family as title, a legend of
// the timelines and a chart with a step line per timeline in its
// target's colour, a value holding from its observation (a dot) to the
// next, and a dashed line at the fault. Records without a timeline are
// left out; recs must have at least one.
func writeTimelinePlot(w io.Writer, family string, recs []Record) error {
	lines := timelineLines(recs)
	var body strings.Builder
	y := timelineLegendY
	x := float64(plotMargin)
	for i, l := range lines {
		label := fitText(l.measurement, maxMeasurementRunes) + " (" + fitText(l.target, maxTargetRunes) + ")"
		// About 6.5 pixels a rune at this size.
		width := 22 + 6.5*float64(utf8.RuneCountInString(label))
		if x > plotMargin && x+width > plotWidth-plotMargin {
			x, y = plotMargin, y+timelineLegendRow
		}
		fmt.Fprintf(&body, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="%s" stroke-width="%s"/>`+"\n",
			coord(x), y-4, coord(x+16), y-4, targetColour(l.target), coord(timelineWidth(i, len(lines))))
		fmt.Fprintf(&body, `<text x="%s" y="%d" fill="%s">%s</text>`+"\n", coord(x+22), y, plotInk, escapeText(label))
		x += width + 18
	}
	a := newTimelineAxes(lines, y+timelineLegendGap)
	writeTimelineAxes(&body, a, timelineUnits(lines))
	for i, l := range lines {
		writeTimelineLine(&body, a, l, timelineWidth(i, len(lines)))
	}
	fmt.Fprintf(&body, `<text x="%d" y="%d" font-size="10" fill="%s">each line: the repetition whose sample is the median · a value holds from its dot to the next</text>`+"\n",
		plotMargin, a.bottom+54, plotFaintInk)
	height := a.bottom + timelineFootHeight

	var b strings.Builder
	writeSVGStart(&b, family+" over time", height)
	b.WriteString(body.String())
	b.WriteString("</svg>\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// timelineWidth is the stroke width of the i-th of n timelines: each
// thinner than the one before, which is drawn under it, so that where
// timelines coincide (before the fault, say) all of them show.
func timelineWidth(i, n int) float64 {
	if n == 1 {
		return 2
	}
	return 1.5 + 2*float64(n-1-i)/float64(n-1)
}

// timelineUnits names what the values of lines count, for the value
// axis: their units in order of name, those that are empty left out.
func timelineUnits(lines []timelineLine) string {
	var units []string
	for _, l := range lines {
		if l.unit != "" && !slices.Contains(units, l.unit) {
			units = append(units, l.unit)
		}
	}
	slices.Sort(units)
	return strings.Join(units, ", ")
}

// writeTimelineAxes writes the grid, the axes with their labels, unit
// naming the value axis, and the fault's dashed line.
func writeTimelineAxes(b *strings.Builder, a timelineAxes, unit string) {
	left, right := timelineAxisLeft, timelineAxisRight
	for _, v := range a.valueTicks {
		y := coord(a.y(v))
		fmt.Fprintf(b, `<line x1="%d" y1="%s" x2="%d" y2="%s" stroke="%s"/>`+"\n", left, y, right, y, plotGrid)
		fmt.Fprintf(b, `<text x="%d" y="%s" font-size="10" text-anchor="end" fill="#444">%s</text>`+"\n",
			left-6, coord(a.y(v)+4), escapeText(FormatFigure(v)))
	}
	for _, t := range a.timeTicks {
		x := coord(a.x(t * a.msPer))
		fmt.Fprintf(b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="%s"/>`+"\n", x, a.top, x, a.bottom, plotGrid)
		fmt.Fprintf(b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="#888"/>`+"\n", x, a.bottom, x, a.bottom+4)
		fmt.Fprintf(b, `<text x="%s" y="%d" font-size="10" text-anchor="middle" fill="#444">%s</text>`+"\n",
			x, a.bottom+16, escapeText(FormatFigure(t)))
	}
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`+"\n", left, a.top, left, a.bottom)
	fmt.Fprintf(b, `<line x1="%d" y1="%d" x2="%d" y2="%d" stroke="#888"/>`+"\n", left, a.bottom, right, a.bottom)
	fmt.Fprintf(b, `<text x="%d" y="%d" text-anchor="middle" fill="%s">time after the fault (%s)</text>`+"\n",
		(left+right)/2, a.bottom+34, plotInk, a.timeUnit())
	if unit != "" {
		x, y := plotMargin+4, (a.top+a.bottom)/2
		fmt.Fprintf(b, `<text x="%d" y="%d" transform="rotate(-90 %d %d)" text-anchor="middle" fill="%s">%s</text>`+"\n",
			x, y, x, y, plotInk, escapeText(fitText(unit, maxTimelineUnitRunes)))
	}
	x := coord(a.x(0))
	fmt.Fprintf(b, `<line x1="%s" y1="%d" x2="%s" y2="%d" stroke="%s" stroke-dasharray="5 3"/>`+"\n", x, a.top, x, a.bottom, plotInk)
	fmt.Fprintf(b, `<text x="%s" y="%d" text-anchor="middle" fill="%s">fault</text>`+"\n", x, a.top-6, plotInk)
}

// writeTimelineLine writes l as a step line width pixels wide, and a dot
// at each of its points.
func writeTimelineLine(b *strings.Builder, a timelineAxes, l timelineLine, width float64) {
	colour := targetColour(l.target)
	if len(l.points) > 1 {
		// A run of equal values is one horizontal segment, drawn to
		// where the value changes or the timeline ends.
		x, y := coord(a.x(l.points[0].T)), coord(a.y(l.points[0].V))
		drawn := x
		var d strings.Builder
		fmt.Fprintf(&d, "M%s %s", x, y)
		for _, p := range l.points[1:] {
			x = coord(a.x(p.T))
			if next := coord(a.y(p.V)); next != y {
				y, drawn = next, x
				fmt.Fprintf(&d, " H%s V%s", x, y)
			}
		}
		if drawn != x {
			fmt.Fprintf(&d, " H%s", x)
		}
		fmt.Fprintf(b, `<path d="%s" fill="none" stroke="%s" stroke-width="%s" stroke-linejoin="round"/>`+"\n",
			d.String(), colour, coord(width))
	}
	fmt.Fprintf(b, `<g fill="%s">`+"\n", colour)
	for _, p := range l.points {
		fmt.Fprintf(b, `<circle cx="%s" cy="%s" r="2"/>`+"\n", coord(a.x(p.T)), coord(a.y(p.V)))
	}
	b.WriteString("</g>\n")
}

// coord prints a coordinate to a tenth of a pixel.
func coord(v float64) string {
	return strings.TrimSuffix(strconv.FormatFloat(v, 'f', 1, 64), ".0")
}

// fitText puts s on one line, with runs of white space as single spaces,
// and cuts it to at most n runes, the last an ellipsis when cut.
func fitText(s string, n int) string {
	s = strings.Join(strings.Fields(s), " ")
	if utf8.RuneCountInString(s) <= n {
		return s
	}
	r := []rune(s)
	return strings.TrimRight(string(r[:n-1]), " ") + "…"
}

// escapeText escapes s as XML character data, a rune that XML cannot hold
// becoming U+FFFD.
func escapeText(s string) string {
	var b strings.Builder
	// Writing to a strings.Builder does not fail.
	_ = xml.EscapeText(&b, []byte(s))
	return b.String()
}
