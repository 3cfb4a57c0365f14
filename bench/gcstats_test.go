package bench

import (
	"math"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"
)

var gcSink [][]byte

func TestReadGCCountsAllocationAndCollection(t *testing.T) {
	before := readGC()
	for range 1000 {
		gcSink = append(gcSink, make([]byte, 4096))
	}
	runtime.GC()
	d := readGC().since(before)
	if d.allocated < 1000*4096 {
		t.Errorf("allocated %v bytes, want at least %d", d.allocated, 1000*4096)
	}
	if d.cycles < 1 {
		t.Errorf("cycles %v after runtime.GC, want at least 1", d.cycles)
	}
	if d.liveHeap < 1000*4096 {
		t.Errorf("live heap %v, want at least the %d bytes kept", d.liveHeap, 1000*4096)
	}
	if s := d.gcShare(); s < 0 || s > 1 {
		t.Errorf("gc share %v, want within [0, 1]", s)
	}
	gcSink = nil
}

func TestGCShareWithoutCPU(t *testing.T) {
	if s := (gcSample{gcCPU: 1}).gcShare(); s != 0 {
		t.Errorf("gcShare with no total CPU = %v, want 0", s)
	}
}

func TestHistogramQuantile(t *testing.T) {
	inf := math.Inf(1)
	h := histogram{counts: []uint64{0, 90, 9, 1}, buckets: []float64{0, 0.001, 0.01, 0.1, inf}}
	for _, c := range []struct {
		q    float64
		want time.Duration
	}{
		{0.5, 10 * time.Millisecond},
		{0.9, 10 * time.Millisecond},
		{0.99, 100 * time.Millisecond},
		{1, 100 * time.Millisecond}, // the last bucket is open: its lower bound
	} {
		if got := h.quantile(c.q); got != c.want {
			t.Errorf("quantile(%v) = %v, want %v", c.q, got, c.want)
		}
	}
	if got := (histogram{counts: []uint64{0, 0}, buckets: []float64{0, 1, 2}}).quantile(0.99); got != 0 {
		t.Errorf("quantile of no events = %v, want 0", got)
	}
}

func TestHistogramSince(t *testing.T) {
	b := []float64{0, 1, 2, 3}
	before := histogram{counts: []uint64{1, 2, 3}, buckets: b}
	after := histogram{counts: []uint64{1, 5, 3}, buckets: b}
	d := after.since(before)
	if !slices.Equal(d.counts, []uint64{0, 3, 0}) {
		t.Fatalf("since: %v, want [0 3 0]", d.counts)
	}
	if !slices.Equal(after.counts, []uint64{1, 5, 3}) {
		t.Fatalf("since changed its receiver: %v", after.counts)
	}
}

func TestReadGCSchedulingWaits(t *testing.T) {
	before := readGC()
	done := make(chan struct{})
	for range 100 {
		go func() { done <- struct{}{} }()
	}
	for range 100 {
		<-done
	}
	d := readGC().since(before)
	if d.goroutines < 1 {
		t.Errorf("goroutines %v, want at least this one", d.goroutines)
	}
	var waits uint64
	for _, c := range d.schedWaits.counts {
		waits += c
	}
	if waits == 0 {
		t.Error("no scheduling wait recorded after 100 goroutines ran")
	}
	if s := d.schedText(); !strings.Contains(s, "waits to run p99 ") || !strings.Contains(s, "longest GC stop ") {
		t.Errorf("schedText = %q", s)
	}
}
