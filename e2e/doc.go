// Package e2e holds the end-to-end tests of ActorSwarm: they start real
// swarmd processes, one per node, each on its own loopback IP
// (127.0.0.N) with its own data directory, and drive them only through
// swarmctl, the way a user would.
//
// The tests skip themselves unless SWARM_E2E=1. They run the binaries in
// $SWARM_BIN (default ../bin, which `make build` fills). Each test owns a
// block of ten loopback addresses (see the block constants in
// cluster_test.go), so no two tests share an address even when a killed
// swarmd leaves its ports in TIME_WAIT; SWARM_E2E_NET=127.0.N moves the
// whole suite off 127.0.0.x when something else listens there (a test
// whose ports are taken fails saying so). The tests run one after another
// (no t.Parallel): a handful of swarmd processes already keep two cores
// busy.
//
// This package owns no production code and must not import any: it sees
// the product exactly as a user does. The harness (harness_test.go) owns
// every process it starts and kills them all when a test ends; on failure
// it prints the tail of each node's log.
package e2e
