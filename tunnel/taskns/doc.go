// Package taskns is the per-task network plumbing on one host: it gives a
// task attached to overlay networks its own network namespace, wired to the
// host by one veth pair per attachment, and starts the task's program in
// that namespace with the task's own /etc/resolv.conf.
//
// Addressing avoids ARP trouble and proxy_arp. In the task namespace,
// eth<i> holds the task's address as a /32, a link-scoped route to the
// network's gateway and a route for the network's subnet via the gateway
// (the first attachment's gateway is also the default route). On the host,
// the veth holds the gateway address as a /32 (the same gateway may sit on
// many veths) and a /32 route to the task. Packets from a task thus reach
// the host, which routes them to another local task's veth or, through the
// overlay subnet's route, to the network's TUN device; a service listening
// on the gateway address (the DNS responder) is reached directly.
//
// Setup changes host-wide state that it never reverts: it turns on IPv4
// forwarding (/proc/sys/net/ipv4/ip_forward = 1), without which the host
// would not pass packets between veths and TUN devices. It also inserts
// into iptables' FORWARD chain an ACCEPT rule for packets in from, and one
// for packets out to, each of its host veths (hosts running Docker have a
// DROP policy there); Remove deletes them. Where no iptables command
// exists, rules are neither added nor removed.
//
// The package owns the namespace /run/netns/<Name>, the host veths named
// by HostVeth(Name, i) and their FORWARD rules; nothing else. It must not
// touch the TUN devices, the overlay subnets' routes or the task's
// processes (package tunnel and the runtimes own them).
//
// Concurrency: there is no shared state. Functions are safe for concurrent
// use on different names; one name has one owner at a time (the node's
// task runner), which serialises Setup and Remove for it. Setup and Remove
// block while they run the ip and iptables commands.
//
// Command and MaybeRunInit start a program in a namespace: the binary that
// uses Command must call MaybeRunInit first thing in main (and tests that
// use it, in TestMain).
package taskns
