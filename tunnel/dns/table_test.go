package dns

import (
	"net/netip"
	"testing"
)

func TestTable(t *testing.T) {
	a := addrs(t, "10.0.0.2", "10.0.0.3", "10.0.0.4", "10.0.0.5")
	table := NewTable([]Task{
		{Service: "Web", Slot: 1, Name: "Web.1.AAA", Addr: a[0]},
		{Service: "web", Slot: 2, Name: "web.2.bbb", Addr: a[1]},
		// A rolling update: two running tasks share slot 2 for a moment.
		{Service: "web", Slot: 2, Name: "web.2.ccc", Addr: a[2]},
		// A global service's task has no slot.
		{Service: "agent", Name: "agent.node1.ddd", Addr: a[3]},
		// Tasks without an address or a service have no names.
		{Service: "ghost", Slot: 1, Name: "ghost.1.eee"},
		{Slot: 1, Name: "nameless.1.fff", Addr: a[3]},
	})
	tests := []struct {
		name string
		want []netip.Addr
		ok   bool
	}{
		{"web", a[:3], true},
		{"tasks.web", a[:3], true},
		{"web.1", a[:1], true},
		{"web.2", a[1:3], true},
		{"web.1.aaa", a[:1], true},
		{"web.2.ccc", a[2:3], true},
		{"agent", a[3:], true},
		{"tasks.agent", a[3:], true},
		{"agent.node1.ddd", a[3:], true},
		{"agent.0", nil, false},
		{"web.3", nil, false},
		{"ghost", nil, false},
		{"ghost.1.eee", nil, false},
		{"nameless.1.fff", nil, false},
		{"Web", nil, false}, // the Server passes lower case
		{"tasks", nil, false},
	}
	for _, tt := range tests {
		got, ok := table.Lookup(tt.name)
		if ok != tt.ok || !sameSet(got, tt.want) || len(got) != len(tt.want) {
			t.Errorf("Lookup(%q) = %v, %v; want %v, %v", tt.name, got, ok, tt.want, tt.ok)
		}
	}
}

// A task listed twice gives its address once.
func TestTableDedup(t *testing.T) {
	a := netip.MustParseAddr("10.0.0.2")
	table := NewTable([]Task{{Service: "web", Slot: 1, Addr: a}, {Service: "WEB", Slot: 1, Addr: a}})
	if got, _ := table.Lookup("web"); len(got) != 1 {
		t.Errorf("Lookup(web) = %v, want [%s]", got, a)
	}
}
