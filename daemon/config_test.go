package daemon

import (
	"strings"
	"testing"
	"time"

	"github.com/asynkron/protoactor-go/remote"
)

func TestConfigMetricsAddr(t *testing.T) {
	for _, tc := range []struct{ in, want, err string }{
		{in: "", want: "127.0.0.9:9323"},
		{in: MetricsOff, want: MetricsOff},
		{in: "127.0.0.9:19323", want: "127.0.0.9:19323"},
		{in: "9323", err: "--metrics-addr"},
		{in: "localhost:9323", err: "--metrics-addr"},
	} {
		c := Config{DataDir: t.TempDir(), Addr: "127.0.0.9", Port: 2377, RaftPort: 2378, VXLANPort: 4789, Hostname: "h", MetricsAddr: tc.in}
		err := c.Validate()
		switch {
		case tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)):
			t.Errorf("%q: err %v, want one about %s", tc.in, err, tc.err)
		case tc.err == "" && (err != nil || c.MetricsAddr != tc.want):
			t.Errorf("%q: %q, %v; want %q", tc.in, c.MetricsAddr, err, tc.want)
		}
	}
}

// TestConfigScaleFlags: --raft-tick and --sim-nodes out of range are
// refused, naming the flag.
func TestConfigScaleFlags(t *testing.T) {
	for _, tc := range []struct {
		tick time.Duration
		sim  int
		err  string
	}{
		{tick: 0}, {tick: 100 * time.Millisecond, sim: 10000},
		{tick: time.Millisecond, err: "--raft-tick"},
		{tick: 2 * time.Second, err: "--raft-tick"},
		{sim: -1, err: "--sim-nodes"},
		{sim: 2_000_000, err: "--sim-nodes"},
	} {
		c := Config{DataDir: t.TempDir(), Addr: "127.0.0.9", Port: 2377, RaftPort: 2378, VXLANPort: 4789, Hostname: "h", RaftTick: tc.tick, SimNodes: tc.sim}
		err := c.Validate()
		if tc.err == "" && err != nil || tc.err != "" && (err == nil || !strings.Contains(err.Error(), tc.err)) {
			t.Errorf("tick %v, sim %d: err %v, want %q", tc.tick, tc.sim, err, tc.err)
		}
	}
}

// TestSilentSince: a manager that answered heartbeats is judged silent
// once a grace passed since its last answer (or since the ask began); one
// that never answered is not judged.
func TestSilentSince(t *testing.T) {
	d := &Daemon{cfg: Config{Heartbeat: 100 * time.Millisecond}, acks: map[string]time.Time{}, lost: map[string]time.Time{}}
	now := time.Now()
	d.acks["alive"] = now
	d.acks["dead"] = now.Add(-2 * time.Second)
	if d.SilentSince("alive", now) {
		t.Error("a manager that just answered is silent")
	}
	if !d.SilentSince("dead", now.Add(-time.Second)) {
		t.Error("a manager silent for 2 s is not")
	}
	if d.SilentSince("dead", now) {
		t.Error("silence counted from before the ask began")
	}
	if d.SilentSince("never", now.Add(-time.Minute)) {
		t.Error("a manager that never answered is judged")
	}
}

// TestRemoteConfigQueue: a peer's endpoint writer starts with a small
// queue, not the library's million slots, and the caller's options stay.
func TestRemoteConfigQueue(t *testing.T) {
	c := remoteConfig("127.0.0.9", 2377, remote.WithEndpointWriterBatchSize(7))
	if c.EndpointWriterQueueSize != endpointQueue {
		t.Errorf("endpoint writer queue %d, want %d", c.EndpointWriterQueueSize, endpointQueue)
	}
	if c.EndpointWriterBatchSize != 7 || c.Host != "127.0.0.9" || c.Port != 2377 {
		t.Errorf("config %+v lost the caller's settings", c)
	}
}
