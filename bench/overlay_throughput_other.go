//go:build !linux

package bench

import (
	"context"
	"errors"
)

// runOverlayThroughput needs Linux: network namespaces, TUN devices and
// kernel VXLAN.
func runOverlayThroughput(context.Context, Options) ([]Record, error) {
	return nil, errors.New("overlay-throughput needs Linux (network namespaces, TUN devices, kernel VXLAN)")
}
