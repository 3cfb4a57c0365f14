//go:build !linux

package bench

import "errors"

// childPIDs fails with errors.ErrUnsupported: only Linux's /proc is read.
func childPIDs([]int) ([]int, error) { return nil, errors.ErrUnsupported }
