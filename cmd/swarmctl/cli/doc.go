// Package cli holds what every swarmctl command shares: the CLI value with
// the global flags (-H/--host, --tls-dir), the call to a gateway with a
// timeout, the root command with docker-like usage and error messages,
// argument validators, --filter and --format handling (docker's "table"
// templates), the docker table writer, and docker's wording for durations,
// sizes and times.
//
// Output formatting lives in pure functions of the noun packages (swarm,
// node, ...); this package only provides the pieces they build on. It must
// not know about any noun. Commands run one at a time on the caller's
// goroutine; nothing here is safe for concurrent use.
package cli
