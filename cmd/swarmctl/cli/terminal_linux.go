package cli

import (
	"os"
	"syscall"
	"unsafe"
)

// terminalWidth asks the terminal behind f for its size (TIOCGWINSZ).
func terminalWidth(f *os.File) int {
	var ws struct{ rows, cols, xpixel, ypixel uint16 }
	_, _, errno := syscall.Syscall(syscall.SYS_IOCTL, f.Fd(), uintptr(syscall.TIOCGWINSZ), uintptr(unsafe.Pointer(&ws)))
	if errno != 0 {
		return 0
	}
	return int(ws.cols)
}
