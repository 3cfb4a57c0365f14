//go:build !linux

package bench

import (
	"context"
	"errors"
)

// runOverlayRTT needs Linux: network namespaces and TUN devices.
func runOverlayRTT(context.Context, Options) ([]Record, error) {
	return nil, errors.New("overlay-rtt needs Linux (network namespaces, TUN devices)")
}
