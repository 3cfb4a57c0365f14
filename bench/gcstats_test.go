package bench

import (
	"runtime"
	"testing"
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
