// Package task is the node side of a task: one actor per task assigned to
// this node (a child of the node actor) runs it through a Runtime, reports
// every state change, stops it when told, and keeps its output for
// `service logs`. Runtime is defined here, where it is used, and
// implemented in package runtime.
//
// Each task actor owns its Instance; the blocking calls (Start, Stop, Wait)
// run in goroutines that report back to the actor as messages.
package task
