package lb

import (
	"errors"
	"fmt"
	"time"

	"github.com/actorswarm/swarm/internal/clock"
)

// Backend selection policies (ListenOptions.Policy).
const (
	// PolicyRoundRobin takes the backends in turn. It is the default.
	PolicyRoundRobin = "roundrobin"
	// PolicyLeastConn takes the backend with the fewest active connections;
	// ties go round-robin.
	PolicyLeastConn = "leastconn"
	// PolicyP2C draws two backends at random and takes the one with fewer
	// active connections ("power of two choices"): close to leastconn
	// without every listener on the mesh herding onto the same backend.
	PolicyP2C = "p2c"
)

// Defaults and fixed times of the data path.
const (
	// DialTimeout bounds the dial of one backend before the next is tried.
	DialTimeout = time.Second
	// SuspectTime is how long a backend whose dial failed is tried last.
	SuspectTime = 2 * time.Second
	// DefaultDrainTimeout is how long a removed backend's connections may
	// go on when ListenOptions.DrainTimeout is 0.
	DefaultDrainTimeout = 10 * time.Second
	// DefaultIdleTimeout ends a UDP session without traffic when
	// ListenOptions.IdleTimeout is 0.
	DefaultIdleTimeout = 30 * time.Second
)

// ErrPolicy is returned for a policy name this package does not know.
var ErrPolicy = errors.New("lb: unknown policy")

// ListenOptions configure a Listener or UDPListener. The zero value is
// round-robin without PROXY protocol and with the default timeouts.
type ListenOptions struct {
	// Policy is PolicyRoundRobin (or ""), PolicyLeastConn or PolicyP2C.
	Policy string
	// ProxyProtocol sends a PROXY protocol v2 header to the backend ahead
	// of a TCP connection's bytes, or ahead of every UDP datagram.
	ProxyProtocol bool
	// DrainTimeout is how long the open connections to a removed backend
	// may go on before they are closed: 0 means DefaultDrainTimeout, a
	// negative value closes them at once. UDP sessions always end when
	// their backend is removed.
	DrainTimeout time.Duration
	// IdleTimeout ends a UDP session after this long without a datagram
	// either way; 0 means DefaultIdleTimeout.
	IdleTimeout time.Duration
	// Clock tells the time for suspect backends and idle sessions; nil is
	// the system clock.
	Clock clock.Clock
}

// Validate reports an option this package cannot honour.
func (o ListenOptions) Validate() error {
	if _, err := parsePolicy(o.Policy); err != nil {
		return err
	}
	if o.IdleTimeout < 0 {
		return fmt.Errorf("lb: negative idle timeout %v", o.IdleTimeout)
	}
	return nil
}

func (o ListenOptions) drainTimeout() time.Duration {
	if o.DrainTimeout == 0 {
		return DefaultDrainTimeout
	}
	return o.DrainTimeout
}

func (o ListenOptions) idleTimeout() time.Duration {
	if o.IdleTimeout == 0 {
		return DefaultIdleTimeout
	}
	return o.IdleTimeout
}

func (o ListenOptions) clock() clock.Clock {
	if o.Clock == nil {
		return clock.Real{}
	}
	return o.Clock
}

// policy is a parsed Policy, kept in an atomic so that it can change
// while connections are picked.
type policy int32

const (
	roundRobin policy = iota
	leastConn
	p2c
)

func parsePolicy(s string) (policy, error) {
	switch s {
	case "", PolicyRoundRobin:
		return roundRobin, nil
	case PolicyLeastConn:
		return leastConn, nil
	case PolicyP2C:
		return p2c, nil
	}
	return 0, fmt.Errorf("%w %q", ErrPolicy, s)
}
