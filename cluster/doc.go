// Package cluster is the manager set: the Raft shards managers agree
// through, the pure state machine they apply, membership with promotion and
// demotion, and the cluster's identity: its root CA, node certificates and
// join tokens.
//
// The state machine is deterministic and does no I/O; proposers stamp
// times, IDs and random choices into commands. CA and token functions take
// the clock and the randomness as arguments and keep no state: a CA is
// immutable once built and safe for concurrent use. Only hashes of join
// token secrets are stored; secrets are derived again from the CA key.
//
// The package must not run tasks, touch the data path or talk to a
// container runtime; actors read its state and propose commands to it.
package cluster
