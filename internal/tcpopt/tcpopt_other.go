//go:build !linux

package tcpopt

import "errors"

func setThin(int) {}

func thin(int) (bool, error) { return false, errors.New("no TCP_THIN_LINEAR_TIMEOUTS here") }
