// Package bench is swarmbench's harness: named scenarios that measure
// ActorSwarm under faults (a killed leader, a killed or frozen worker) or
// load (Raft proposals, services of many tasks converging and scaling,
// traffic through the routing mesh and the overlay), against ActorSwarm
// and, where they can run, Docker Swarm mode on this machine's Docker
// engine (engines in network namespaces), the statistics of their samples
// and the reports (JSON lines, a Markdown table, an SVG plot per
// scenario).
//
// A scenario owns the cluster it starts: a Loopback of real swarmd processes
// on 127.0.0.201 and up (never the e2e suite's 127.0.0.11-99), or Raft
// replicas in this process. It tears the cluster down before it returns,
// on error and on panic too; cancelling the context (Ctrl-C in swarmbench)
// ends every wait early, so the teardown follows at once.
//
// Concurrency: a scenario runs on the caller's goroutine and may start
// goroutines of its own that end before it returns. Loopback is safe for
// concurrent use. Nothing here is package-level mutable state.
//
// The package measures; it does not judge. Tests check that runs complete
// and reports are well-formed, never timings (DESIGN.md §10). It must not
// touch the code it measures: it drives swarmd and swarmctl as a user does,
// and the cluster package only through its exported API.
package bench
