package cluster

import (
	"fmt"
	"sync"
	"sync/atomic"
	"testing"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// BenchmarkRaftPropose measures committed commands per second on the control
// shard of three replicas in one process, proposing through the leader. Each
// command is a small SetNodeStates flipping one node between READY and DOWN.
func BenchmarkRaftPropose(b *testing.B) {
	g := startRaftGroup(b, 3)
	leader := g.rafts[g.waitLeader(b, ControlShard, 0)]
	for _, cmd := range raftInitCommands(g) {
		if _, err := leader.Propose(b.Context(), ControlShard, cmd); err != nil {
			b.Fatalf("setup: %v", err)
		}
	}
	for _, proposers := range []int{1, 64} {
		b.Run(fmt.Sprintf("proposers=%d", proposers), func(b *testing.B) {
			b.ReportAllocs()
			ctx := b.Context()
			var (
				next  atomic.Int64 // proposals handed out so far
				wg    sync.WaitGroup
				errMu sync.Mutex
				first error
			)
			b.ResetTimer()
			for range proposers {
				wg.Go(func() {
					for i := next.Add(1); i <= int64(b.N); i = next.Add(1) {
						state := swarmv1.NodeState_NODE_STATE_READY
						if i%2 == 1 {
							state = swarmv1.NodeState_NODE_STATE_DOWN
						}
						if _, err := leader.Propose(ctx, ControlShard, cmdSetStates(0, stateChange("w1", state, ""))); err != nil {
							errMu.Lock()
							if first == nil {
								first = err
							}
							errMu.Unlock()
							return
						}
					}
				})
			}
			wg.Wait()
			b.StopTimer()
			if first != nil {
				b.Fatalf("Propose: %v", first)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "commands/s")
		})
	}
}
