// Package tunnel is the overlay networks' data path on one host: a
// user-space VXLAN forwarder between the TUN device of each overlay network
// and one UDP socket on the underlay (DESIGN.md §6).
//
// A packet read from a network's TUN is looked up by its inner destination
// in that network's endpoint table, wrapped in a VXLAN header (RFC 7348,
// the network's VNI) and a synthetic Ethernet header, and sent to the UDP
// address of the host that holds the destination. A datagram received from
// a cluster peer is checked (Decap) and its inner packet written to the TUN
// of the network with that VNI, if the destination is an endpoint on this
// host. Everything else is dropped and counted (Stats), never logged per
// packet.
//
// The package owns its socket, the TUN queues handed to it, its goroutines
// and its counters. It does not decide anything: which networks exist, which
// endpoints live where and which nodes are peers come from its owner (the
// node's tunnel actor) through AddNetwork, SetEndpoints and SetPeers. The
// device helpers (OpenTUN, ConfigureLink, AddRoute, CreateNetns, CreateVeth,
// InNetns) create and configure devices and namespaces for it, as root.
//
// Concurrency: every Forwarder method is safe for concurrent use. The
// forwarder runs one goroutine per TUN queue (read a batch of packets,
// encapsulate in place, WriteBatch) and Config.Readers goroutines on the
// socket (ReadBatch, decapsulate, write to a TUN). The loops read the
// network set, the endpoint tables and the peer set without locks: each is
// an immutable value behind an atomic pointer, replaced whole by the
// methods that change it. Every loop owns a batch of pooled buffers with
// HeaderLen bytes of headroom, so the packet path neither copies payloads
// in user space nor allocates (x/net's ReadBatch does allocate the sender's
// address of each datagram). Close and RemoveNetwork return once the
// goroutines concerned have exited.
package tunnel
