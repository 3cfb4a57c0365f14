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
// share node-crash.svg. It returns the names of the files written (on
// error, those written before it) in the order of the families' names. A
// plot of the same name is replaced; other files are left alone. Before it
// writes anything, it fails if two families would share a file name.
func WritePlots(dir string, recs []Record) ([]string, error) {
	byFamily := map[string][]Record{}
	for _, r := range recs {
		family, _, _ := strings.Cut(r.Scenario, "/")
		byFamily[family] = append(byFamily[family], r)
	}
	families := slices.Sorted(maps.Keys(byFamily))
	names := make([]string, len(families))
	owner := map[string]string{}
	for i, family := range families {
		names[i] = plotFileName(family)
		if other, ok := owner[names[i]]; ok {
			return nil, fmt.Errorf("plots of scenario families %q and %q would both be %s", other, family, names[i])
		}
		owner[names[i]] = family
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, fmt.Errorf("plot directory: %w", err)
	}
	for i, family := range families {
		write := func(w io.Writer, recs []Record) error { return writePlot(w, family, recs) }
		if err := writeFile(filepath.Join(dir, names[i]), byFamily[family], write); err != nil {
			return names[:i], err
		}
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

// plotRow is a record as a plot shows it: a row of dots, or a grey note.
type plotRow struct {
	measurement, target, unit string
	samples                   []float64 // finite ones only
	summary                   Summary
	// note replaces the samples: why the record was not run, or that it
	// has no samples.
	note string
}

func newPlotRow(r Record) plotRow {
	row := plotRow{measurement: r.Scenario, target: r.Target, unit: r.Unit}
	if _, m, _ := strings.Cut(r.Scenario, "/"); m != "" {
		row.measurement = m
	}
	if r.NotRun != "" {
		row.note = "not run: " + r.NotRun
		return row
	}
	for _, s := range r.Samples {
		if !math.IsNaN(s) && !math.IsInf(s, 0) {
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
	b.WriteString(`<?xml version="1.0" encoding="UTF-8"?>` + "\n")
	fmt.Fprintf(&b, `<svg xmlns="http://www.w3.org/2000/svg" version="1.1" width="%d" height="%d" viewBox="0 0 %d %d" font-family="sans-serif" font-size="11">`+"\n",
		plotWidth, height, plotWidth, height)
	fmt.Fprintf(&b, "<title>%s</title>\n", escapeText(family))
	fmt.Fprintf(&b, `<rect width="%d" height="%d" fill="#fff"/>`+"\n", plotWidth, height)
	fmt.Fprintf(&b, `<text x="%d" y="26" font-size="16" font-weight="bold" fill="%s">%s</text>`+"\n",
		plotMargin, plotInk, escapeText(fitText(family, maxTitleRunes)))
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
