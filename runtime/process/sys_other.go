//go:build unix && !linux

package process

import "syscall"

// procAttr puts a task in its own process group. Only Linux can tie the
// task's life to swarmd's.
func procAttr() *syscall.SysProcAttr {
	return &syscall.SysProcAttr{Setpgid: true}
}

// waitZombie reports that an exit cannot be waited for without reaping.
func waitZombie(int) bool { return false }
