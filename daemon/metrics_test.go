package daemon

import (
	"net/http/httptest"
	"strings"
	"testing"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"github.com/actorswarm/swarm/tunnel"
)

// scrape serves c alone and returns its exposition.
func scrape(t *testing.T, c prometheus.Collector) string {
	t.Helper()
	reg := prometheus.NewRegistry()
	if err := reg.Register(c); err != nil {
		t.Fatal(err)
	}
	rec := httptest.NewRecorder()
	promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorHandling: promhttp.PanicOnError}).
		ServeHTTP(rec, httptest.NewRequest("GET", "/metrics", nil))
	return rec.Body.String()
}

func TestOverlayCollector(t *testing.T) {
	stats := overlayStats{fwd: tunnel.Stats{
		PacketsOut: 10, BytesOut: 1000, PacketsIn: 9, BytesIn: 900,
		Drops: tunnel.Drops{UnknownVNI: 1, NotPeer: 2, Malformed: 3, NoRoute: 4, NotLocal: 5, Loop: 6, SendError: 7, DeviceError: 8},
	}}
	tests := []struct {
		name      string
		stats     overlayStats
		ok        bool
		want, not []string
	}{
		{"no forwarder", overlayStats{}, false, nil, []string{"actorswarm_overlay_"}},
		{"forwarder", stats, true, []string{
			`actorswarm_overlay_packets_total{direction="out"} 10`,
			`actorswarm_overlay_packets_total{direction="in"} 9`,
			`actorswarm_overlay_bytes_total{direction="out"} 1000`,
			`actorswarm_overlay_bytes_total{direction="in"} 900`,
			`actorswarm_overlay_dropped_total{reason="unknown_vni"} 1`,
			`actorswarm_overlay_dropped_total{reason="not_peer"} 2`,
			`actorswarm_overlay_dropped_total{reason="malformed"} 3`,
			`actorswarm_overlay_dropped_total{reason="no_route"} 4`,
			`actorswarm_overlay_dropped_total{reason="not_local"} 5`,
			`actorswarm_overlay_dropped_total{reason="loop"} 6`,
			`actorswarm_overlay_dropped_total{reason="send_error"} 7`,
			`actorswarm_overlay_dropped_total{reason="device_error"} 8`,
		}, []string{"cpu_latency"}},
		{"low latency held", overlayStats{fwd: stats.fwd, lowLatency: true, held: true, holds: 3}, true, []string{
			"actorswarm_overlay_cpu_latency_held 1",
			"actorswarm_overlay_cpu_latency_holds_total 3",
		}, nil},
		{"low latency let go", overlayStats{fwd: stats.fwd, lowLatency: true, holds: 3}, true, []string{
			"actorswarm_overlay_cpu_latency_held 0",
		}, nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			out := scrape(t, newOverlayCollector(func() (overlayStats, bool) { return tt.stats, tt.ok }))
			for _, w := range tt.want {
				if !strings.Contains(out, w+"\n") {
					t.Errorf("no %q in:\n%s", w, out)
				}
			}
			for _, n := range tt.not {
				if strings.Contains(out, n) {
					t.Errorf("%q in:\n%s", n, out)
				}
			}
		})
	}
}
