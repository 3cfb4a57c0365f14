package dns

import (
	"net/netip"
	"slices"
	"strconv"
)

// Task is a running task of a service attached to the network, as its
// names see it.
type Task struct {
	Service string
	// Slot is the replica slot of a replicated service's task, named
	// SERVICE.SLOT; 0 (a global service's task) gives no such name.
	Slot uint64
	// Name is the task's own name (e.g. "web.1.x7f3k2"); empty gives none.
	Name string
	Addr netip.Addr
}

// Table is an immutable set of names of one network, built from its
// running tasks; its Lookup is a Config.Lookup. Rebuild it when the tasks
// change and swap it in (e.g. through an atomic.Pointer) — lookups need no
// lock.
type Table struct {
	names map[string][]netip.Addr
}

// NewTable builds the names of tasks: SERVICE and tasks.SERVICE for every
// task of the service, SERVICE.SLOT and the task's name for each task.
// Names are case-insensitive; a task without a valid address or a service
// name is left out; a name shared by several tasks has all their
// addresses, each once.
func NewTable(tasks []Task) *Table {
	t := &Table{names: make(map[string][]netip.Addr)}
	add := func(name string, a netip.Addr) {
		name = canonicalName(name)
		if !slices.Contains(t.names[name], a) {
			t.names[name] = append(t.names[name], a)
		}
	}
	for _, task := range tasks {
		if task.Service == "" || !task.Addr.IsValid() {
			continue
		}
		add(task.Service, task.Addr)
		add("tasks."+task.Service, task.Addr)
		if task.Slot != 0 {
			add(task.Service+"."+strconv.FormatUint(task.Slot, 10), task.Addr)
		}
		if task.Name != "" {
			add(task.Name, task.Addr)
		}
	}
	return t
}

// Lookup returns the addresses of name, which must be in the form the
// Server passes (lower case, no trailing dot). The slice is the table's
// own: callers must not modify it.
func (t *Table) Lookup(name string) ([]netip.Addr, bool) {
	addrs, ok := t.names[name]
	return addrs, ok
}
