package bench

import "syscall"

// childAttr puts a swarmd in its own process group, so that a Ctrl-C at
// the terminal reaches swarmbench alone and the teardown stays ours, and
// has the kernel kill it should swarmbench die without tearing down.
func childAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true, Pdeathsig: syscall.SIGKILL}
}
