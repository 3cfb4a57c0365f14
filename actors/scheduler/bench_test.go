package scheduler

import (
	"fmt"
	"math/rand/v2"
	"testing"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// benchSwarm builds a swarm of n nodes in three zones (a few managers, a
// few drained or down, half offering docker), a tenth of a task per node
// already running, and t pending tasks of t/1000 services (at least 4)
// that mix spreads over zones, constraints, reservations and replica
// limits. It is seeded, so every run sees the same swarm.
func benchSwarm(n, t int) (nodes []*swarmv1.Node, active, pending []*swarmv1.Task) {
	r := rand.New(rand.NewPCG(1, 2))
	for i := range n {
		opts := []nodeOpt{
			labels("zone", []string{"a", "b", "c"}[i%3], "rack", fmt.Sprint(i%7)),
			capacity(8, 16*gib),
			hostname(fmt.Sprintf("host-%05d", i)),
		}
		switch {
		case i%500 == 0:
			opts = append(opts, manager)
		case i%50 == 1:
			opts = append(opts, drained)
		case i%100 == 2:
			opts = append(opts, down)
		}
		if i%2 == 0 {
			opts = append(opts, runtimes("process", "docker"))
		}
		nodes = append(nodes, node(fmt.Sprintf("%016x", r.Uint64()), opts...))
	}
	services := max(t/1000, 4)
	for i := range n / 10 {
		active = append(active, task(fmt.Sprintf("active-%d", i), fmt.Sprintf("svc-%d", i%services),
			on(nodes[r.IntN(n)].GetId()), reserve(0.5, gib)))
	}
	for s := range services {
		var opts []taskOpt
		switch s % 4 {
		case 0:
			opts = append(opts, spread("zone"))
		case 1:
			opts = append(opts, constraints("node.role==worker", "node.labels.zone!=c"), reserve(0.25, 512<<20))
		case 2:
			opts = append(opts, uses("docker"), maxPerNode(2), reserve(0.1, 0))
		}
		pending = append(pending, tasks(fmt.Sprintf("svc-%d.", s), fmt.Sprintf("svc-%d", s), t/services, opts...)...)
	}
	return nodes, active, pending
}

func BenchmarkPlan(b *testing.B) {
	for _, size := range []struct{ nodes, tasks int }{{100, 1000}, {10000, 100000}} {
		b.Run(fmt.Sprintf("nodes=%d/tasks=%d", size.nodes, size.tasks), func(b *testing.B) {
			nodes, active, pending := benchSwarm(size.nodes, size.tasks)
			b.ReportAllocs()
			placed := 0
			for b.Loop() {
				placed += len(Plan(nodes, active, pending).Assignments)
			}
			b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
		})
	}
}
