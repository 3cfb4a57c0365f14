// Package daemon is swarmd's process wiring: it locks the data directory,
// keeps this node's identity (node.json, certs/), starts the actor system
// with its remote and the gateway RPC on --addr:--port (one TLS listener),
// serves the admin socket DATA_DIR/swarmd.sock, and carries out the
// lifecycle changes of the node: init, join, leave, promotion, demotion,
// restart and forcing a new cluster.
//
// Concurrency: the actors (package actors) call into the Daemon from their
// goroutines; a mutex guards the node's identity, its Raft and its manager.
// Lifecycle operations hold it for their whole length, so they are
// serialised; reads take it briefly.
package daemon
