// Package runtime holds the implementations of task.Runtime (DESIGN.md §7),
// one package each:
//
//   - process: a task is a host process in its own process group, killed
//     with its node, its output kept in memory for `service logs`.
//   - sim: no process at all; instances that only pretend to run, cheap
//     enough to simulate thousands of nodes in one test.
//
// The interfaces they implement (task.Runtime, task.Instance and the
// optional task.Execer and task.Adopter) are defined where they are used,
// in actors/task. The runtimes know nothing of actors, Raft or the store:
// they start, watch and stop what a task actor asks for, and every
// instance is safe for concurrent use, because the task actor calls its
// blocking methods from goroutines.
//
// This file holds no code: helpers shared by several runtimes belong in
// internal/<what-it-does>, not here.
package runtime
