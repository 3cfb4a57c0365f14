package bench

import (
	"fmt"
	"math"
	"runtime/metrics"
	"time"
)

// gcSample is what the Go runtime says about this process's memory work
// at one moment: sim-scale runs its managers here, and much of what they
// cost at scale is the collector's (docs/benchmarks.md).
type gcSample struct {
	// allocated is every byte the heap handed out since the start.
	allocated float64
	// liveHeap is the heap the last collection kept.
	liveHeap float64
	// gcCPU is the collector's CPU seconds (background workers, assists,
	// pauses); totalCPU the CPU seconds GOMAXPROCS allowed the process
	// (the runtime's estimate: GOMAXPROCS times the wall time).
	gcCPU, totalCPU float64
	cycles          float64
	// goroutines is how many there are now.
	goroutines float64
	// schedWaits is how long goroutines waited, runnable, for a thread
	// to run them; stops is how long the collector stopped the world
	// (/sched/pauses/total/gc). Both are
	// the runtime's cumulative histograms (counts per bucket).
	schedWaits, stops histogram
}

// histogram is a runtime/metrics histogram: counts[i] events fell in
// [buckets[i], buckets[i+1]).
type histogram struct {
	counts  []uint64
	buckets []float64
}

func newHistogram(h *metrics.Float64Histogram) histogram {
	return histogram{counts: append([]uint64(nil), h.Counts...), buckets: h.Buckets}
}

// since is the events of h that came after before.
func (h histogram) since(before histogram) histogram {
	out := histogram{counts: append([]uint64(nil), h.counts...), buckets: h.buckets}
	if len(before.counts) == len(out.counts) {
		for i := range out.counts {
			out.counts[i] -= before.counts[i]
		}
	}
	return out
}

// quantile is the upper bound of the bucket holding the q-quantile of
// the events (the highest finite bound for the last bucket), 0 without
// events.
func (h histogram) quantile(q float64) time.Duration {
	var total uint64
	for _, c := range h.counts {
		total += c
	}
	if total == 0 {
		return 0
	}
	rank := uint64(math.Ceil(q * float64(total)))
	var seen uint64
	for i, c := range h.counts {
		seen += c
		if seen >= rank && c > 0 {
			hi := h.buckets[i+1]
			if math.IsInf(hi, 1) {
				hi = h.buckets[i]
			}
			return time.Duration(hi * float64(time.Second))
		}
	}
	return 0
}

// gcMetrics are the runtime/metrics names gcSample reads, in its order.
var gcMetrics = []string{
	"/gc/heap/allocs:bytes",
	"/gc/heap/live:bytes",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
	"/gc/cycles/total:gc-cycles",
	"/sched/goroutines:goroutines",
	"/sched/latencies:seconds",
	"/sched/pauses/total/gc:seconds",
}

func readGC() gcSample {
	s := make([]metrics.Sample, len(gcMetrics))
	for i, name := range gcMetrics {
		s[i].Name = name
	}
	metrics.Read(s)
	v := make([]float64, len(s))
	h := make([]histogram, len(s))
	for i := range s {
		switch s[i].Value.Kind() {
		case metrics.KindUint64:
			v[i] = float64(s[i].Value.Uint64())
		case metrics.KindFloat64:
			v[i] = s[i].Value.Float64()
		case metrics.KindFloat64Histogram:
			h[i] = newHistogram(s[i].Value.Float64Histogram())
		}
	}
	return gcSample{allocated: v[0], liveHeap: v[1], gcCPU: v[2], totalCPU: v[3], cycles: v[4], goroutines: v[5], schedWaits: h[6], stops: h[7]}
}

// since is what happened between an earlier sample and s: bytes
// allocated, CPU and cycles in between; the live heap is s's.
func (s gcSample) since(before gcSample) gcSample {
	return gcSample{
		allocated:  s.allocated - before.allocated,
		liveHeap:   s.liveHeap,
		gcCPU:      s.gcCPU - before.gcCPU,
		totalCPU:   s.totalCPU - before.totalCPU,
		cycles:     s.cycles - before.cycles,
		goroutines: s.goroutines,
		schedWaits: s.schedWaits.since(before.schedWaits),
		stops:      s.stops.since(before.stops),
	}
}

// gcShare is the collector's part of the CPU time the process was
// allowed, 0 when none was.
func (s gcSample) gcShare() float64 {
	if s.totalCPU <= 0 {
		return 0
	}
	return s.gcCPU / s.totalCPU
}

// schedText says how long goroutines waited to run and the collector
// stopped the world in s: a wait longer than the Raft election timeout loses
// leaders, one longer than the heartbeat grace loses nodes.
func (s gcSample) schedText() string {
	return fmt.Sprintf("%s goroutines, waits to run p99 %s, longest %s; longest GC stop %s", FormatFigure(s.goroutines),
		roundWait(s.schedWaits.quantile(0.99)), roundWait(s.schedWaits.quantile(1)), roundWait(s.stops.quantile(1)))
}

func roundWait(d time.Duration) time.Duration {
	if d >= time.Millisecond {
		return d.Round(time.Millisecond)
	}
	return d.Round(time.Microsecond)
}
