package actors

import (
	"context"
	"testing"
	"time"

	"github.com/actorswarm/swarm/internal/clock/clocktest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// fakeControl is a manager as the failure detector sees it.
type fakeControl struct {
	leader bool
	nodes  map[string]*swarmv1.Node
	period time.Duration
}

func (f *fakeControl) IsControlLeader() bool { return f.leader }
func (f *fakeControl) Nodes() []*swarmv1.Node {
	var out []*swarmv1.Node
	for _, n := range f.nodes {
		out = append(out, n)
	}
	return out
}
func (f *fakeControl) Node(id string) (*swarmv1.Node, bool) { n, ok := f.nodes[id]; return n, ok }
func (f *fakeControl) Peers() []*swarmv1.Peer               { return nil }
func (f *fakeControl) HeartbeatPeriod() time.Duration       { return f.period }
func (f *fakeControl) DeploymentID() uint64                 { return 1 }
func (f *fakeControl) SelfID() string                       { return "m" }
func (f *fakeControl) MeshVersion() string                  { return "" }
func (f *fakeControl) ProposeStates(context.Context, []*swarmv1.NodeStateChange) error {
	return nil
}

// apply commits verdicts the way the state machine would.
func (f *fakeControl) apply(changes []*swarmv1.NodeStateChange, at time.Time) {
	for _, c := range changes {
		n := f.nodes[c.NodeId]
		n.Status = &swarmv1.NodeStatus{State: c.State, Message: c.Message, UpdatedUnixNano: at.UnixNano()}
	}
}

func node(id string, state swarmv1.NodeState, changed time.Time) *swarmv1.Node {
	return &swarmv1.Node{Id: id, Status: &swarmv1.NodeStatus{State: state, UpdatedUnixNano: changed.UnixNano()}}
}

func verdictMap(changes []*swarmv1.NodeStateChange) map[string]swarmv1.NodeState {
	out := make(map[string]swarmv1.NodeState)
	for _, c := range changes {
		out[c.NodeId] = c.State
	}
	return out
}

func TestGrace(t *testing.T) {
	if got := Grace(100 * time.Millisecond); got != 600*time.Millisecond {
		t.Fatalf("Grace(100ms) = %s, want 600ms", got)
	}
}

func TestHealthVerdicts(t *testing.T) {
	const (
		ready = swarmv1.NodeState_NODE_STATE_READY
		down  = swarmv1.NodeState_NODE_STATE_DOWN
	)
	start := time.Unix(1000, 0)
	period := 100 * time.Millisecond
	grace := Grace(period)

	t.Run("follower proposes nothing", func(t *testing.T) {
		clk := clocktest.New(start)
		ctl := &fakeControl{period: period, nodes: map[string]*swarmv1.Node{"a": node("a", ready, start)}}
		h := NewHealth(ctl, clk)
		clk.Advance(10 * grace)
		if v := h.Verdicts(); v != nil {
			t.Fatalf("verdicts on a follower: %v", v)
		}
	})

	t.Run("silent node goes down after the grace, not before", func(t *testing.T) {
		clk := clocktest.New(start)
		ctl := &fakeControl{leader: true, period: period, nodes: map[string]*swarmv1.Node{
			"a": node("a", ready, start), "b": node("b", ready, start),
		}}
		h := NewHealth(ctl, clk)
		h.Verdicts() // becomes leader now
		for elapsed := time.Duration(0); elapsed <= grace; elapsed += period {
			h.Record("a")
			h.Record("b")
			clk.Advance(period)
		}
		// b falls silent; a keeps beating.
		for elapsed := time.Duration(0); elapsed < grace; elapsed += period {
			h.Record("a")
			if v := h.Verdicts(); len(v) != 0 {
				t.Fatalf("verdicts %v after %s of silence, grace is %s", verdictMap(v), elapsed, grace)
			}
			clk.Advance(period)
		}
		h.Record("a")
		clk.Advance(period)
		got := verdictMap(h.Verdicts())
		if len(got) != 1 || got["b"] != down {
			t.Fatalf("verdicts %v, want b down", got)
		}
	})

	t.Run("down node that beats again is ready", func(t *testing.T) {
		clk := clocktest.New(start)
		ctl := &fakeControl{leader: true, period: period, nodes: map[string]*swarmv1.Node{"a": node("a", down, start)}}
		h := NewHealth(ctl, clk)
		clk.Advance(10 * grace)
		if v := h.Verdicts(); len(v) != 0 {
			t.Fatalf("verdicts for a silent down node: %v", verdictMap(v))
		}
		h.Record("a")
		got := verdictMap(h.Verdicts())
		if got["a"] != ready {
			t.Fatalf("verdicts %v, want a ready", got)
		}
	})

	t.Run("new leader gives a full grace before judging", func(t *testing.T) {
		clk := clocktest.New(start)
		ctl := &fakeControl{period: period, nodes: map[string]*swarmv1.Node{"a": node("a", ready, start)}}
		h := NewHealth(ctl, clk)
		h.Record("a")
		clk.Advance(10 * grace) // a fell silent long ago, but not leading
		ctl.leader = true
		if v := h.Verdicts(); len(v) != 0 {
			t.Fatalf("verdicts right after becoming leader: %v", verdictMap(v))
		}
		clk.Advance(grace + period)
		if got := verdictMap(h.Verdicts()); got["a"] != down {
			t.Fatalf("verdicts %v, want a down a grace after taking over", got)
		}
	})

	t.Run("new leader gives a node it never heard from two graces", func(t *testing.T) {
		clk := clocktest.New(start)
		ctl := &fakeControl{period: period, nodes: map[string]*swarmv1.Node{
			"heard": node("heard", ready, start), "unheard": node("unheard", ready, start),
		}}
		h := NewHealth(ctl, clk)
		h.Record("heard")
		clk.Advance(10 * grace)
		ctl.leader = true
		h.Verdicts()
		clk.Advance(grace + period)
		if got := verdictMap(h.Verdicts()); len(got) != 1 || got["heard"] != down {
			t.Fatalf("verdicts %v a grace after taking over, want only the node heard before down", got)
		}
		clk.Advance(grace - 2*period) // just under two graces
		if got := verdictMap(h.Verdicts()); got["unheard"] == down {
			t.Fatalf("verdicts %v: a node never heard from is down before two graces", got)
		}
		clk.Advance(2 * period)
		if got := verdictMap(h.Verdicts()); got["unheard"] != down {
			t.Fatalf("verdicts %v, want the node never heard from down after two graces", got)
		}
	})

	t.Run("joined node gets a grace from its state change", func(t *testing.T) {
		clk := clocktest.New(start)
		ctl := &fakeControl{leader: true, period: period, nodes: map[string]*swarmv1.Node{}}
		h := NewHealth(ctl, clk)
		h.Verdicts()
		clk.Advance(10 * grace)
		ctl.nodes["new"] = node("new", ready, clk.Now())
		if v := h.Verdicts(); len(v) != 0 {
			t.Fatalf("verdicts for a node that just joined: %v", verdictMap(v))
		}
	})

	t.Run("a state change stamped in the future gives no grace", func(t *testing.T) {
		// Another manager's clock ran an hour ahead when it marked the
		// node, or this one's went back an hour since.
		clk := clocktest.New(start)
		ctl := &fakeControl{leader: true, period: period, nodes: map[string]*swarmv1.Node{"a": node("a", ready, start.Add(time.Hour))}}
		h := NewHealth(ctl, clk)
		h.Record("a")
		h.Verdicts()
		clk.Advance(grace + period)
		if got := verdictMap(h.Verdicts()); got["a"] != down {
			t.Fatalf("verdicts %v, want a down a grace after its last heartbeat", got)
		}
	})

	t.Run("node that left is down at once and stays down", func(t *testing.T) {
		clk := clocktest.New(start)
		ctl := &fakeControl{leader: true, period: period, nodes: map[string]*swarmv1.Node{"a": node("a", ready, start)}}
		h := NewHealth(ctl, clk)
		h.Record("a")
		h.onNodeLeft(&swarmv1.NodeLeft{NodeId: "a"})
		v := h.Verdicts()
		if len(v) != 1 || v[0].State != down || v[0].Message != "node left the swarm" {
			t.Fatalf("verdicts %v, want a down for leaving", v)
		}
		ctl.apply(v, clk.Now())
		if v := h.Verdicts(); len(v) != 0 {
			t.Fatalf("verdicts repeated after being applied: %v", v)
		}
	})

	t.Run("one proposal in flight at a time", func(t *testing.T) {
		clk := clocktest.New(start)
		ctl := &fakeControl{leader: true, period: period, nodes: map[string]*swarmv1.Node{"a": node("a", ready, start)}}
		h := NewHealth(ctl, clk)
		h.Verdicts()
		clk.Advance(3 * grace)
		h.inflight = true
		if v := h.Verdicts(); v != nil {
			t.Fatalf("verdicts while a proposal is in flight: %v", v)
		}
		h.inflight = false
		if got := verdictMap(h.Verdicts()); got["a"] != down {
			t.Fatalf("verdicts %v, want a down", got)
		}
	})
}
