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
	return benchServices(n, t, max(t/1000, 4))
}

// benchServices is benchSwarm with t tasks spread over the given number of
// services.
func benchServices(n, t, services int) (nodes []*swarmv1.Node, active, pending []*swarmv1.Task) {
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

// BenchmarkPlan places bursts of tasks. The cost of a plan is about
// groups × nodes + tasks × log(nodes), so the last case, a burst of ten
// tasks in each of ten thousand services (say, after many nodes failed),
// is the slow one.
func BenchmarkPlan(b *testing.B) {
	for _, size := range []struct {
		name                   string
		nodes, tasks, services int
	}{
		{"nodes=100/tasks=1000", 100, 1000, 4},
		{"nodes=10000/tasks=100000", 10000, 100000, 100},
		{"nodes=10000/tasks=100000/services=10000", 10000, 100000, 10000},
	} {
		b.Run(size.name, func(b *testing.B) {
			nodes, active, pending := benchServices(size.nodes, size.tasks, size.services)
			b.ReportAllocs()
			placed := 0
			for b.Loop() {
				placed += len(Plan(nodes, active, pending).Assignments)
			}
			b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
		})
	}
}
