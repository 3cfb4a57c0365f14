package cpulatency

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestGovernor(t *testing.T) {
	t0 := time.Unix(1000, 0)
	at := func(ms int) time.Time { return t0.Add(time.Duration(ms) * time.Millisecond) }
	type step struct {
		ms    int
		count uint64
		want  int32 // -1: nothing written
	}
	const none = -1
	tests := []struct {
		name  string
		steps []step
	}{
		{"still from the start writes nothing", []step{{100, 5, none}, {2000, 5, none}, {9000, 5, none}}},
		{"a move holds once", []step{{100, 6, 0}, {200, 7, none}, {300, 9, none}}},
		{"quiet for less than Quiet keeps holding", []step{{100, 6, 0}, {600, 6, none}, {1099, 6, none}}},
		{"quiet for Quiet lets go", []step{{100, 6, 0}, {1100, 6, NoConstraint}, {1200, 6, none}, {5000, 6, none}}},
		{"a move restarts the quiet spell", []step{{100, 6, 0}, {900, 7, none}, {1100, 7, none}, {1900, 7, NoConstraint}}},
		{"held again after letting go", []step{{100, 6, 0}, {1100, 6, NoConstraint}, {1200, 8, 0}, {2200, 8, NoConstraint}}},
		{"a counter that wraps is a move", []step{{100, 0, 0}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			g := governor{quiet: time.Second}
			g.start(5, t0)
			for i, s := range tt.steps {
				v, ok := g.observe(s.count, at(s.ms))
				got := int32(none)
				if ok {
					got = v
				}
				if got != s.want {
					t.Fatalf("step %d (%d ms, count %d): wrote %d, want %d (-1: nothing)", i, s.ms, s.count, got, s.want)
				}
			}
		})
	}
}

func TestConfigValidate(t *testing.T) {
	count := func() uint64 { return 0 }
	for _, c := range []Config{{}, {Count: count, Period: -1}, {Count: count, Quiet: -1}} {
		if _, err := NewKeeper(&fakeDevice{}, c); err == nil {
			t.Errorf("NewKeeper(%+v): no error", c)
		}
	}
}

// fakeDevice records the requests written to it; failures makes that
// many writes fail first.
type fakeDevice struct {
	mu       sync.Mutex
	writes   []int32
	failures int
	closed   int
	wrote    chan struct{}
}

func newFakeDevice() *fakeDevice { return &fakeDevice{wrote: make(chan struct{}, 100)} }

func (d *fakeDevice) Write(b []byte) (int, error) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if len(b) != 4 {
		return 0, errors.New("fake: want 4 bytes")
	}
	if d.failures > 0 {
		d.failures--
		d.writes = append(d.writes, -1)
		d.signal()
		return 0, errors.New("fake: refused")
	}
	d.writes = append(d.writes, int32(binary.NativeEndian.Uint32(b)))
	d.signal()
	return 4, nil
}

func (d *fakeDevice) signal() {
	select {
	case d.wrote <- struct{}{}:
	default:
	}
}

func (d *fakeDevice) Close() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	d.closed++
	return nil
}

func (d *fakeDevice) snapshot() (writes []int32, closed int) {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]int32(nil), d.writes...), d.closed
}

// waitWrites waits until the device has n writes and returns them.
func (d *fakeDevice) waitWrites(t *testing.T, n int) []int32 {
	t.Helper()
	deadline := time.After(10 * time.Second)
	for {
		if w, _ := d.snapshot(); len(w) >= n {
			return w
		}
		select {
		case <-d.wrote:
		case <-deadline:
			w, _ := d.snapshot()
			t.Fatalf("writes %v: want %d", w, n)
		}
	}
}

func TestKeeper(t *testing.T) {
	var count atomic.Uint64
	dev := newFakeDevice()
	k, err := NewKeeper(dev, Config{Count: count.Load, Period: time.Millisecond, Quiet: 20 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	if k.Held() {
		t.Fatal("held before any traffic")
	}
	count.Add(1)
	if w := dev.waitWrites(t, 1); w[0] != 0 {
		t.Fatalf("first write %d, want 0", w[0])
	}
	// The counter stands still: the request is let go.
	if w := dev.waitWrites(t, 2); w[1] != NoConstraint {
		t.Fatalf("second write %d, want %d", w[1], NoConstraint)
	}
	waitFor(t, "not held after the quiet spell", func() bool { return !k.Held() })
	count.Add(1)
	if w := dev.waitWrites(t, 3); w[2] != 0 {
		t.Fatalf("third write %d, want 0", w[2])
	}
	waitFor(t, "held twice", func() bool { return k.Held() && k.Holds() == 2 })
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	if _, closed := dev.snapshot(); closed != 1 {
		t.Errorf("device closed %d times, want 1", closed)
	}
	if k.Held() {
		t.Error("held after Close")
	}
}

func TestKeeperRetriesFailedWrites(t *testing.T) {
	var count atomic.Uint64
	dev := newFakeDevice()
	dev.failures = 2
	var logs bytes.Buffer
	var mu sync.Mutex
	log := slog.New(slog.NewTextHandler(lockedWriter{&mu, &logs}, nil))
	k, err := NewKeeper(dev, Config{Count: count.Load, Period: time.Millisecond, Quiet: time.Hour, Logger: log})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	// Each failed hold is tried again at the next move.
	for want := 1; want <= 3; want++ {
		count.Add(1)
		dev.waitWrites(t, want)
	}
	w, _ := dev.snapshot()
	if want := []int32{-1, -1, 0}; len(w) != 3 || w[0] != want[0] || w[1] != want[1] || w[2] != want[2] {
		t.Fatalf("writes %v, want %v (-1: refused)", w, want)
	}
	waitFor(t, "held once", func() bool { return k.Held() && k.Holds() == 1 })
	mu.Lock()
	defer mu.Unlock()
	if n := bytes.Count(logs.Bytes(), []byte("not written")); n != 1 {
		t.Errorf("%d warnings for two failures in a row, want 1:\n%s", n, logs.String())
	}
}

// waitFor polls cond (the Keeper's state follows its writes) until it
// holds, failing after 10 s.
func waitFor(t *testing.T, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("%s: not after 10 s", what)
		}
		time.Sleep(time.Millisecond)
	}
}

type lockedWriter struct {
	mu *sync.Mutex
	w  *bytes.Buffer
}

func (l lockedWriter) Write(b []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.w.Write(b)
}

// TestKeeperDevice drives the kernel's device: the target reads 0 while
// the Keeper holds, and what it was before once it lets go or closes.
func TestKeeperDevice(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root: " + DevicePath + " is root's")
	}
	if _, err := os.Stat(DevicePath); err != nil {
		t.Skipf("no CPU latency QoS device: %v", err)
	}
	before, err := Current(DevicePath)
	if err != nil {
		t.Fatal(err)
	}
	if before == 0 {
		t.Skip("another process holds the CPU latency at 0 µs: nothing to see")
	}
	dev, err := OpenDevice(DevicePath)
	if err != nil {
		t.Fatal(err)
	}
	var count atomic.Uint64
	k, err := NewKeeper(dev, Config{Count: count.Load, Period: time.Millisecond, Quiet: 50 * time.Millisecond})
	if err != nil {
		t.Fatal(err)
	}
	defer k.Close()
	waitCurrent := func(want int32) {
		t.Helper()
		waitFor(t, fmt.Sprintf("CPU latency target %d µs", want), func() bool {
			v, err := Current(DevicePath)
			if err != nil {
				t.Fatal(err)
			}
			return v == want
		})
	}
	if got, _ := Current(DevicePath); got != before {
		t.Errorf("opening the device moved the target: %d µs, was %d", got, before)
	}
	count.Add(1)
	waitCurrent(0)
	waitCurrent(before) // quiet spell
	count.Add(1)
	waitCurrent(0)
	if err := k.Close(); err != nil {
		t.Fatal(err)
	}
	waitCurrent(before)
}

func TestOpenDeviceMissing(t *testing.T) {
	_, err := OpenDevice(t.TempDir() + "/no-such-device")
	if err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("OpenDevice of a missing path: %v, want a not-exist error", err)
	}
	if _, err := Current(t.TempDir() + "/no-such-device"); err == nil || !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("Current of a missing path: %v, want a not-exist error", err)
	}
}
