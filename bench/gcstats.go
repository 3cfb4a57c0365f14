package bench

import (
	"runtime/metrics"
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
}

// gcMetrics are the runtime/metrics names gcSample reads, in its order.
var gcMetrics = []string{
	"/gc/heap/allocs:bytes",
	"/gc/heap/live:bytes",
	"/cpu/classes/gc/total:cpu-seconds",
	"/cpu/classes/total:cpu-seconds",
	"/gc/cycles/total:gc-cycles",
}

func readGC() gcSample {
	s := make([]metrics.Sample, len(gcMetrics))
	for i, name := range gcMetrics {
		s[i].Name = name
	}
	metrics.Read(s)
	v := make([]float64, len(s))
	for i := range s {
		switch s[i].Value.Kind() {
		case metrics.KindUint64:
			v[i] = float64(s[i].Value.Uint64())
		case metrics.KindFloat64:
			v[i] = s[i].Value.Float64()
		}
	}
	return gcSample{allocated: v[0], liveHeap: v[1], gcCPU: v[2], totalCPU: v[3], cycles: v[4]}
}

// since is what happened between an earlier sample and s: bytes
// allocated, CPU and cycles in between; the live heap is s's.
func (s gcSample) since(before gcSample) gcSample {
	return gcSample{
		allocated: s.allocated - before.allocated,
		liveHeap:  s.liveHeap,
		gcCPU:     s.gcCPU - before.gcCPU,
		totalCPU:  s.totalCPU - before.totalCPU,
		cycles:    s.cycles - before.cycles,
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
