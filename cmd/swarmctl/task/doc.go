// Package task prints tasks the way `docker service ps` and `docker node
// ps` do: the table (one row a task, the older tasks of a slot indented
// under the newest), -q, --format, and the --filter keys both commands
// share. It only formats what the daemon returned: callers fetch the
// tasks. Its functions are pure and run on the caller's goroutine.
package task
