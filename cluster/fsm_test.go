package cluster

import (
	"fmt"
	"io"
	"sync/atomic"
	"testing"
	"time"

	sm "github.com/lni/dragonboat/v4/statemachine"
	"google.golang.org/protobuf/proto"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// askingFSM is a replica's state machine that counts the snapshots it
// asks for.
func askingFSM() (*fsm, *atomic.Int32) {
	var asked atomic.Int32
	f := &fsm{shardID: 2, store: NewStore()}
	f.requestSnapshot = func() { asked.Add(1) }
	return f, &asked
}

// applyEntries applies n entries to f and returns how many snapshots it
// asked for meanwhile (requests are made in goroutines of their own).
func applyEntries(t *testing.T, f *fsm, asked *atomic.Int32, n int) int32 {
	t.Helper()
	data, err := proto.Marshal(cmdRemoveNode(0, "nope"))
	if err != nil {
		t.Fatal(err)
	}
	before := asked.Load()
	for range n {
		if _, err := f.Update(sm.Entry{Cmd: data}); err != nil {
			t.Fatal(err)
		}
	}
	time.Sleep(50 * time.Millisecond)
	return asked.Load() - before
}

// TestSnapshotsAskedInProportionToTheState: a replica asks for a snapshot
// once it applied 1,000 entries since its last (or since it started), and
// one entry per 100 objects when its state is bigger; it asks once until
// the snapshot is saved.
func TestSnapshotsAskedInProportionToTheState(t *testing.T) {
	f, asked := askingFSM()
	if n := applyEntries(t, f, asked, snapshotMinEntries-1); n != 0 {
		t.Fatalf("%d snapshots asked for after %d entries", n, snapshotMinEntries-1)
	}
	if n := applyEntries(t, f, asked, 5); n != 1 {
		t.Fatalf("%d snapshots asked for once %d entries were applied, want 1 (asked once until saved)", n, snapshotMinEntries)
	}
	if err := f.SaveSnapshot(io.Discard, nil, nil); err != nil {
		t.Fatal(err)
	}
	if n := applyEntries(t, f, asked, snapshotMinEntries-1); n != 0 {
		t.Fatalf("%d snapshots asked for %d entries after the last", n, snapshotMinEntries-1)
	}
	if n := applyEntries(t, f, asked, 1); n != 1 {
		t.Fatalf("%d snapshots asked for %d entries after the last, want 1", n, snapshotMinEntries)
	}

	// A state of 250,000 tasks (and a service): one snapshot per 2,500
	// entries.
	f, asked = askingFSM()
	svc := &swarmv1.Service{Id: "svc1", Spec: &swarmv1.ServiceSpec{Name: "web", Task: &swarmv1.TaskSpec{Image: "img"}}}
	mustApply(t, f.store, &swarmv1.Command{Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}})
	for b := range 125 {
		batch := &swarmv1.TaskBatch{}
		for i := range 2000 {
			batch.Create = append(batch.Create, &swarmv1.Task{Id: fmt.Sprintf("t%03d%04d", b, i), ServiceId: "svc1", Slot: uint64(b*2000 + i + 1), Spec: svc.Spec.Task})
		}
		mustApply(t, f.store, &swarmv1.Command{NowUnixNano: 1, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: batch}})
	}
	const want = 250_001 / snapshotObjectsPerEntry
	if n := applyEntries(t, f, asked, want-1); n != 0 {
		t.Fatalf("%d snapshots asked for after %d entries, with 250,001 objects", n, want-1)
	}
	if n := applyEntries(t, f, asked, 1); n != 1 {
		t.Fatalf("%d snapshots asked for after %d entries, with 250,001 objects; want 1", n, want)
	}
}

// BenchmarkEncodeSnapshot encodes a service shard of a million-task swarm
// (250,000 tasks of 25 services), as a replica does under its lock.
func BenchmarkEncodeSnapshot(b *testing.B) {
	s := NewStore()
	spec := &swarmv1.TaskSpec{Image: "sim", Runtime: "sim"}
	for i := range 25 {
		svc := &swarmv1.Service{Id: fmt.Sprintf("svc%02d", i), Spec: &swarmv1.ServiceSpec{Name: fmt.Sprintf("sim-%02d", i), Task: spec}}
		if _, err := s.Apply(&swarmv1.Command{Cmd: &swarmv1.Command_CreateService{CreateService: &swarmv1.CreateService{Service: svc}}}); err != nil {
			b.Fatal(err)
		}
		for j := range 5 {
			batch := &swarmv1.TaskBatch{}
			for k := range 2000 {
				batch.Create = append(batch.Create, &swarmv1.Task{Id: fmt.Sprintf("t%02d%d%04d0123456789abcdefg", i, j, k), ServiceId: svc.Id, Slot: uint64(j*2000 + k + 1),
					SpecVersion: 1, NodeId: fmt.Sprintf("n%04d0123456789abcdefghij", k%3333), Spec: spec,
					Status: &swarmv1.TaskStatus{State: swarmv1.TaskState_TASK_STATE_RUNNING, Message: "started"}})
			}
			if _, err := s.Apply(&swarmv1.Command{NowUnixNano: 1, Cmd: &swarmv1.Command_TaskBatch{TaskBatch: batch}}); err != nil {
				b.Fatal(err)
			}
		}
	}
	for b.Loop() {
		data, err := s.EncodeSnapshot()
		if err != nil {
			b.Fatal(err)
		}
		b.SetBytes(int64(len(data)))
	}
}
