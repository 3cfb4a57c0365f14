//go:build !linux

package cli

import "os"

// terminalWidth is unknown off Linux: the progress display then draws
// without bars, as docker does on a narrow terminal.
func terminalWidth(*os.File) int { return 0 }
