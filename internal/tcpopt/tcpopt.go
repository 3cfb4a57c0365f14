// Package tcpopt sets the TCP options of swarm's control connections.
package tcpopt

import (
	"context"
	"net"
	"syscall"
)

// Control is a net.Dialer Control for the long-lived connections that
// carry heartbeats and Raft messages: few small messages in flight, where
// a lost segment holds up everything behind it until it is sent again. It
// asks for linear retransmission timeouts on such thin streams
// (TCP_THIN_LINEAR_TIMEOUTS): each of the first retransmissions waits one
// RTO instead of twice the last, so two losses in a row stall the stream
// 0.4 s rather than 0.6 s, inside a failure detector's grace. It is a
// hint: where the option is missing the connection goes on without it.
func Control(network, address string, c syscall.RawConn) error {
	_ = c.Control(func(fd uintptr) { setThin(int(fd)) })
	return nil
}

// Dialer is a net.Dialer with Control.
func Dialer() *net.Dialer { return &net.Dialer{Control: Control} }

// DialContext dials address over TCP with Dialer.
func DialContext(ctx context.Context, address string) (net.Conn, error) {
	return Dialer().DialContext(ctx, "tcp", address)
}
