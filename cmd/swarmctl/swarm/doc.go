// Package swarm is `swarmctl swarm`: init, join, join-token, leave and
// update, one file per verb. Each verb checks its arguments, sends one
// gateway request through cli.CLI and prints the answer with a pure
// function of the response (tested against golden files in testdata/).
// It reaches the daemon only through gateway requests, and runs on the
// caller's goroutine.
package swarm
