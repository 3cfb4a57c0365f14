package actors

import (
	"context"
	"errors"
	"fmt"
	"sync"
	"testing"
	"time"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// proposer is the part of DispatchControl the group commit uses: it
// records the entries and holds each until released.
type proposer struct {
	DispatchControl
	mu      sync.Mutex
	entries []*swarmv1.TaskBatch
	release chan error
}

func (p *proposer) Propose(_ context.Context, _ uint64, cmd *swarmv1.Command) error {
	p.mu.Lock()
	p.entries = append(p.entries, cmd.GetTaskBatch())
	p.mu.Unlock()
	return <-p.release
}

func (p *proposer) count() int {
	p.mu.Lock()
	defer p.mu.Unlock()
	return len(p.entries)
}

func reports(svc string, ids ...string) *swarmv1.TaskBatch {
	b := &swarmv1.TaskBatch{ServiceIds: []string{svc}}
	for _, id := range ids {
		b.Status = append(b.Status, &swarmv1.TaskStatusUpdate{TaskId: id, Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_RUNNING}})
	}
	return b
}

func waitFor(t *testing.T, what string, ok func() bool) {
	t.Helper()
	deadline := time.Now().Add(5 * time.Second)
	for !ok() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

// TestGroupCommit: the first sync's reports go at once; those that arrive
// while it commits share the next entry, and every sync learns the
// outcome of the entry that carried its reports.
func TestGroupCommit(t *testing.T) {
	p := &proposer{release: make(chan error)}
	g := newGroupCommit(p)
	first := g.add(2, reports("a", "t1"))
	waitFor(t, "the first entry", func() bool { return p.count() == 1 })
	second := g.add(2, reports("a", "t2", "t3"))
	third := g.add(2, reports("b", "t4"))
	other := g.add(3, reports("c", "t5"))
	waitFor(t, "shard 3's entry, not held up by shard 2", func() bool { return p.count() == 2 })
	p.release <- nil // the first entry of shard 2 or shard 3
	p.release <- nil // the other
	if err := <-first; err != nil {
		t.Fatalf("first: %v", err)
	}
	if err := <-other; err != nil {
		t.Fatalf("other shard: %v", err)
	}
	waitFor(t, "the merged entry", func() bool { return p.count() == 3 })
	boom := errors.New("no quorum")
	p.release <- boom
	for _, c := range []<-chan error{second, third} {
		if err := <-c; !errors.Is(err, boom) {
			t.Fatalf("a sync of the merged entry got %v, want %v", err, boom)
		}
	}
	merged := p.entries[2]
	if len(merged.Status) != 3 || len(merged.ServiceIds) != 2 {
		t.Fatalf("merged entry: %d reports of services %v, want 3 of [a b]", len(merged.Status), merged.ServiceIds)
	}
	// Idle again: the next report goes at once.
	next := g.add(2, reports("a", "t6"))
	waitFor(t, "an entry after the idle", func() bool { return p.count() == 4 })
	p.release <- nil
	if err := <-next; err != nil {
		t.Fatal(err)
	}
}

// TestGroupCommitSplits: reports beyond maxGroupReports wait for an entry
// of their own.
func TestGroupCommitSplits(t *testing.T) {
	hold := make(chan error)
	p := &proposer{release: hold}
	g := newGroupCommit(p)
	g.add(2, reports("a", "first"))
	waitFor(t, "the first entry", func() bool { return p.count() == 1 })
	big := make([]string, maxGroupReports-1)
	for i := range big {
		big[i] = fmt.Sprint("t", i)
	}
	a := g.add(2, reports("a", big...))
	b := g.add(2, reports("a", "x1", "x2"))
	for range 3 {
		hold <- nil
	}
	for _, c := range []<-chan error{a, b} {
		if err := <-c; err != nil {
			t.Fatal(err)
		}
	}
	if p.count() != 3 || len(p.entries[1].Status) != maxGroupReports-1 || len(p.entries[2].Status) != 2 {
		t.Fatalf("entries: %d, want the big batch and the next apart", p.count())
	}
}
