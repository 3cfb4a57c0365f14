package cluster

import (
	"context"
	"errors"
	"net"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"
	"time"

	"github.com/lni/dragonboat/v4"
	"google.golang.org/protobuf/proto"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// leaderDeadline bounds every wait for an election in these tests; with the
// default 20 ms tick an election takes well under a second.
const leaderDeadline = 10 * time.Second

// freeRaftAddrs returns n distinct loopback addresses that were free a
// moment ago: all listeners are open at once so no port repeats.
func freeRaftAddrs(tb testing.TB, n int) []string {
	tb.Helper()
	ls := make([]net.Listener, 0, n)
	for range n {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			tb.Fatalf("pick a free port: %v", err)
		}
		ls = append(ls, l)
	}
	addrs := make([]string, 0, n)
	for _, l := range ls {
		addrs = append(addrs, l.Addr().String())
		l.Close()
	}
	return addrs
}

// appliedLog records what a replica's Watch was told.
type appliedLog struct {
	mu      sync.Mutex
	applied []Applied
}

func (l *appliedLog) add(a Applied) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.applied = append(l.applied, a)
}

func (l *appliedLog) get() []Applied {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Applied(nil), l.applied...)
}

// raftGroup is a swarm's managers in one process: replica i+1 is rafts[i].
// Its methods are called from the test goroutine only.
type raftGroup struct {
	addrs []string
	rafts []*Raft
	alive []bool
	logs  []*appliedLog
}

// startRaftGroup bootstraps n replicas of the control shard and one service
// shard on loopback, without TLS, and closes them when the test ends.
func startRaftGroup(tb testing.TB, n int) *raftGroup {
	tb.Helper()
	g := &raftGroup{addrs: freeRaftAddrs(tb, n)}
	// The directories are made before the cleanup is registered so that
	// they are removed after the NodeHosts are closed.
	dirs := make([]string, n)
	for i := range dirs {
		dirs[i] = tb.TempDir()
	}
	tb.Cleanup(g.closeAll)
	members := make(map[uint64]string, n)
	for i, addr := range g.addrs {
		members[uint64(i+1)] = addr
	}
	for i := range n {
		log := &appliedLog{}
		r, err := StartRaft(RaftConfig{
			Dir:           dirs[i],
			RaftAddr:      g.addrs[i],
			ReplicaID:     uint64(i + 1),
			ServiceShards: 1,
			Watch:         log.add,
		}, Bootstrap, members)
		if err != nil {
			tb.Fatalf("StartRaft replica %d: %v", i+1, err)
		}
		g.rafts = append(g.rafts, r)
		g.alive = append(g.alive, true)
		g.logs = append(g.logs, log)
	}
	return g
}

func (g *raftGroup) stop(i int) {
	if g.alive[i] {
		g.alive[i] = false
		g.rafts[i].Close()
	}
}

func (g *raftGroup) closeAll() {
	for i := range g.rafts {
		g.stop(i)
	}
}

// live returns the indexes of the running replicas.
func (g *raftGroup) live() []int {
	var out []int
	for i, ok := range g.alive {
		if ok {
			out = append(out, i)
		}
	}
	return out
}

// agreedLeader returns the index of shard's leader when every running
// replica names the same running one and it is not replica not.
func (g *raftGroup) agreedLeader(shard, not uint64) (int, bool) {
	var leader uint64
	for _, i := range g.live() {
		id, ok := g.rafts[i].Leader(shard)
		if !ok || id == not || (leader != 0 && id != leader) {
			return 0, false
		}
		leader = id
	}
	if leader == 0 || leader > uint64(len(g.rafts)) || !g.alive[leader-1] {
		return 0, false
	}
	return int(leader - 1), true
}

// waitLeader polls until the running replicas agree on a leader of shard
// other than replica not (0 for any) and returns its index.
func (g *raftGroup) waitLeader(tb testing.TB, shard, not uint64) int {
	tb.Helper()
	deadline := time.Now().Add(leaderDeadline)
	tick := time.NewTicker(10 * time.Millisecond)
	defer tick.Stop()
	for {
		if i, ok := g.agreedLeader(shard, not); ok {
			return i
		}
		if time.Now().After(deadline) {
			tb.Fatalf("replicas %v agreed on no leader of shard %d (not %d) within %v", g.live(), shard, not, leaderDeadline)
		}
		<-tick.C
	}
}

// raftInitCommands returns the InitCluster that makes replica 1 the first
// manager and an AddNode of worker w1.
func raftInitCommands(g *raftGroup) []*swarmv1.Command {
	return []*swarmv1.Command{
		cmdInitCluster(0, storeCluster(), storeManager("m1", "alpha", g.addrs[0], 1)),
		cmdAddNode(0, storeWorker("w1", "gamma")),
	}
}

func readSnapshot(s *Store) any { return s.Snapshot() }

// mustRead reads the control shard linearizably through replica i.
func mustRead(t *testing.T, g *raftGroup, i int) *swarmv1.Snapshot {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	v, err := g.rafts[i].Read(ctx, ControlShard, readSnapshot)
	if err != nil {
		t.Fatalf("Read through replica %d: %v", i+1, err)
	}
	return v.(*swarmv1.Snapshot)
}

func mustPropose(t *testing.T, g *raftGroup, i int, cmd *swarmv1.Command) *swarmv1.Result {
	t.Helper()
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	defer cancel()
	res, err := g.rafts[i].Propose(ctx, ControlShard, cmd)
	if err != nil {
		t.Fatalf("Propose through replica %d: %v", i+1, err)
	}
	return res
}

// otherThan returns a running replica index not in skip.
func (g *raftGroup) otherThan(skip ...int) int {
	for _, i := range g.live() {
		if !slices.Contains(skip, i) {
			return i
		}
	}
	return -1
}

func TestRaftReplicasAndQuorumLoss(t *testing.T) {
	if testing.Short() {
		t.Skip("starts three Raft NodeHosts")
	}
	g := startRaftGroup(t, 3)
	leader := g.waitLeader(t, ControlShard, 0)
	follower := g.otherThan(leader)
	third := g.otherThan(leader, follower)
	t.Logf("replica %d leads; proposing through %d, reading through %d", leader+1, follower+1, third+1)

	// Writes through a follower are forwarded to the leader.
	for _, cmd := range raftInitCommands(g) {
		res := mustPropose(t, g, follower, cmd)
		// The proposer stamps the time the replicas apply.
		if n := res.GetNode(); n.GetVersion() != 1 || n.GetCreatedUnixNano() == 0 {
			t.Errorf("result node %v, want a new node at version 1 with a creation time", n)
		}
	}
	// A refused command comes back as its sentinel and changes nothing.
	ctx, cancel := context.WithTimeout(t.Context(), 5*time.Second)
	_, err := g.rafts[leader].Propose(ctx, ControlShard, raftInitCommands(g)[0])
	cancel()
	if !errors.Is(err, ErrExists) {
		t.Errorf("second InitCluster error = %v, want ErrExists", err)
	}

	snap := mustRead(t, g, third)
	if snap.GetCluster().GetId() != "c1" || len(snap.Nodes) != 2 || snap.Nodes[0].Id != "m1" || snap.Nodes[1].Id != "w1" {
		t.Fatalf("read through replica %d: %v, want cluster c1 with m1 and w1", third+1, snap)
	}
	// ReadShards reads every shard at once and keeps their order: only
	// the control shard has the cluster.
	ctx, cancel = context.WithTimeout(t.Context(), 5*time.Second)
	parts, err := g.rafts[third].ReadShards(ctx, g.rafts[third].Shards(), func(s *Store) any { return s.Cluster() != nil })
	cancel()
	if err != nil || len(parts) != len(g.rafts[third].Shards()) || parts[0] != true || slices.Contains(parts[1:], any(true)) {
		t.Errorf("ReadShards of every shard = %v, %v; want the cluster in the first (control) only", parts, err)
	}
	// Every replica applied the same entries to the same state, and told
	// its watcher of the two accepted commands only.
	for _, i := range g.live() {
		if got := mustRead(t, g, i); !proto.Equal(got, snap) {
			t.Errorf("replica %d state:\n%v\nreplica %d state:\n%v", i+1, got, third+1, snap)
		}
		applied := g.logs[i].get()
		if len(applied) != 2 || applied[0].Command.GetInitCluster() == nil || applied[1].Command.GetAddNode() == nil {
			t.Errorf("replica %d watched %d applies %v, want InitCluster then AddNode", i+1, len(applied), applied)
			continue
		}
		for _, a := range applied {
			if a.ShardID != ControlShard || a.Result.GetError() != "" {
				t.Errorf("replica %d watched %+v, want a successful apply on the control shard", i+1, a)
			}
		}
	}

	// Losing the leader elects another; the two left still commit.
	old := uint64(leader + 1)
	g.stop(leader)
	leader = g.waitLeader(t, ControlShard, old)
	survivor := g.otherThan(leader)
	t.Logf("replica %d closed, replica %d leads", old, leader+1)
	mustPropose(t, g, survivor, cmdSetStates(0, stateChange("w1", swarmv1.NodeState_NODE_STATE_DOWN, "heartbeat failure")))
	snap = mustRead(t, g, leader)
	if w1 := snap.Nodes[1]; w1.GetStatus().GetState() != swarmv1.NodeState_NODE_STATE_DOWN {
		t.Errorf("w1 after SetNodeStates through replica %d: %v, want DOWN", survivor+1, w1)
	}

	// Losing a second manager loses the quorum: writes and linearizable
	// reads fail fast with ErrNoQuorum, local reads still serve.
	g.stop(leader)
	last := g.live()[0]
	ctx, cancel = context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	start := time.Now()
	_, err = g.rafts[last].Propose(ctx, ControlShard, cmdSetStates(0, stateChange("w1", swarmv1.NodeState_NODE_STATE_READY, "")))
	if took := time.Since(start); !errors.Is(err, ErrNoQuorum) || took > 6*time.Second {
		t.Errorf("Propose without quorum = %v after %v, want ErrNoQuorum within 6s", err, took.Round(time.Millisecond))
	} else {
		t.Logf("Propose without quorum failed after %v", took.Round(time.Millisecond))
	}
	start = time.Now()
	_, err = g.rafts[last].Read(ctx, ControlShard, readSnapshot)
	if took := time.Since(start); !errors.Is(err, ErrNoQuorum) || took > 6*time.Second {
		t.Errorf("Read without quorum = %v after %v, want ErrNoQuorum within 6s", err, took.Round(time.Millisecond))
	} else {
		t.Logf("Read without quorum failed after %v", took.Round(time.Millisecond))
	}
	if parts, err := g.rafts[last].ReadShards(ctx, g.rafts[last].Shards(), readSnapshot); !errors.Is(err, ErrNoQuorum) || parts != nil {
		t.Errorf("ReadShards without quorum = %v, %v; want ErrNoQuorum", parts, err)
	}
	v, err := g.rafts[last].LocalRead(ControlShard, readSnapshot)
	if err != nil {
		t.Fatalf("LocalRead without quorum: %v", err)
	}
	if !proto.Equal(v.(*swarmv1.Snapshot), snap) {
		t.Errorf("LocalRead on replica %d:\n%v\nwant the last committed\n%v", last+1, v, snap)
	}
}

func TestProposalIDsDeriveFromTheRequest(t *testing.T) {
	ctx := WithRequestID(context.Background(), "req")
	if a, b := proposalID(ctx), proposalID(ctx); a != "req/1" || b != "req/2" {
		t.Fatalf("proposal IDs %q, %q; want req/1, req/2", a, b)
	}
	// The same request served again (another manager) proposes the same IDs.
	again := WithRequestID(context.Background(), "req")
	if a := proposalID(again); a != "req/1" {
		t.Fatalf("retried request proposes %q, want req/1", a)
	}
	if a, b := proposalID(context.Background()), proposalID(context.Background()); a == b || a == "" {
		t.Fatalf("proposals without a request got %q and %q; want fresh distinct IDs", a, b)
	}
}

func TestHasSnapshot(t *testing.T) {
	dir := t.TempDir()
	base := filepath.Join(dir, "vm", "123", "snapshot-part-1")
	mk := func(p string) {
		t.Helper()
		if err := os.MkdirAll(filepath.Join(base, p), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	mk("snapshot-1-2")
	if HasSnapshot(dir, 1, 2) {
		t.Fatal("an empty snapshot directory counted as a snapshot")
	}
	mk("snapshot-1-2/snapshot-0000000000000007.generating")
	if HasSnapshot(dir, 1, 2) {
		t.Fatal("a snapshot still being generated counted")
	}
	mk("snapshot-1-2/snapshot-0000000000000007")
	if !HasSnapshot(dir, 1, 2) {
		t.Fatal("a completed snapshot not found")
	}
	if HasSnapshot(dir, 1, 3) || HasSnapshot(dir, 2, 2) {
		t.Fatal("a snapshot of another replica or shard counted")
	}
}

// TestEncodeCommandStampsOnlyWhatIsMissing: the encoding of a command
// carries the date and request ID given when the command has none, its
// own otherwise, and the command is left as it was.
func TestEncodeCommandStampsOnlyWhatIsMissing(t *testing.T) {
	batch := &swarmv1.Command{Cmd: &swarmv1.Command_TaskBatch{TaskBatch: &swarmv1.TaskBatch{
		Create: []*swarmv1.Task{{Id: "t1", ServiceId: "s1", Spec: &swarmv1.TaskSpec{Image: "img"}}}, ServiceIds: []string{"s1"},
	}}}
	for _, tc := range []struct {
		name    string
		cmd     *swarmv1.Command
		now     int64
		id      string
		wantNow int64
		wantID  string
	}{
		{"bare", batch, 42, "req-1", 42, "req-1"},
		{"dated", &swarmv1.Command{NowUnixNano: 7, Cmd: batch.Cmd}, 42, "req-1", 7, "req-1"},
		{"with its own ID", &swarmv1.Command{RequestId: "mine", Cmd: batch.Cmd}, 42, "", 42, "mine"},
		{"nothing to stamp", &swarmv1.Command{Cmd: batch.Cmd}, 0, "", 0, ""},
	} {
		before := proto.Clone(tc.cmd)
		data, err := encodeCommand(tc.cmd, tc.now, tc.id)
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		got := &swarmv1.Command{}
		if err := proto.Unmarshal(data, got); err != nil {
			t.Fatalf("%s: decode: %v", tc.name, err)
		}
		want := proto.Clone(tc.cmd).(*swarmv1.Command)
		want.NowUnixNano, want.RequestId = tc.wantNow, tc.wantID
		if !proto.Equal(got, want) {
			t.Errorf("%s: decoded %v, want %v", tc.name, got, want)
		}
		if !proto.Equal(tc.cmd, before) {
			t.Errorf("%s: the command changed to %v", tc.name, tc.cmd)
		}
	}
}

// singleReplicaConfig is the configuration of a lone replica with one
// service shard, in a directory of the test's.
func singleReplicaConfig(t *testing.T) RaftConfig {
	return RaftConfig{Dir: t.TempDir(), RaftAddr: freeRaftAddrs(t, 1)[0], ReplicaID: 1, ServiceShards: 1}
}

// startSingleReplica bootstraps a lone replica with cfg and waits for it
// to lead the control shard.
func startSingleReplica(t *testing.T, cfg RaftConfig) (*Raft, *raftGroup) {
	t.Helper()
	r, err := StartRaft(cfg, Bootstrap, map[uint64]string{1: cfg.RaftAddr})
	if err != nil {
		t.Fatal(err)
	}
	g := &raftGroup{addrs: []string{cfg.RaftAddr}, rafts: []*Raft{r}, alive: []bool{true}}
	t.Cleanup(g.closeAll)
	g.waitLeader(t, ControlShard, 0)
	return r, g
}

// TestRaftRestartsFromItsSnapshot: a replica restarts from its snapshot
// and the entries after it.
func TestRaftRestartsFromItsSnapshot(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Raft NodeHost")
	}
	cfg := singleReplicaConfig(t)
	dir := cfg.Dir
	r, g := startSingleReplica(t, cfg)
	for _, cmd := range raftInitCommands(g) {
		mustPropose(t, g, 0, cmd)
	}
	ctx, cancel := context.WithTimeout(t.Context(), 10*time.Second)
	defer cancel()
	if _, err := r.nh.SyncRequestSnapshot(ctx, ControlShard, dragonboat.SnapshotOption{}); err != nil {
		t.Fatalf("snapshot: %v", err)
	}
	if !HasSnapshot(dir, ControlShard, 1) {
		t.Fatal("no snapshot saved")
	}
	mustPropose(t, g, 0, cmdAddNode(0, storeWorker("w2", "delta")))
	want := mustRead(t, g, 0)
	g.stop(0)

	r, err := StartRaft(cfg, Restart, nil)
	if err != nil {
		t.Fatalf("restart: %v", err)
	}
	g.rafts[0], g.alive[0] = r, true
	g.waitLeader(t, ControlShard, 0)
	if got := mustRead(t, g, 0); !proto.Equal(got, want) || len(got.GetNodes()) != 3 {
		t.Fatalf("after the restart:\n%v\nwant\n%v", got, want)
	}
}

// TestRaftWaitsForTheElectionOfALongTick: with a long Raft tick (an
// election takes 10 to 20 ticks, here 6 to 12 s) a request made at once
// waits for the first leader instead of failing after the usual 5 s.
func TestRaftWaitsForTheElectionOfALongTick(t *testing.T) {
	if testing.Short() {
		t.Skip("waits for a slow election")
	}
	dir, addr := t.TempDir(), freeRaftAddrs(t, 1)[0]
	r, err := StartRaft(RaftConfig{Dir: dir, RaftAddr: addr, ReplicaID: 1, ServiceShards: 1, RTT: 600 * time.Millisecond},
		Bootstrap, map[uint64]string{1: addr})
	if err != nil {
		t.Fatal(err)
	}
	g := &raftGroup{addrs: []string{addr}, rafts: []*Raft{r}, alive: []bool{true}}
	t.Cleanup(g.closeAll)
	if _, err := r.Propose(t.Context(), ControlShard, raftInitCommands(g)[0]); err != nil {
		t.Fatalf("first proposal: %v", err)
	}
}

// TestRaftSnapshotsByItself: a replica saves a snapshot once it applied
// enough entries, without being asked (fsm.snapshotDue asks dragonboat).
func TestRaftSnapshotsByItself(t *testing.T) {
	if testing.Short() {
		t.Skip("starts a Raft NodeHost")
	}
	cfg := singleReplicaConfig(t)
	dir := cfg.Dir
	r, _ := startSingleReplica(t, cfg)
	var wg sync.WaitGroup
	for w := range 8 {
		wg.Go(func() {
			for i := w; i < snapshotMinEntries+8; i += 8 {
				// Refused (no swarm yet), applied all the same.
				_, err := r.Propose(t.Context(), ControlShard, cmdRemoveNode(0, "nope"))
				if err != nil && !errors.Is(err, ErrNoCluster) {
					t.Errorf("proposal %d: %v", i, err)
					return
				}
			}
		})
	}
	wg.Wait()
	deadline := time.Now().Add(10 * time.Second)
	for !HasSnapshot(dir, ControlShard, 1) {
		if time.Now().After(deadline) {
			t.Fatalf("no snapshot after %d entries", snapshotMinEntries+8)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestSnapshotNowWhileAnotherIsTaken: a snapshot asked for while another
// is being taken (the state machine asks for its own) is asked again
// rather than failed as busy: a replica promoted under load failed to join
// with "snapshot after promotion: system is too busy".
func TestSnapshotNowWhileAnotherIsTaken(t *testing.T) {
	if testing.Short() {
		t.Skip("starts Raft")
	}
	r, g := startSingleReplica(t, singleReplicaConfig(t))
	for _, cmd := range raftInitCommands(g) {
		mustPropose(t, g, 0, cmd)
	}
	errs := make(chan error, 8)
	for range cap(errs) {
		go func() { errs <- r.snapshotNow(t.Context(), ControlShard) }()
	}
	for range cap(errs) {
		if err := <-errs; err != nil {
			t.Errorf("snapshot while others are taken: %v", err)
		}
	}
}
