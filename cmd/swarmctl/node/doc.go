// Package node is `swarmctl node`: ls, inspect, ps, update, promote,
// demote and rm, one file per verb. Each verb checks its arguments, sends
// gateway requests through cli.CLI and prints the answers with a pure
// function of the responses (tested against golden files in testdata/).
// Filters of `node ls` are applied here, on the list the daemon returns;
// `node ps` prints with package task, as `service ps` does. It reaches the
// daemon only through gateway requests, and runs on the caller's
// goroutine.
package node
