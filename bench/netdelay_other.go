//go:build !linux

package bench

import (
	"context"
	"errors"
	"time"
)

// SetDelay needs Linux (network namespaces and NFQUEUE).
func (c *Loopback) SetDelay(context.Context, int, time.Duration) error {
	return errors.New("delaying packets needs Linux network namespaces")
}
