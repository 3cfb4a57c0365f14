//go:build !linux

package daemon

import (
	"context"
	"errors"
	"io"
	"log/slog"

	"github.com/actorswarm/swarm/actors/task"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// overlayHost has nothing to offer off Linux: tasks on overlay networks
// are refused with a clear error.
type overlayHost struct{}

func newOverlayHost(string, int, string, *slog.Logger, func() string, io.WriteCloser) *overlayHost {
	return &overlayHost{}
}

// openLatencyDevice fails: the CPU latency QoS device is Linux's.
func openLatencyDevice() (io.WriteCloser, error) {
	return nil, errors.New("needs Linux (CPU latency QoS)")
}

func (h *overlayHost) update([]*swarmv1.MeshNetwork) {}
func (h *overlayHost) close()                        {}
func (h *overlayHost) node([]*swarmv1.Attachment)    {}

// Attach implements task.Networker.
func (h *overlayHost) Attach(context.Context, *swarmv1.Task) (task.NetNS, error) {
	return task.NetNS{}, errors.New("overlay networks need Linux (network namespaces, TUN devices)")
}

// Detach implements task.Networker.
func (h *overlayHost) Detach(*swarmv1.Task) {}

// stats is never ok: no forwarder runs off Linux.
func (h *overlayHost) stats() (overlayStats, bool) { return overlayStats{}, false }

// overlayCapable is false: overlays need Linux.
func overlayCapable() bool { return false }

// RunTaskInit returns: there is no task init step off Linux.
func RunTaskInit() {}
