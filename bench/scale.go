package bench

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"
)

// Sizes of scale: the replicas a service starts with; it is scaled to
// twice that, then to a tenth of it.
const (
	scaleReplicas      = 500
	scaleQuickReplicas = 50
)

// runScale measures, on a swarm of 3 managers and 2 workers, how long a
// service of N idle process tasks takes to scale to 2N (from `service
// scale -d` until service ps shows 2N tasks desired and reported running)
// and then down to N/10 (until service ps shows N/10 running and every
// other task reported stopped). Each repetition creates the service,
// waits for its N tasks, measures, then removes it and waits until no
// task process is left. Samples are in ms and include the run of swarmctl
// service scale (a few ms) and the polling (pollInterval).
func runScale(ctx context.Context, opts Options) ([]Record, error) {
	n := scaleReplicas
	if opts.Quick {
		n = scaleQuickReplicas
	}
	return scaleWith(ctx, opts, "scale", processTasks, n)
}

// scaleWith is scale of a service of n tasks of kind, recorded as name.
func scaleWith(ctx context.Context, opts Options, name string, kind swarmTasks, n int) (recs []Record, err error) {
	s, err := kind.start(ctx, opts)
	if err != nil {
		return nil, err
	}
	defer func() { err = errors.Join(err, s.close(opts, err)) }()

	started := time.Now()
	from := s.managers[0]
	type step struct {
		rec      Record
		from, to int
	}
	steps := []*step{{from: n, to: 2 * n}, {from: 2 * n, to: max(1, n/10)}}
	for i, dir := range []string{"up", "down"} {
		params := kind.params(s, n, from)
		params["from"], params["to"] = strconv.Itoa(steps[i].from), strconv.Itoa(steps[i].to)
		steps[i].rec = Record{Scenario: name + "/" + dir, Parameters: params, Started: started, Unit: "ms"}
	}
	for run := 1; run <= opts.Repeat; run++ {
		service := fmt.Sprintf("scale-%d", run)
		if err := kind.create(ctx, s, from, service, n); err != nil {
			return nil, err
		}
		if err := s.waitSettled(ctx, from, service, n); err != nil {
			return nil, err
		}
		var took []string
		for _, st := range steps {
			start := time.Now()
			if err := s.scaleService(ctx, from, service, st.to); err != nil {
				return nil, err
			}
			if err := s.waitSettled(ctx, from, service, st.to); err != nil {
				return nil, err
			}
			d := ms(time.Since(start))
			st.rec.Samples = append(st.rec.Samples, d)
			took = append(took, fmt.Sprintf("%d→%d in %s ms", st.from, st.to, FormatFigure(d)))
		}
		opts.progress(name, run, "%s, %s", took[0], took[1])

		if err := kind.remove(ctx, s, from, service); err != nil {
			return nil, err
		}
	}
	return []Record{steps[0].rec, steps[1].rec}, nil
}
