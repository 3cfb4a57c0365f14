//go:build !linux

package bench

import "syscall"

// childAttr leaves a swarmd's attributes alone: only Linux can tie its
// life to swarmbench's, so elsewhere Close is the only teardown.
func childAttr() *syscall.SysProcAttr { return nil }
