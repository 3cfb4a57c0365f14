package cluster

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/lni/dragonboat/v4"
	"github.com/lni/dragonboat/v4/config"
	"github.com/lni/dragonboat/v4/logger"
	sm "github.com/lni/dragonboat/v4/statemachine"
	"google.golang.org/protobuf/encoding/protowire"
	"google.golang.org/protobuf/proto"

	"github.com/actorswarm/swarm/internal/clock"
	"github.com/actorswarm/swarm/internal/ident"
	"github.com/actorswarm/swarm/internal/rafttransport"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// ControlShard is the Raft shard holding the swarm object and the nodes.
const ControlShard uint64 = 1

// DefaultServiceShards is how many service shards a swarm has.
const DefaultServiceShards = 4

// ErrNoQuorum is returned when a write or linearizable read cannot be served
// because too few managers are reachable. Its text is Docker's.
var ErrNoQuorum = errors.New("The swarm does not have a leader. It's possible that too few managers are online. Make sure more than half of the managers are online.")

// How long a request waits for a leader to be elected before failing, and
// the bound on a proposal when the caller's context has no earlier deadline.
const (
	leaderWait      = 1500 * time.Millisecond
	proposeDeadline = 5 * time.Second
)

// RaftConfig configures a manager's NodeHost.
type RaftConfig struct {
	// Dir is the NodeHost directory (Raft log and snapshots).
	Dir string
	// RaftAddr is this manager's IP:port for Raft traffic.
	RaftAddr string
	// ReplicaID is this manager's replica ID in every shard.
	ReplicaID uint64
	// DeploymentID separates Raft traffic of different swarms (and of a swarm
	// forced anew from its former self).
	DeploymentID uint64
	// ServiceShards is how many service shards to run (default 4).
	ServiceShards int
	// RTT is the Raft tick (default 20ms); elections take 10 ticks.
	RTT time.Duration
	// CAFile, CertFile and KeyFile enable mutual TLS between managers.
	CAFile, CertFile, KeyFile string
	// Watch, when set, is told of every successfully applied command of
	// this replica. It must not block.
	Watch func(Applied)
	// NonVoting says, per shard, to restart this replica as non-voting:
	// a replica that joined as a non-voting member must be, as long as its
	// log (with no snapshot in front) replays its addition as one — else
	// dragonboat panics ("is not a nonVoting"). See HasSnapshot.
	NonVoting func(shard uint64) bool
}

func (c *RaftConfig) validate() error {
	if c.Dir == "" || c.RaftAddr == "" || c.ReplicaID == 0 {
		return fmt.Errorf("raft config: dir, address and replica ID are required: %w", ErrInvalid)
	}
	if c.ServiceShards <= 0 {
		c.ServiceShards = DefaultServiceShards
	}
	if c.RTT <= 0 {
		c.RTT = 20 * time.Millisecond
	}
	return nil
}

// StartMode says how StartRaft brings the shards up.
type StartMode int

// Start modes.
const (
	// Bootstrap creates new shards whose members are the given ones.
	Bootstrap StartMode = iota
	// Join starts non-voting replicas that the existing members then add,
	// first as non-voting and, once caught up, as voting members.
	Join
	// Restart resumes replicas from their data on disk.
	Restart
)

// Raft is a manager's NodeHost with the control shard and the service
// shards. Its methods are safe for concurrent use.
type Raft struct {
	cfg    RaftConfig
	nh     *dragonboat.NodeHost
	shards []uint64
	fsms   map[uint64]*fsm
}

var quietOnce sync.Once

func quietDragonboat() {
	quietOnce.Do(func() {
		for _, name := range []string{"dragonboat", "raft", "rsm", "transport", "logdb", "raftpb", "config", "settings", "registry", "grpc", "tan", "dragonboat/internal"} {
			logger.GetLogger(name).SetLevel(logger.ERROR)
		}
		// Failed dials to a dead peer are expected and retried; they would
		// flood the log at ERROR.
		logger.GetLogger("transport").SetLevel(logger.CRITICAL)
		// SWARM_RAFT_DEBUG=1 shows elections and leadership changes.
		if os.Getenv("SWARM_RAFT_DEBUG") != "" {
			logger.GetLogger("raft").SetLevel(logger.INFO)
			logger.GetLogger("dragonboat").SetLevel(logger.WARNING)
		}
	})
}

// ShardIDs lists the shards of a swarm with n service shards.
func ShardIDs(n int) []uint64 {
	ids := []uint64{ControlShard}
	for i := 0; i < n; i++ {
		ids = append(ids, ControlShard+1+uint64(i))
	}
	return ids
}

// StartRaft starts the NodeHost and every shard. members (replica ID →
// Raft address) is used only in Bootstrap mode.
func StartRaft(cfg RaftConfig, mode StartMode, members map[uint64]string) (*Raft, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	quietDragonboat()
	nhc := config.NodeHostConfig{
		NodeHostDir:    cfg.Dir,
		RTTMillisecond: uint64(cfg.RTT / time.Millisecond),
		RaftAddress:    cfg.RaftAddr,
		DeploymentID:   cfg.DeploymentID,
		// Our own transport: it redials a manager that restarted at the
		// first message instead of losing it (see internal/rafttransport).
		Expert: config.ExpertConfig{LogDB: config.GetTinyMemLogDBConfig(), TransportFactory: rafttransport.Factory{}},
	}
	if cfg.CAFile != "" {
		nhc.MutualTLS = true
		nhc.CAFile, nhc.CertFile, nhc.KeyFile = cfg.CAFile, cfg.CertFile, cfg.KeyFile
	}
	nh, err := dragonboat.NewNodeHost(nhc)
	if err != nil {
		return nil, fmt.Errorf("start raft: %w", err)
	}
	r := &Raft{cfg: cfg, nh: nh, shards: ShardIDs(cfg.ServiceShards), fsms: make(map[uint64]*fsm)}
	var initial map[uint64]dragonboat.Target
	join := false
	switch mode {
	case Bootstrap:
		initial = make(map[uint64]dragonboat.Target, len(members))
		for id, addr := range members {
			initial[id] = addr
		}
	case Join:
		join = true
	}
	for _, shard := range r.shards {
		f := &fsm{shardID: shard, store: NewStore(), watch: cfg.Watch}
		f.requestSnapshot = func() {
			ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
			defer cancel()
			if _, err := nh.SyncRequestSnapshot(ctx, shard, dragonboat.SnapshotOption{}); err != nil {
				f.snapshotAsked.Store(false) // asked again after the next entry
			}
		}
		r.fsms[shard] = f
		rc := config.Config{
			ReplicaID:          cfg.ReplicaID,
			ShardID:            shard,
			ElectionRTT:        10,
			HeartbeatRTT:       1,
			CheckQuorum:        true,
			PreVote:            true,
			SnapshotEntries:    0, // the state machine asks for them (fsm.snapshotDue)
			CompactionOverhead: 200,
			WaitReady:          true,
			IsNonVoting:        mode == Join || (cfg.NonVoting != nil && cfg.NonVoting(shard)),
		}
		create := func(uint64, uint64) sm.IStateMachine { return f }
		if err := r.startReplica(initial, join, create, rc); err != nil {
			nh.Close()
			return nil, fmt.Errorf("start shard %d: %w", shard, err)
		}
	}
	return r, nil
}

func (r *Raft) startReplica(initial map[uint64]dragonboat.Target, join bool, create sm.CreateStateMachineFunc, rc config.Config) error {
	deadline := time.Now().Add(5 * time.Second)
	for {
		err := r.nh.StartReplica(initial, join, create, rc)
		if !errors.Is(err, dragonboat.ErrShardNotReady) || time.Now().After(deadline) {
			return err
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Shards returns the IDs of every shard.
func (r *Raft) Shards() []uint64 { return append([]uint64(nil), r.shards...) }

// ServiceShard returns the service shard that holds the object with the
// given ID (a hash of the ID, stable for the swarm's lifetime).
func (r *Raft) ServiceShard(id string) uint64 {
	var h uint32 = 2166136261
	for i := 0; i < len(id); i++ {
		h ^= uint32(id[i])
		h *= 16777619
	}
	return ControlShard + 1 + uint64(h%uint32(r.cfg.ServiceShards))
}

// ReplicaID returns this manager's replica ID.
func (r *Raft) ReplicaID() uint64 { return r.cfg.ReplicaID }

// Leader returns the replica ID of shard's leader as this replica knows it.
func (r *Raft) Leader(shard uint64) (uint64, bool) {
	id, _, ok, err := r.nh.GetLeaderID(shard)
	if err != nil || !ok {
		return 0, false
	}
	return id, true
}

// IsLeader reports whether this replica leads shard.
func (r *Raft) IsLeader(shard uint64) bool {
	id, ok := r.Leader(shard)
	return ok && id == r.cfg.ReplicaID
}

// waitLeader waits (bounded) until shard has a leader, so that requests
// made during an election succeed and requests made without a quorum fail
// fast.
func (r *Raft) waitLeader(ctx context.Context, shard uint64) error {
	// An election takes 10 to 20 ticks.
	deadline := time.Now().Add(max(leaderWait, 25*r.cfg.RTT))
	for {
		_, _, ok, err := r.nh.GetLeaderID(shard)
		if errors.Is(err, dragonboat.ErrShardNotFound) || errors.Is(err, dragonboat.ErrClosed) {
			return raftError(err)
		}
		if err == nil && ok {
			return nil
		}
		if time.Now().After(deadline) {
			return ErrNoQuorum
		}
		select {
		case <-ctx.Done():
			return ErrNoQuorum
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// boundCtx bounds a request by proposeDeadline, or by the time an
// election takes with a long Raft tick (10 to 20 ticks) and some more.
func (r *Raft) boundCtx(ctx context.Context) (context.Context, context.CancelFunc) {
	bound := max(proposeDeadline, 30*r.cfg.RTT)
	if d, ok := ctx.Deadline(); ok && time.Until(d) < bound {
		return context.WithCancel(ctx)
	}
	return context.WithTimeout(ctx, bound)
}

// attempt bounds one try of a proposal or read: a request sent to a leader
// that just died is lost, and is retried once another is elected.
const attempt = time.Second

// retryable reports whether err means the request may not have been
// served and can be sent again. Proposals carry a request ID that the
// state machine deduplicates, so a retry never applies a command twice.
func retryable(err error) bool {
	return errors.Is(err, dragonboat.ErrTimeout) || errors.Is(err, dragonboat.ErrShardNotReady) ||
		errors.Is(err, dragonboat.ErrSystemBusy) || errors.Is(err, dragonboat.ErrAborted) ||
		errors.Is(err, dragonboat.ErrCanceled) || errors.Is(err, context.DeadlineExceeded) ||
		errors.Is(err, context.Canceled)
}

// try runs op in attempts bounded by attempt, within ctx bounded by
// proposeDeadline, waiting for a leader before each.
func (r *Raft) try(ctx context.Context, shard uint64, op func(context.Context) error) error {
	ctx, cancel := r.boundCtx(ctx)
	defer cancel()
	for {
		if err := r.waitLeader(ctx, shard); err != nil {
			return err
		}
		if d, _ := ctx.Deadline(); time.Until(d) < 2*r.cfg.RTT {
			return ErrNoQuorum
		}
		actx, acancel := context.WithTimeout(ctx, attempt)
		stop := r.cancelOnLeaderChange(actx, shard, acancel)
		err := op(actx)
		stop()
		// An attempt cut short by a leader change (or its own bound) while
		// the caller still waits is retried, whatever dragonboat made of it.
		cut := actx.Err() != nil && ctx.Err() == nil
		acancel()
		if err == nil {
			return nil
		}
		if !retryable(err) && !cut {
			return raftError(err)
		}
		select {
		case <-ctx.Done():
			return ErrNoQuorum
		case <-time.After(20 * time.Millisecond):
		}
	}
}

// cancelOnLeaderChange cancels an attempt as soon as shard's leader changes:
// a request sent to a leader that died is lost, and waiting out the attempt
// would only delay the retry to its successor. The returned func stops the
// watch.
func (r *Raft) cancelOnLeaderChange(ctx context.Context, shard uint64, cancel context.CancelFunc) func() {
	first, _ := r.Leader(shard)
	done := make(chan struct{})
	go func() {
		t := time.NewTicker(r.cfg.RTT)
		defer t.Stop()
		for {
			select {
			case <-done:
				return
			case <-ctx.Done():
				return
			case <-t.C:
				if id, ok := r.Leader(shard); ok && id != first {
					cancel()
					return
				}
			}
		}
	}()
	return func() { close(done) }
}

type requestKey struct{}

// requestScope numbers the proposals made for one user request.
type requestScope struct {
	id string
	n  atomic.Uint64
}

// WithRequestID returns a context whose proposals get request IDs derived
// from id and their order (id/1, id/2, ...): the same request served again
// (forwarded to another manager after the first vanished) proposes the
// same IDs, which the state machine applies once.
func WithRequestID(ctx context.Context, id string) context.Context {
	if id == "" {
		return ctx
	}
	return context.WithValue(ctx, requestKey{}, &requestScope{id: id})
}

func proposalID(ctx context.Context) string {
	if sc, ok := ctx.Value(requestKey{}).(*requestScope); ok {
		return fmt.Sprintf("%s/%d", sc.id, sc.n.Add(1))
	}
	return ident.New()
}

// Propose commits cmd to shard and returns its result. A command the state
// machine refused comes back as an error wrapping the package's sentinel;
// ErrNoQuorum when no quorum could commit it in time.
//
// cmd is not modified: its encoding is stamped with the time and, unless
// cmd carries one, a fresh request ID (see encodeCommand).
func (r *Raft) Propose(ctx context.Context, shard uint64, cmd *swarmv1.Command) (*swarmv1.Result, error) {
	var id string
	if cmd.RequestId == "" {
		id = proposalID(ctx)
	}
	data, err := encodeCommand(cmd, clock.Now().UnixNano(), id)
	if err != nil {
		return nil, err
	}
	var res sm.Result
	err = r.try(ctx, shard, func(c context.Context) error {
		var err error
		res, err = r.nh.SyncPropose(c, r.nh.GetNoOPSession(shard), data)
		return err
	})
	if err != nil {
		return nil, err
	}
	out := &swarmv1.Result{}
	if err := proto.Unmarshal(res.Data, out); err != nil {
		return nil, fmt.Errorf("decode result: %w", err)
	}
	if out.Error != "" {
		return out, CodeError(out.Code, out.Error)
	}
	return out, nil
}

// Field numbers of the Command fields that encodeCommand stamps.
var (
	cmdNowField = (&swarmv1.Command{}).ProtoReflect().Descriptor().Fields().ByName("now_unix_nano").Number()
	cmdIDField  = (&swarmv1.Command{}).ProtoReflect().Descriptor().Fields().ByName("request_id").Number()
)

// encodeCommand encodes cmd as if its date were now and its request ID id
// where cmd has none (0, empty), leaving cmd alone: the fields are
// appended to its encoding (a decoder takes fields in any order), not set
// on a copy of cmd, whose task batches may hold thousands of tasks.
func encodeCommand(cmd *swarmv1.Command, now int64, id string) ([]byte, error) {
	data, err := proto.Marshal(cmd)
	if err != nil {
		return nil, fmt.Errorf("encode command: %w", err)
	}
	if cmd.NowUnixNano == 0 && now != 0 {
		data = protowire.AppendTag(data, cmdNowField, protowire.VarintType)
		data = protowire.AppendVarint(data, uint64(now))
	}
	if cmd.RequestId == "" && id != "" {
		data = protowire.AppendTag(data, cmdIDField, protowire.BytesType)
		data = protowire.AppendString(data, id)
	}
	return data, nil
}

func raftError(err error) error {
	switch {
	case retryable(err), errors.Is(err, dragonboat.ErrTimeoutTooSmall), errors.Is(err, dragonboat.ErrInvalidDeadline):
		return ErrNoQuorum
	case errors.Is(err, dragonboat.ErrClosed), errors.Is(err, dragonboat.ErrShardClosed),
		errors.Is(err, dragonboat.ErrShardNotFound):
		return fmt.Errorf("this node is no longer a manager: %w", err)
	}
	return err
}

// Read runs fn on shard's state after a linearizable read barrier.
func (r *Raft) Read(ctx context.Context, shard uint64, fn Reader) (any, error) {
	var v any
	err := r.try(ctx, shard, func(c context.Context) error {
		var err error
		v, err = r.nh.SyncRead(c, shard, fn)
		return err
	})
	return v, err
}

// ReadShards runs fn on each shard's state after a linearizable read
// barrier, the shards at once (each barrier costs a round trip to a
// quorum), and returns the results in the order of shards.
func (r *Raft) ReadShards(ctx context.Context, shards []uint64, fn Reader) ([]any, error) {
	out := make([]any, len(shards))
	errs := make([]error, len(shards))
	var wg sync.WaitGroup
	for i, shard := range shards {
		wg.Go(func() { out[i], errs[i] = r.Read(ctx, shard, fn) })
	}
	wg.Wait()
	for _, err := range errs {
		if err != nil {
			return nil, err
		}
	}
	return out, nil
}

// LocalRead runs fn on this replica's state without a barrier: it may be
// slightly behind the leader.
func (r *Raft) LocalRead(shard uint64, fn Reader) (any, error) {
	f, ok := r.fsms[shard]
	if !ok {
		return nil, fmt.Errorf("shard %d: %w", shard, ErrNotFound)
	}
	return f.Lookup(fn)
}

// Membership is a shard's members: voting and non-voting, ID → address.
type Membership struct {
	Voting, NonVoting map[uint64]string
}

// Members returns shard's membership after a linearizable barrier.
func (r *Raft) Members(ctx context.Context, shard uint64) (Membership, error) {
	var out Membership
	err := r.try(ctx, shard, func(c context.Context) error {
		var err error
		out, err = r.members(c, shard)
		return err
	})
	return out, err
}

func (r *Raft) members(ctx context.Context, shard uint64) (Membership, error) {
	m, err := r.nh.SyncGetShardMembership(ctx, shard)
	if err != nil {
		return Membership{}, err
	}
	out := Membership{Voting: make(map[uint64]string), NonVoting: make(map[uint64]string)}
	for id, addr := range m.Nodes {
		out.Voting[id] = addr
	}
	for id, addr := range m.NonVotings {
		out.NonVoting[id] = addr
	}
	return out, nil
}

// changeMembers runs one membership change on every shard: skip says
// whether a shard is already as wanted, change makes it so. Each shard's
// change is retried (membership read again first) across leader changes
// and while another change is pending.
func (r *Raft) changeMembers(ctx context.Context, what string, skip func(Membership) bool, change func(c context.Context, shard uint64) error) error {
	for _, shard := range r.shards {
		err := r.try(ctx, shard, func(c context.Context) error {
			m, err := r.members(c, shard)
			if err != nil {
				return err
			}
			if skip(m) {
				return nil
			}
			err = change(c, shard)
			if errors.Is(err, dragonboat.ErrRejected) {
				// Another membership change is pending: try again.
				return dragonboat.ErrSystemBusy
			}
			return err
		})
		if err != nil {
			return fmt.Errorf("%s on shard %d: %w", what, shard, err)
		}
	}
	return nil
}

// AddNonVoting adds a non-voting replica to every shard that has not got it
// in any form. A new manager joins this way first: it catches up without
// counting toward the quorum, so a slow start cannot stall the shards.
func (r *Raft) AddNonVoting(ctx context.Context, replicaID uint64, addr string) error {
	return r.changeMembers(ctx, fmt.Sprintf("add non-voting replica %d", replicaID),
		func(m Membership) bool { return m.Voting[replicaID] == addr || m.NonVoting[replicaID] == addr },
		func(c context.Context, shard uint64) error {
			return r.nh.SyncRequestAddNonVoting(c, shard, replicaID, addr, 0)
		})
}

// AddReplica makes replicaID a voting member of every shard (promoting it
// when it is non-voting); shards where it votes already are left alone, so
// a retried promotion is harmless.
func (r *Raft) AddReplica(ctx context.Context, replicaID uint64, addr string) error {
	return r.changeMembers(ctx, fmt.Sprintf("add replica %d", replicaID),
		func(m Membership) bool { return m.Voting[replicaID] == addr },
		func(c context.Context, shard uint64) error {
			return r.nh.SyncRequestAddReplica(c, shard, replicaID, addr, 0)
		})
}

// RemoveReplica removes a replica from every shard; shards that no longer
// have it are left alone.
func (r *Raft) RemoveReplica(ctx context.Context, replicaID uint64) error {
	return r.changeMembers(ctx, fmt.Sprintf("remove replica %d", replicaID),
		func(m Membership) bool {
			_, voting := m.Voting[replicaID]
			_, nonVoting := m.NonVoting[replicaID]
			return !voting && !nonVoting
		},
		func(c context.Context, shard uint64) error {
			return r.nh.SyncRequestDeleteReplica(c, shard, replicaID, 0)
		})
}

// HasSnapshot reports whether the NodeHost directory dir holds a completed
// snapshot of shard for replica: a restart then replays the log from it,
// not from the replica's first entry.
func HasSnapshot(dir string, shard, replica uint64) bool {
	want := fmt.Sprintf("snapshot-%d-%d", shard, replica)
	found := false
	_ = filepath.WalkDir(dir, func(path string, d fs.DirEntry, err error) error {
		if err != nil || found || !d.IsDir() || d.Name() != want {
			return nil
		}
		entries, err := os.ReadDir(path)
		if err != nil {
			return fs.SkipDir
		}
		for _, e := range entries {
			n := e.Name()
			if e.IsDir() && strings.HasPrefix(n, "snapshot-") && !strings.Contains(n, ".") {
				found = true
			}
		}
		return fs.SkipDir
	})
	return found
}

// SettleVoting waits until this replica votes in every shard, then takes a
// local snapshot of each, so that a restart replays no entry from before
// the promotion (the replica then restarts as a voting member).
func (r *Raft) SettleVoting(ctx context.Context) error {
	for _, shard := range r.shards {
		for !r.votes(shard) {
			select {
			case <-ctx.Done():
				return fmt.Errorf("shard %d: replica not promoted to voting member: %w", shard, ctx.Err())
			case <-time.After(20 * time.Millisecond):
			}
		}
		if err := r.snapshotNow(ctx, shard); err != nil {
			return fmt.Errorf("shard %d: snapshot after promotion: %w", shard, err)
		}
	}
	return nil
}

// snapshotNow takes a local snapshot of shard. A snapshot asked for
// meanwhile (the state machine asks for its own, fsm.snapshotDue) makes
// dragonboat refuse another as busy: it is asked again until it is
// taken, within ctx bounded as a request is. A snapshot refused because
// nothing was applied since the last is no error.
func (r *Raft) snapshotNow(ctx context.Context, shard uint64) error {
	cctx, cancel := r.boundCtx(ctx)
	defer cancel()
	for {
		_, err := r.nh.SyncRequestSnapshot(cctx, shard, dragonboat.SnapshotOption{})
		switch {
		case err == nil || errors.Is(err, dragonboat.ErrRejected):
			return nil
		case !errors.Is(err, dragonboat.ErrSystemBusy):
			return err
		}
		select {
		case <-cctx.Done():
			return err
		case <-time.After(20 * time.Millisecond):
		}
	}
}

func (r *Raft) votes(shard uint64) bool {
	info := r.nh.GetNodeHostInfo(dragonboat.NodeHostInfoOption{SkipLogInfo: true})
	for _, si := range info.ShardInfoList {
		if si.ShardID == shard {
			return !si.Pending && !si.IsNonVoting
		}
	}
	return false
}

// WaitLeaders waits until this replica knows a leader in every shard: for a
// joining replica, that the leader has reached it.
func (r *Raft) WaitLeaders(ctx context.Context) error {
	for _, shard := range r.shards {
		for {
			if _, ok := r.Leader(shard); ok {
				break
			}
			select {
			case <-ctx.Done():
				return fmt.Errorf("shard %d: no leader reached this replica: %w", shard, ErrNoQuorum)
			case <-time.After(20 * time.Millisecond):
			}
		}
	}
	return nil
}

// TransferLeadership asks shard's leader to hand over to target and waits
// until it did or ctx ends. dragonboat may drop the request, so it is
// re-issued while waiting.
func (r *Raft) TransferLeadership(ctx context.Context, shard, target uint64) error {
	for {
		if id, ok := r.Leader(shard); ok && id == target {
			return nil
		}
		_ = r.nh.RequestLeaderTransfer(shard, target)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// Close stops every replica and the NodeHost.
func (r *Raft) Close() { r.nh.Close() }
