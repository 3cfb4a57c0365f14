package bench

import (
	"context"
	"time"
)

// runPartition measures, on the swarm of node-crash with its service, but
// each node in a network namespace of its own: a worker that runs tasks is
// cut off the others (its link to the bridge down; it keeps its tasks
// running), and the time is measured until the service has its replicas
// running on the nodes the managers still reach; then the link comes back,
// and the time is measured until exactly the desired replicas run again
// (the cut-off worker stopped its replaced tasks: the newer ones win) and
// no surplus task process is left. Samples are in ms.
func runPartition(ctx context.Context, opts Options) ([]Record, error) {
	link := func(up bool) func(context.Context, *swarm, int) (time.Time, error) {
		return func(ctx context.Context, s *swarm, victim int) (time.Time, error) {
			at := time.Now()
			return at, s.SetLink(ctx, victim, up)
		}
	}
	return runSurplusFault(ctx, opts, surplusFault{
		name: "partition", service: "part", netns: true,
		params: map[string]string{
			"hosts": "one network namespace per node, veths to a bridge",
			"fault": "the worker's link to the bridge down, up again once replaced",
		},
		begin: link(false), end: link(true),
		did: "cut %s off", ended: "healed",
	})
}
