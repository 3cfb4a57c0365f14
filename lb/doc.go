// Package lb is the routing mesh's data path: a TCP listener per published
// port that hands each connection to one of the port's backends (the
// running tasks of the service, wherever they run), round-robin, trying
// the next backend when a dial fails. The TCP-to-TCP copy is io.Copy
// between *net.TCPConn, which Linux serves with splice.
//
// A Listener is safe for concurrent use: backends are swapped atomically
// by its owner (the node's lb actor) while connections are served in
// goroutines of their own.
package lb
