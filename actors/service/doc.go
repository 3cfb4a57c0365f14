// Package service holds the supervisors of services, on managers: for
// every service shard this manager leads, a parent actor keeps one child
// per service of the shard; each child reconciles its service's desired
// state with its tasks (Reconcile, a pure function over a View), places
// new tasks with the scheduler and proposes the result to Raft in one
// entry. A manager that takes over a shard rebuilds the children from the
// replicated state; running tasks are left alone.
//
// Actors' state is touched only by their Receive; proposals run in
// goroutines that report back as messages.
package service
