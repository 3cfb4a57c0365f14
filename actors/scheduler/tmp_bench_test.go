package scheduler

import (
	"fmt"
	"testing"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func BenchmarkTmpSmallGroups(b *testing.B) {
	for _, per := range []int{10, 100} {
		b.Run(fmt.Sprint("per=", per), func(b *testing.B) {
			nodes, active, _ := benchSwarm(10000, 100000)
			var pending []*swarmv1.Task
			for s := range 100000 / per {
				pending = append(pending, tasks(fmt.Sprintf("x%d.", s), fmt.Sprintf("x%d", s), per)...)
			}
			placed := 0
			for b.Loop() {
				placed += len(Plan(nodes, active, pending).Assignments)
			}
			b.ReportMetric(float64(placed)/b.Elapsed().Seconds(), "placements/s")
		})
	}
}
