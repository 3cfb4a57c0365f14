package cli

import (
	"io"
	"os"
	"strconv"
)

// TerminalOf says whether w is a terminal (a character device) and how
// many columns wide it is: $COLUMNS when set, else what the terminal
// reports, 0 when neither is known.
func TerminalOf(w io.Writer) (isTerminal bool, width int) {
	f, ok := w.(*os.File)
	if !ok {
		return false, 0
	}
	fi, err := f.Stat()
	if err != nil || fi.Mode()&os.ModeCharDevice == 0 {
		return false, 0
	}
	if n, err := strconv.Atoi(os.Getenv("COLUMNS")); err == nil && n > 0 {
		return true, n
	}
	return true, terminalWidth(f)
}
