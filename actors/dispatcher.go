package actors

import (
	"cmp"
	"context"
	"fmt"
	"slices"
	"sync"
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorswarm/swarm/cluster"
	"github.com/actorswarm/swarm/internal/deadline"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// DispatcherName is the dispatcher's name on every manager.
const DispatcherName = "dispatcher"

// DispatchControl is what the dispatcher needs of its manager.
type DispatchControl interface {
	// ShardOf returns the service shard of a service.
	ShardOf(serviceID string) uint64
	// ServiceShards lists the service shards.
	ServiceShards() []uint64
	// Propose commits cmd to shard; it blocks.
	Propose(ctx context.Context, shard uint64, cmd *swarmv1.Command) error
	// Barrier returns once this manager's replica of shard has applied
	// what its leader had committed when it was called; it blocks.
	Barrier(ctx context.Context, shard uint64) error
	// TasksOfNode returns the tasks assigned to a node, shard by shard,
	// each read as cluster.Store.ReadNodeTasks does with the shard's
	// revision in since.
	TasksOfNode(nodeID string, known map[string]uint64, since map[uint64]uint64, withIDs bool) ([]ShardTasks, error)
	// Mesh returns the routing mesh: published ports and their backends.
	Mesh() *swarmv1.Mesh
	// Attach fills in the overlay addresses of tasks whose services use
	// networks, allocating those they lack; it blocks.
	Attach(ctx context.Context, tasks []*swarmv1.Task) error
	// AttachNode returns the node's own addresses on the networks of the
	// services that publish ports, allocating those it lacks; it blocks.
	AttachNode(ctx context.Context, nodeID string) ([]*swarmv1.Attachment, error)
	// Release frees the overlay addresses of tasks that ended; it blocks.
	Release(ctx context.Context, taskIDs []string) error
	// SetPortErrors records the published ports a node cannot serve,
	// unless they are recorded already; it blocks.
	SetPortErrors(ctx context.Context, nodeID string, errs map[string]string) error
}

// ShardTasks is what TasksOfNode read of a node's tasks in one shard.
type ShardTasks struct {
	Shard uint64
	cluster.NodeTasks
}

// Dispatcher serves nodes' task syncs on a manager: it commits the state
// changes they report (one entry per shard) and answers the tasks they
// must run or stop. It keeps no state; each sync is served in a goroutine.
type Dispatcher struct {
	ctl      DispatchControl
	commits  *groupCommit
	barriers *barrierGroup
	// deadlines are the syncs' (deadline.Shared: thousands a second
	// in a big swarm).
	deadlines deadline.Shared
}

// NewDispatcher returns a dispatcher.
func NewDispatcher(ctl DispatchControl) *Dispatcher {
	return &Dispatcher{ctl: ctl, commits: newGroupCommit(ctl), barriers: newBarrierGroup(ctl)}
}

// Receive implements actor.Actor.
func (d *Dispatcher) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *swarmv1.TaskSyncRequest:
		d.onSync(ctx, msg)
	}
}

func (d *Dispatcher) onSync(ctx actor.Context, req *swarmv1.TaskSyncRequest) {
	sender, root := ctx.Sender(), ctx.ActorSystem().Root
	if sender == nil {
		return
	}
	go func() {
		root.Send(sender, d.Sync(req))
	}()
}

// syncBudget bounds the work of one sync (at most a grain of
// deadline.Shared more).
const syncBudget = 5 * time.Second

// Sync commits a node's reports and lists its tasks; it blocks.
func (d *Dispatcher) Sync(req *swarmv1.TaskSyncRequest) *swarmv1.TaskSyncResponse {
	ctx := d.deadlines.Within(syncBudget)
	byShard := make(map[uint64]*swarmv1.TaskBatch)
	for _, r := range req.GetReports() {
		svc := req.GetReportServices()[r.GetTaskId()]
		// A report the state machine would refuse is dropped here: it
		// would make the whole shared entry fail.
		if svc == "" || r.GetStatus().GetState() == swarmv1.TaskState_TASK_STATE_UNSPECIFIED {
			continue
		}
		shard := d.ctl.ShardOf(svc)
		b, ok := byShard[shard]
		if !ok {
			b = &swarmv1.TaskBatch{}
			byShard[shard] = b
		}
		b.Status = append(b.Status, r)
		b.ServiceIds = appendOnce(b.ServiceIds, svc)
	}
	// The shards commit in parallel, each in an entry shared with the
	// other nodes' syncs of the moment.
	var done []<-chan error
	for shard, b := range byShard {
		done = append(done, d.commits.add(shard, b))
	}
	var failed error
	for _, c := range done {
		select {
		case err := <-c:
			if err != nil && failed == nil {
				failed = err
			}
		case <-ctx.Done():
			failed = cmp.Or(failed, ctx.Err())
		}
	}
	if failed != nil {
		return &swarmv1.TaskSyncResponse{Error: failed.Error()}
	}
	// Port errors the node says the swarm has from its last sync are not
	// compared again, but in every whole-list sync.
	if !req.GetPortErrorsUnchanged() || !req.GetDelta() {
		if err := d.ctl.SetPortErrors(ctx, req.GetNodeId(), req.GetPortErrors()); err != nil {
			return &swarmv1.TaskSyncResponse{Error: err.Error()}
		}
	}
	var ended []string
	for _, r := range req.GetReports() {
		if r.GetStatus().GetState() >= swarmv1.TaskState_TASK_STATE_COMPLETE {
			ended = append(ended, r.GetTaskId())
		}
	}
	if len(ended) > 0 {
		if err := d.ctl.Release(ctx, ended); err != nil {
			return &swarmv1.TaskSyncResponse{Error: err.Error()}
		}
	}
	// A node gets the tasks it must run or stop: not those that ended and
	// are not meant to run. A delta request gets only what changed; one
	// whose known versions are not node versions (a node older than
	// Task.node_version) gets the whole list, which it handles alike.
	delta := req.GetDelta() && req.GetKnownNodeVersions()
	known, since := req.GetKnown(), req.GetRevisions()
	if !delta {
		known, since = nil, nil
	}
	// The node was told its tasks changed in these shards: this replica
	// may not have applied the change yet (a follower learns of commits
	// after the leader), and a node told nothing more would wait for its
	// periodic sync.
	// A whole list makes the node stop what it does not name: it is read
	// behind a barrier on every shard (it is asked for rarely).
	fresh := req.GetFreshShards()
	if !delta {
		fresh = d.ctl.ServiceShards()
	}
	if err := d.barrier(ctx, fresh); err != nil {
		return &swarmv1.TaskSyncResponse{Error: err.Error()}
	}
	l, err := d.list(req.GetNodeId(), known, since)
	if err != nil {
		return &swarmv1.TaskSyncResponse{Error: err.Error()}
	}
	// A task the node has that this replica does not list may be one it
	// has not applied yet (the node synced with another manager before),
	// not one that went: the node is told to drop tasks only as every
	// shard's leader has it.
	if len(l.gone) > 0 {
		if err := d.barrier(ctx, d.ctl.ServiceShards()); err != nil {
			return &swarmv1.TaskSyncResponse{Error: err.Error()}
		}
		if l, err = d.list(req.GetNodeId(), known, since); err != nil {
			return &swarmv1.TaskSyncResponse{Error: err.Error()}
		}
	}
	out := l.out
	if err := d.ctl.Attach(ctx, out); err != nil {
		return &swarmv1.TaskSyncResponse{Error: err.Error()}
	}
	nodeAtts, err := d.ctl.AttachNode(ctx, req.GetNodeId())
	if err != nil {
		return &swarmv1.TaskSyncResponse{Error: err.Error()}
	}
	resp := &swarmv1.TaskSyncResponse{Tasks: out, NodeAttachments: nodeAtts, Delta: delta, Gone: l.gone, Revisions: l.revisions}
	if mesh := d.ctl.Mesh(); mesh.GetVersion() != req.GetMeshVersion() {
		resp.Mesh = mesh
	}
	return resp
}

// listing is a node's tasks as list answers them.
type listing struct {
	out       []*swarmv1.Task
	gone      []string
	revisions []*swarmv1.ShardRevision
}

// list returns the tasks a node must run or stop, not those that ended and
// are not meant to run: with known, only those that changed since, and
// the IDs of the known ones no longer listed; and the node's revision in
// each shard with how many tasks it is told of there. A shard where the
// node's revision is still the one since gives is not read: its tasks are
// the same as the node knows, as many as since says.
func (d *Dispatcher) list(nodeID string, known map[string]uint64, since []*swarmv1.ShardRevision) (listing, error) {
	var revOf map[uint64]uint64
	var counts map[uint64]uint32
	if len(since) > 0 {
		revOf, counts = make(map[uint64]uint64, len(since)), make(map[uint64]uint32, len(since))
		for _, r := range since {
			revOf[r.GetShard()], counts[r.GetShard()] = r.GetRevision(), r.GetTasks()
		}
	}
	shards, err := d.ctl.TasksOfNode(nodeID, known, revOf, false)
	if err != nil {
		return listing{}, err
	}
	var l listing
	// Usually every task the node knows is still listed: counting them
	// says so without a set of them.
	listed := 0
	for _, st := range shards {
		if st.Unchanged {
			n := counts[st.Shard]
			listed += int(n)
			l.revisions = append(l.revisions, &swarmv1.ShardRevision{Shard: st.Shard, Revision: st.Revision, Tasks: n})
			continue
		}
		out, _ := listable(st.Changed)
		listed += st.Same
		for _, t := range out {
			if _, ok := known[t.Id]; ok {
				listed++
			}
		}
		l.out = append(l.out, out...)
		l.revisions = append(l.revisions, &swarmv1.ShardRevision{Shard: st.Shard, Revision: st.Revision, Tasks: uint32(st.Same + len(out))})
	}
	if listed == len(known) {
		return l, nil
	}
	// Some are not: read every shard again, with the IDs of the node's
	// tasks.
	if shards, err = d.ctl.TasksOfNode(nodeID, known, nil, true); err != nil {
		return listing{}, err
	}
	l = listing{}
	held, dropped := make(map[string]bool), make(map[string]bool)
	for _, st := range shards {
		out, drop := listable(st.Changed)
		l.out = append(l.out, out...)
		l.revisions = append(l.revisions, &swarmv1.ShardRevision{Shard: st.Shard, Revision: st.Revision, Tasks: uint32(st.Same + len(out))})
		for _, id := range st.IDs {
			held[id] = true
		}
		for id := range drop {
			dropped[id] = true
		}
	}
	for id := range known {
		if !held[id] || dropped[id] {
			l.gone = append(l.gone, id)
		}
	}
	slices.Sort(l.gone)
	return l, nil
}

// listable splits changed tasks into those a node is told of, and those
// it is not: they ended and are not meant to run.
func listable(changed []*swarmv1.Task) (out []*swarmv1.Task, dropped map[string]bool) {
	for _, t := range changed {
		ended := t.GetStatus().GetState() >= swarmv1.TaskState_TASK_STATE_COMPLETE
		if t.DesiredState <= swarmv1.TaskState_TASK_STATE_RUNNING || !ended {
			out = append(out, t)
			continue
		}
		if dropped == nil {
			dropped = make(map[string]bool)
		}
		dropped[t.Id] = true
	}
	return out, dropped
}

// barrier waits for this replica to catch up with the leaders of shards,
// in parallel.
func (d *Dispatcher) barrier(ctx context.Context, shards []uint64) error {
	errs := make(chan error, len(shards))
	for _, s := range shards {
		go func() {
			if err := d.barriers.wait(ctx, s); err != nil {
				errs <- fmt.Errorf("read barrier on shard %d: %w", s, err)
				return
			}
			errs <- nil
		}()
	}
	var first error
	for range shards {
		if err := <-errs; err != nil && first == nil {
			first = err
		}
	}
	return first
}

// barrierGroup shares read barriers between the syncs that need one on the
// same shard at the same time: a barrier serves every sync that asked
// before it started, so one that asks while a barrier runs waits for the
// next one, which starts when the running one ends and serves all who
// asked meanwhile. Thousands of poked nodes then cost a few barriers.
type barrierGroup struct {
	ctl DispatchControl
	mu  sync.Mutex
	// running marks the shards with a barrier under way; next holds the
	// round that starts after it, with its waiters.
	running map[uint64]bool
	next    map[uint64]*barrierRound
}

type barrierRound struct {
	done chan struct{}
	err  error
}

func newBarrierGroup(ctl DispatchControl) *barrierGroup {
	return &barrierGroup{ctl: ctl, running: make(map[uint64]bool), next: make(map[uint64]*barrierRound)}
}

// wait returns when a barrier on shard that started after the call ended.
func (g *barrierGroup) wait(ctx context.Context, shard uint64) error {
	g.mu.Lock()
	r, ok := g.next[shard]
	if !ok {
		r = &barrierRound{done: make(chan struct{})}
		g.next[shard] = r
	}
	if !g.running[shard] {
		g.start(shard)
	}
	g.mu.Unlock()
	select {
	case <-r.done:
		return r.err
	case <-ctx.Done():
		return ctx.Err()
	}
}

// start runs the next round of shard; g.mu is held.
func (g *barrierGroup) start(shard uint64) {
	r := g.next[shard]
	delete(g.next, shard)
	g.running[shard] = true
	go func() {
		// Not the caller's context: others wait for this round too.
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		r.err = g.ctl.Barrier(ctx, shard)
		cancel()
		close(r.done)
		g.mu.Lock()
		defer g.mu.Unlock()
		g.running[shard] = false
		if _, ok := g.next[shard]; ok {
			g.start(shard)
		}
	}()
}

func appendOnce(list []string, s string) []string {
	for _, x := range list {
		if x == s {
			return list
		}
	}
	return append(list, s)
}

// groupCommit merges the task reports of concurrent syncs into one Raft
// entry per shard: while an entry is being committed, the reports that
// arrive wait and go together in the next one (group commit). With
// thousands of nodes this keeps the entries few and big instead of one per
// node, and a slow shard slows the syncs down instead of piling up
// proposals.
type groupCommit struct {
	ctl DispatchControl
	mu  sync.Mutex
	// queued holds, by shard, the entries waiting to be committed, each
	// with the syncs waiting for it; busy marks the shards committing one.
	queued map[uint64][]*pendingEntry
	busy   map[uint64]bool
}

type pendingEntry struct {
	batch   *swarmv1.TaskBatch
	waiters []chan error
}

// maxGroupReports bounds the reports of one entry (a node's own reports
// may exceed it).
const maxGroupReports = 10000

// groupCommitTimeout bounds the commit of one entry.
const groupCommitTimeout = 10 * time.Second

func newGroupCommit(ctl DispatchControl) *groupCommit {
	return &groupCommit{ctl: ctl, queued: make(map[uint64][]*pendingEntry), busy: make(map[uint64]bool)}
}

// add queues b for shard; the channel gets the outcome of the entry that
// carries it.
func (g *groupCommit) add(shard uint64, b *swarmv1.TaskBatch) <-chan error {
	done := make(chan error, 1)
	g.mu.Lock()
	defer g.mu.Unlock()
	q := g.queued[shard]
	var e *pendingEntry
	if n := len(q); n > 0 && len(q[n-1].batch.Status)+len(b.Status) <= maxGroupReports {
		e = q[n-1]
	} else {
		e = &pendingEntry{batch: &swarmv1.TaskBatch{}}
		g.queued[shard] = append(q, e)
	}
	e.batch.Status = append(e.batch.Status, b.Status...)
	for _, id := range b.ServiceIds {
		e.batch.ServiceIds = appendOnce(e.batch.ServiceIds, id)
	}
	e.waiters = append(e.waiters, done)
	if !g.busy[shard] {
		g.busy[shard] = true
		go g.commit(shard)
	}
	return done
}

// commit commits the queued entries of shard one after the other until
// none is left.
func (g *groupCommit) commit(shard uint64) {
	for {
		g.mu.Lock()
		q := g.queued[shard]
		if len(q) == 0 {
			g.busy[shard] = false
			g.mu.Unlock()
			return
		}
		e := q[0]
		if len(q) == 1 {
			delete(g.queued, shard)
		} else {
			g.queued[shard] = q[1:]
		}
		g.mu.Unlock()
		ctx, cancel := context.WithTimeout(context.Background(), groupCommitTimeout)
		err := g.ctl.Propose(ctx, shard, &swarmv1.Command{Cmd: &swarmv1.Command_TaskBatch{TaskBatch: e.batch}})
		cancel()
		for _, w := range e.waiters {
			w <- err
		}
	}
}
