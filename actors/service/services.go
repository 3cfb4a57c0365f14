package service

import (
	"time"

	"github.com/asynkron/protoactor-go/actor"

	"github.com/actorswarm/swarm/cluster"
	"github.com/actorswarm/swarm/internal/tick"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// Name is the services actor's name on every manager.
const Name = "services"

// leadershipTick makes the services actor look at which shards it leads.
type leadershipTick struct{}

// leadershipPeriod is how often shard leadership is checked: a manager
// that just took a shard over activates its supervisors within it.
const leadershipPeriod = 50 * time.Millisecond

// Services is the parent of the supervisors on one manager: it keeps one
// child per service of every service shard this manager leads, and routes
// applied Raft entries to the children they concern. Children are
// restarted on a panic (one-for-one, bounded); a restarted child rebuilds
// itself from Raft.
type Services struct {
	env      Env
	led      map[uint64]bool
	children map[string]*actor.PID
	shardOf  map[string]uint64
	// stopping holds the children told to stop that have not terminated
	// yet, by service: a service whose shard this manager leads again
	// meanwhile gets its new child once the old one is gone (the name is
	// taken until then).
	stopping map[string]*actor.PID
	// quits are the children's quit channels (see Supervisor.quit).
	quits map[string]chan struct{}
	stop  func()
}

// NewServices returns the services actor.
func NewServices(env Env) *Services {
	return &Services{env: env, led: make(map[uint64]bool), children: make(map[string]*actor.PID), shardOf: make(map[string]uint64),
		stopping: make(map[string]*actor.PID), quits: make(map[string]chan struct{})}
}

// Props returns the props of the services actor, with how it supervises
// its children: a panicking supervisor is restarted, at most 10 times in
// 10 seconds, and rebuilds itself from Raft.
func Props(env Env) *actor.Props {
	strategy := actor.NewOneForOneStrategy(10, 10*time.Second, actor.DefaultDecider)
	return actor.PropsFromProducer(func() actor.Actor { return NewServices(env) }, actor.WithSupervisor(strategy))
}

var childProps = func(id string, shard uint64, env Env, quit <-chan struct{}) *actor.Props {
	return actor.PropsFromProducer(func() actor.Actor { return NewSupervisor(id, shard, env, quit) })
}

// Receive implements actor.Actor.
func (s *Services) Receive(ctx actor.Context) {
	switch msg := ctx.Message().(type) {
	case *actor.Started:
		s.onStarted(ctx)
	case *actor.Stopping:
		s.onStopping()
	case *leadershipTick:
		s.onLeadership(ctx)
	case *cluster.Applied:
		s.onApplied(ctx, msg)
	case *actor.Terminated:
		s.onTerminated(ctx, msg)
	}
}

func (s *Services) onStarted(ctx actor.Context) {
	s.stop = tick.Every(ctx.ActorSystem().Root, ctx.Self(), leadershipPeriod, &leadershipTick{})
}

func (s *Services) onStopping() {
	if s.stop != nil {
		s.stop()
		s.stop = nil
	}
}

func (s *Services) onLeadership(ctx actor.Context) {
	for _, shard := range s.env.ServiceShards() {
		leads := s.env.Leads(shard)
		if leads == s.led[shard] && !leads {
			continue
		}
		if !leads {
			s.led[shard] = false
			for id, sh := range s.shardOf {
				if sh == shard {
					s.stopChild(ctx, id)
				}
			}
			continue
		}
		if !s.led[shard] {
			s.env.Logger().Info("leading service shard: activating its supervisors", "shard_id", shard)
		}
		s.led[shard] = true
		s.sync(ctx, shard)
	}
}

// sync makes the children of shard match its services.
func (s *Services) sync(ctx actor.Context, shard uint64) {
	want := make(map[string]bool)
	for _, id := range s.env.ServicesIn(shard) {
		want[id] = true
		s.ensureChild(ctx, id, shard)
	}
	for id, sh := range s.shardOf {
		if sh == shard && !want[id] {
			s.stopChild(ctx, id)
		}
	}
}

func (s *Services) ensureChild(ctx actor.Context, id string, shard uint64) {
	if _, ok := s.children[id]; ok {
		return
	}
	if _, ok := s.stopping[id]; ok {
		return // spawned once the old child is gone (onTerminated)
	}
	quit := make(chan struct{})
	pid, err := ctx.SpawnNamed(childProps(id, shard, s.env, quit), "service/"+id)
	if err != nil {
		s.env.Logger().Error("spawn supervisor", "service_id", id, "err", err)
		return
	}
	s.quits[id] = quit
	s.children[id] = pid
	s.shardOf[id] = shard
}

func (s *Services) stopChild(ctx actor.Context, id string) {
	if pid, ok := s.children[id]; ok {
		close(s.quits[id])
		ctx.Stop(pid)
		s.stopping[id] = pid
	}
	delete(s.quits, id)
	delete(s.children, id)
	delete(s.shardOf, id)
}

// onTerminated forgets a child that stopped; if its service's shard is
// led here again, the service gets a new child now.
func (s *Services) onTerminated(ctx actor.Context, msg *actor.Terminated) {
	for id, pid := range s.stopping {
		if !pid.Equal(msg.Who) {
			continue
		}
		delete(s.stopping, id)
		for _, shard := range s.env.ServiceShards() {
			if s.led[shard] {
				s.sync(ctx, shard)
			}
		}
		return
	}
}

// onApplied wakes the supervisors an applied entry concerns: all of them
// for a change of nodes or of the swarm's settings (control shard), the
// service's own otherwise.
func (s *Services) onApplied(ctx actor.Context, msg *cluster.Applied) {
	if msg.ShardID == cluster.ControlShard {
		switch msg.Command.Cmd.(type) {
		case *swarmv1.Command_SetNodeStates, *swarmv1.Command_UpdateNodeSpec, *swarmv1.Command_AddNode,
			*swarmv1.Command_RemoveNode, *swarmv1.Command_SetNodeRole, *swarmv1.Command_RestoreState,
			*swarmv1.Command_UpdateClusterSettings:
			for _, pid := range s.children {
				ctx.Send(pid, &Changed{})
			}
		}
		return
	}
	if !s.led[msg.ShardID] {
		return
	}
	switch c := msg.Command.Cmd.(type) {
	case *swarmv1.Command_CreateService:
		s.ensureChild(ctx, c.CreateService.GetService().GetId(), msg.ShardID)
	case *swarmv1.Command_RemoveService:
		s.stopChild(ctx, c.RemoveService.GetServiceId())
	case *swarmv1.Command_UpdateService:
		s.wake(ctx, c.UpdateService.GetServiceId())
	case *swarmv1.Command_TaskBatch:
		progress := onlyProgress(c.TaskBatch)
		for _, id := range c.TaskBatch.GetServiceIds() {
			if pid, ok := s.children[id]; ok {
				ctx.Send(pid, &Changed{Progress: progress})
			}
		}
	case *swarmv1.Command_RestoreState:
		s.sync(ctx, msg.ShardID)
	}
}

func (s *Services) wake(ctx actor.Context, id string) {
	if pid, ok := s.children[id]; ok {
		ctx.Send(pid, &Changed{})
	}
}

// onlyProgress reports whether a batch only says that tasks got further
// in starting: reports of states up to running, nothing created, placed,
// told to stop, ended or deleted.
func onlyProgress(b *swarmv1.TaskBatch) bool {
	if len(b.GetCreate()) > 0 || len(b.GetNewTasks()) > 0 || len(b.GetAssign()) > 0 || len(b.GetDesire()) > 0 || len(b.GetDelete()) > 0 {
		return false
	}
	for _, u := range b.GetStatus() {
		if st := u.GetStatus().GetState(); st > swarmv1.TaskState_TASK_STATE_RUNNING || st < swarmv1.TaskState_TASK_STATE_ASSIGNED {
			return false
		}
	}
	return true
}
