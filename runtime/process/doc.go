// Package process runs a task as a host process: the task's image names
// the program (an absolute path, or a name looked up in the task's PATH)
// and its args are the program's arguments.
//
// Each task runs in its own process group with a minimal environment
// (PATH, HOME, HOSTNAME, PORT and the service's env) in a directory of its
// own under Config.Dir, created at start and removed once the task exited.
// On Linux the kernel kills the task when its swarmd dies (Pdeathsig), so
// a process task never outlives its node and is never adopted by the next
// swarmd; whatever its directory still holds then is stale. Processes the
// task started itself are killed with it when the task exits or is
// stopped (like the rest of a container), but only the task's own process
// is tied to swarmd's life: a grandchild survives a swarmd that was
// killed, and one that left the process group (setsid) escapes entirely.
//
// The task's stdout and stderr are read line by line into a ring of the
// last Config.LogLines lines. Resource limits are not enforced (neither
// RLIMIT_AS nor cgroups suit a Go or JVM program); reservations still count
// for scheduling.
//
// Concurrency: a Runtime is stateless apart from its Config. Each Instance
// has one goroutine waiting for the process and one reading each of its
// output streams; its methods are safe for concurrent use.
package process
