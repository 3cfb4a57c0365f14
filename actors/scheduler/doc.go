// Package scheduler decides where pending tasks run (DESIGN.md §5): it owns
// the placement rules of a swarm — node availability, runtimes, constraints
// (`--constraint`), resource reservations, `--replicas-max-per-node`,
// placement preferences (`--placement-pref spread=…`) and the spread of a
// service's tasks over nodes — and the docker-style reasons given for a task
// that cannot be placed.
//
// It is pure: Plan reads an immutable view of nodes and tasks and returns a
// plan; it runs no goroutines, reads no clock, does no I/O, keeps no state
// between calls and never modifies its arguments, so it is safe to call from
// any goroutine and gives the same plan for the same input. The caller (the
// scheduler actor on the leading manager) builds the view from Raft state and
// proposes the plan; this package must not touch Raft, actors or runtimes.
//
// # Placement
//
// A node is eligible for a task when, checked in this order:
//
//  1. it is READY and its availability is ACTIVE (PAUSE and DRAIN take no
//     new tasks; an unspecified availability is not ACTIVE),
//  2. it offers the task's runtime ("process" when the spec names none),
//  3. it satisfies every constraint (see ParseConstraint),
//  4. it has the reserved CPU and memory free: capacity minus the
//     reservations of the active tasks on it and of the tasks placed on it
//     earlier in the same plan (a zero reservation needs nothing, a zero
//     capacity is unlimited),
//  5. it holds fewer than max_replicas_per_node tasks of the service (0 is
//     no limit), counting active and planned tasks.
//
// Among eligible nodes the scheduler picks the smallest by, in order: for
// each spread label of the task's placement preferences, the number of the
// service's tasks in the node's label-value group (nested: the second label
// splits the group chosen by the first, like swarmkit's decision tree; nodes
// without the label, or with an empty value, form one group of their own;
// groups count tasks on the nodes that pass filters 1–3); the number of the
// service's tasks on the node; the number of tasks of every service on the
// node; the node ID.
//
// Pending tasks are placed in groups: tasks of one service whose placement
// (runtime, reservations, constraints, spread labels, max replicas per node)
// is identical form a group; groups are placed in the order of their first
// task in the pending list, and the tasks of a group in list order. Each
// filter runs once per (group, node); a group's eligible nodes then sit in a
// tree of heaps (one level per spread label, a heap of nodes at the leaves)
// that is updated as tasks are placed. Cost: O(groups × nodes + tasks ×
// log nodes).
//
// # Reasons
//
// A task that fits nowhere is reported with a reason in docker's words,
// counting each node under the first filter it fails (order as above) and
// listing the filters from most to fewest nodes:
//
//	no suitable node (scheduling constraints not satisfied on 2 nodes; insufficient resources on 1 node)
//	no suitable node (1 node not available for new tasks)
//	no suitable node (runtime docker not offered on 3 nodes)
//	no suitable node (max replicas per node limit exceed)
//	no suitable node (no nodes in the swarm)
//
// A task whose constraints do not parse is reported with ParseConstraint's
// error (`invalid constraint "x": …`); services should be rejected with that
// error when they are created.
package scheduler
