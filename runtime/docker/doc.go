// Package docker runs a task as a container of the local Docker engine: the
// task's image is the container's image (used as it is when the engine has
// it, pulled only when it does not), its args are the container's command
// (the image's entrypoint stays), its env comes after the image's, followed
// by HOSTNAME and PORT as for a process task.
//
// Each container is named after its task (service.slot.taskid) and carries
// the labels com.actorswarm.task.id, com.actorswarm.service.id,
// com.actorswarm.service.name and com.actorswarm.node.id, over the
// service's own labels. Containers share the host's network namespace for
// now, so a task listens on $PORT like a process task does.
//
// Containers outlive swarmd: Runtime.Close leaves them running, and the next
// swarmd finds each by its task label (Runtime.Adopt) and watches it again
// without restarting it. Once a container exited, its instance copies the
// last Config.LogLines lines of its output into memory and removes it, so a
// node keeps no exited containers; Logs then answers from that copy.
//
// Concurrency: a Runtime holds the engine client and a context that Close
// cancels; it is safe for concurrent use. Each Instance has one goroutine
// that waits for its container to exit (retrying while the engine does not
// answer) and then removes it; its methods are safe for concurrent use.
// This package does not touch containers it did not label, apart from
// refusing to start a task whose container name another container holds.
package docker
