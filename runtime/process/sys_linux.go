package process

import (
	"syscall"
	"unsafe"
)

// procAttr puts a task in its own process group and has the kernel kill it
// when swarmd dies. The signal is sent when the thread that forked the
// task exits: Go keeps its threads alive unless a goroutine locked to one
// ends without unlocking, which swarmd must not do around Start.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}

// waitZombie blocks until process pid exited, leaving it unreaped
// (waitid with WNOWAIT), and reports whether it could.
func waitZombie(pid int) bool {
	const (
		pPID    = 1
		wExited = 0x4
		wNoWait = 0x1000000
	)
	var info [128]byte // siginfo_t
	for {
		_, _, errno := syscall.Syscall6(syscall.SYS_WAITID, pPID, uintptr(pid),
			uintptr(unsafe.Pointer(&info)), wExited|wNoWait, 0, 0)
		if errno != syscall.EINTR {
			return errno == 0
		}
	}
}
