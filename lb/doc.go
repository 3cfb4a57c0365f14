// Package lb is the routing mesh's data path: the userspace load balancer
// of one published port on one node, like Docker Swarm's ingress. A
// Listener (TCP) or UDPListener serves the port and hands each connection,
// or each client address's UDP session, to one of the port's backends (the
// running tasks of the service, wherever they run), picked by a policy:
// round-robin, least connections or power of two choices. A backend whose
// dial fails is tried last for SuspectTime and the next one is dialed; a
// backend dropped from the set drains (see Listener.Drain); a PROXY
// protocol v2 header can tell the backends the client's address; Stats and
// WritePrometheus export the counters.
//
// The package owns its sockets, goroutines and counters, nothing else: the
// backend set and the options come from its owner (the node's lb actor,
// one per published port), and it neither resolves names nor logs.
//
// Concurrency: every method is safe for concurrent use. The backend set is
// an immutable slice swapped atomically, so a connection picks without a
// lock; counters are atomics. Each TCP connection is served by goroutines
// of its own that copy with io.Copy between *net.TCPConn (splice on
// Linux) and take their backend's mutex once to register and once to
// unregister, never while copying. A UDPListener has one goroutine reading
// the port, one per session reading its backend's replies, and a sweeper
// for idle sessions. Drain timeouts run as time.AfterFunc.
package lb
