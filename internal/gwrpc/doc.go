// Package gwrpc is the wire between swarmctl and a node's gateway, and the
// join call between nodes: unary gRPC calls carrying protobuf messages of
// package swarmv1 over a unix socket (the admin's, trusted by file
// permissions) or over TCP with TLS on the node's --port, the listener that
// also serves the actor remote.
//
// It owns the method names and the client side. The server side lives with
// the daemon, which routes these methods through grpc.UnknownServiceHandler
// next to the actor remote's own service. A Client is safe for concurrent
// use.
package gwrpc
