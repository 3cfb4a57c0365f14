// Package service is `swarmctl service`: create, ls, ps, inspect, scale,
// update, rollback, logs and rm, one file per verb (flag parsing into a
// ServiceSpec in flags.go, spec.go and update_spec.go). Each verb checks
// its arguments, sends gateway requests through cli.CLI and prints the
// answers with pure functions of the responses (tested against golden
// files in testdata/); create, scale, update and rollback then wait for
// the service with cli.CLI.WaitOnService unless --detach. Filters are
// applied here, on the lists the daemon returns. It reaches the daemon
// only through gateway requests, and runs on the caller's goroutine.
package service
