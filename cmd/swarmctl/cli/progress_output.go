package cli

import (
	"fmt"
	"io"
	"strings"
)

// barWidth is the length of a progress bar; bars are drawn only on a
// terminal wider than minBarColumns, as docker's jsonmessage does.
const (
	barWidth      = 50
	minBarColumns = 110
)

// progressOutput renders progress lines the way docker's jsonmessage
// stream does. Every line has an ID ("overall progress", "1/3", "verify")
// and is rewritten in place on a terminal: a new ID adds a line at the
// bottom, an update moves the cursor up to its line, clears it, writes it
// and moves back down. Off a terminal a line is printed as "ID: text" when
// its text changed, and lines with a bar are left out (docker prints
// them only on a terminal). Write errors are kept in err; once one
// happens nothing more is written.
type progressOutput struct {
	w     io.Writer
	tty   bool
	width int
	line  map[string]int    // terminal: line of each ID, from the top
	last  map[string]string // pipe: what was last printed for each ID
	err   error
}

func newProgressOutput(w io.Writer, tty bool, width int) *progressOutput {
	return &progressOutput{w: w, tty: tty, width: width, line: map[string]int{}, last: map[string]string{}}
}

// update writes the line id: action, with a bar of current out of total
// when total > 0.
func (o *progressOutput) update(id, action string, current, total int64) {
	if !o.tty {
		text := id + ": " + action
		if total > 0 || current > 0 || o.last[id] == text {
			return
		}
		o.last[id] = text
		o.printf("%s\n", text)
		return
	}
	line, ok := o.line[id]
	if !ok {
		line = len(o.line)
		o.line[id] = line
		o.printf("\n")
	}
	up := len(o.line) - line
	o.printf("\x1b[%dA\x1b[2K\r%s: %s %s\r\x1b[%dB", up, id, action, o.bar(current, total), up)
}

// message writes a line of its own below the progress lines, which are
// then left alone: later updates start new ones.
func (o *progressOutput) message(text string) {
	o.line = map[string]int{}
	o.last = map[string]string{}
	o.printf("%s\n", text)
}

// bar is docker's "[=====>     ] " for current out of total, empty when
// there is no total or no room.
func (o *progressOutput) bar(current, total int64) string {
	if total <= 0 || o.width <= minBarColumns {
		return ""
	}
	filled := int(float64(current)/float64(total)*100) / 2
	filled = min(max(filled, 0), barWidth)
	return "[" + strings.Repeat("=", filled) + ">" + strings.Repeat(" ", barWidth-filled) + "] "
}

func (o *progressOutput) printf(format string, args ...any) {
	if o.err != nil {
		return
	}
	_, o.err = fmt.Fprintf(o.w, format, args...)
}
