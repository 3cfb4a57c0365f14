// Package sim is a task runtime without processes, for scale tests and
// simulations of thousands of nodes: an instance is a few words of memory
// that "runs" until it is stopped. Start takes Config.StartLatency and
// fails at Config.FailureRate, drawn from a generator seeded with
// Config.Seed; with Config.ExitAfter a failing task starts instead and
// exits with code 1 that long after.
//
// Concurrency: a Runtime's generator is guarded by a mutex; an instance
// has no goroutine (a failing one has a timer) and its methods are safe
// for concurrent use.
package sim
