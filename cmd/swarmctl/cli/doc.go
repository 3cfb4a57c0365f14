// Package cli holds what every swarmctl command shares: the CLI value with
// the global flags (-H/--host, --tls-dir), the call to a gateway with a
// timeout, the root command with docker-like usage and error messages,
// argument validators, --filter and --format handling (docker's "table"
// templates), the docker table writer, docker's wording for durations,
// sizes, times and enums, and docker's progress display for the commands
// that wait for a service to converge (WaitOnService, which polls the
// daemon on the CLI's injectable clock and draws in place on a terminal).
//
// Output formatting lives in pure functions of the noun packages (swarm,
// node, service, task); this package only provides the pieces they build
// on, and knows no noun's output but the progress display's. Commands run one at a time on the caller's
// goroutine; nothing here is safe for concurrent use.
package cli
