package cluster

import (
	"fmt"
	"io"
	"sync"
	"sync/atomic"

	sm "github.com/lni/dragonboat/v4/statemachine"
	"google.golang.org/protobuf/proto"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// Applied is what a replica reports after applying one entry: the shard, the
// command and its result. Watchers (the health actor, service supervisors)
// learn of changes through it.
type Applied struct {
	ShardID uint64
	Command *swarmv1.Command
	Result  *swarmv1.Result
}

// Reader reads a shard's store under its lock; it must not keep references
// into the store after it returns (the Store's getters return copies).
type Reader func(*Store) any

// fsm adapts a Store to dragonboat's regular state machine. dragonboat calls
// Update from one goroutine and Lookup from others, so a RWMutex guards the
// store; watch is called after each apply, outside the lock, and must not
// block.
type fsm struct {
	shardID uint64
	mu      sync.RWMutex
	store   *Store
	watch   func(Applied)
	// requestSnapshot asks dragonboat for a snapshot of this replica (in
	// a goroutine of its own); snapshotAsked is set while one is asked
	// for, and sinceSnapshot counts the entries applied since the last.
	requestSnapshot func()
	snapshotAsked   atomic.Bool
	sinceSnapshot   uint64
}

// A replica saves a snapshot once it applied snapshotMinEntries entries
// since its last one, and one entry per snapshotObjectsPerEntry objects of
// its state (nodes, services, tasks, networks): a snapshot costs in
// proportion to the state (a quarter of a million tasks take a third of
// a second of a CPU to encode, entries waiting meanwhile), so a big state is
// saved after more entries, the cost of snapshots per entry staying
// bounded. dragonboat's own count (SnapshotEntries, fixed) is off.
const (
	snapshotMinEntries      = 1000
	snapshotObjectsPerEntry = 100
)

// snapshotDue reports whether a snapshot is due; under f.mu.
func (f *fsm) snapshotDue() bool {
	return f.sinceSnapshot >= max(snapshotMinEntries, uint64(f.store.objects()/snapshotObjectsPerEntry))
}

var _ sm.IStateMachine = (*fsm)(nil)

func (f *fsm) Update(e sm.Entry) (sm.Result, error) {
	cmd := &swarmv1.Command{}
	var res *swarmv1.Result
	f.sinceSnapshot++
	if err := proto.Unmarshal(e.Cmd, cmd); err != nil {
		res = &swarmv1.Result{Error: "malformed command: " + err.Error(), Code: Code(ErrInvalid)}
	} else {
		f.mu.Lock()
		r, err := f.store.ApplyAt(e.Index, cmd)
		due := f.snapshotDue()
		f.mu.Unlock()
		if err != nil {
			r = &swarmv1.Result{Error: err.Error(), Code: Code(err)}
		}
		res = r
		if due && f.requestSnapshot != nil && f.snapshotAsked.CompareAndSwap(false, true) {
			go f.requestSnapshot()
		}
	}
	data, err := proto.Marshal(res)
	if err != nil {
		return sm.Result{}, fmt.Errorf("encode result: %w", err)
	}
	if f.watch != nil && res.Error == "" {
		f.watch(Applied{ShardID: f.shardID, Command: cmd, Result: res})
	}
	return sm.Result{Value: 1, Data: data}, nil
}

func (f *fsm) Lookup(q any) (any, error) {
	read, ok := q.(Reader)
	if !ok {
		return nil, fmt.Errorf("lookup: unsupported query %T", q)
	}
	f.mu.RLock()
	defer f.mu.RUnlock()
	return read(f.store), nil
}

func (f *fsm) SaveSnapshot(w io.Writer, _ sm.ISnapshotFileCollection, _ <-chan struct{}) error {
	// Readers may go on meanwhile; Update cannot (the lock, and
	// dragonboat never saves and updates at once).
	f.mu.RLock()
	data, err := f.store.EncodeSnapshot()
	f.mu.RUnlock()
	if err != nil {
		return fmt.Errorf("encode snapshot: %w", err)
	}
	f.sinceSnapshot = 0
	f.snapshotAsked.Store(false)
	_, err = w.Write(data)
	return err
}

func (f *fsm) RecoverFromSnapshot(r io.Reader, _ []sm.SnapshotFile, _ <-chan struct{}) error {
	data, err := io.ReadAll(r)
	if err != nil {
		return fmt.Errorf("read snapshot: %w", err)
	}
	snap, err := DecodeSnapshot(data)
	if err != nil {
		return err
	}
	f.mu.Lock()
	defer f.mu.Unlock()
	f.sinceSnapshot = 0
	return f.store.Restore(snap)
}

func (f *fsm) Close() error { return nil }

// DecodeSnapshot parses and checks an encoded snapshot; a truncated or
// garbled one is an error wrapping ErrInvalid.
func DecodeSnapshot(data []byte) (*swarmv1.Snapshot, error) {
	snap := &swarmv1.Snapshot{}
	if err := proto.Unmarshal(data, snap); err != nil {
		return nil, fmt.Errorf("decode snapshot: %v: %w", err, ErrInvalid)
	}
	if snap.GetVersion() != SnapshotVersion {
		return nil, fmt.Errorf("snapshot version %d, want %d: %w", snap.GetVersion(), SnapshotVersion, ErrInvalid)
	}
	return snap, nil
}
