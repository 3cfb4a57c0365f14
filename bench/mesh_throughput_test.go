package bench

import (
	"strings"
	"testing"
)

const wrkSample = `Running 1s test @ http://127.0.0.1:18950/
  2 threads and 8 connections
  Thread Stats   Avg      Stdev     Max   +/- Stdev
    Latency   465.94us    1.03ms   8.30ms   89.45%
    Req/Sec    34.43k     2.77k   40.04k    72.73%
  Latency Distribution
     50%   99.00us
     75%  179.00us
     90%    1.62ms
     99%    4.73ms
  75264 requests in 1.10s, 14.07MB read
Requests/sec:  68458.72
Transfer/sec:     12.80MB
`

func TestParseWrk(t *testing.T) {
	r, err := parseWrk(wrkSample)
	if err != nil {
		t.Fatal(err)
	}
	if r.rps != 68458.72 || r.p50 != 0.099 || r.p99 != 4.73 {
		t.Errorf("parseWrk = %+v, want 68458.72 req/s, p50 0.099 ms, p99 4.73 ms", r)
	}
	for name, out := range map[string]string{
		"socket errors": strings.Replace(wrkSample, "Requests/sec", "  Socket errors: connect 0, read 3, write 0, timeout 0\nRequests/sec", 1),
		"non-2xx":       strings.Replace(wrkSample, "Requests/sec", "  Non-2xx or 3xx responses: 12\nRequests/sec", 1),
		"no latency":    strings.Replace(wrkSample, "     99%    4.73ms\n", "", 1),
		"garbage":       "unable to connect to 127.0.0.1:1 Connection refused",
	} {
		if _, err := parseWrk(out); err == nil {
			t.Errorf("%s: parseWrk accepted it", name)
		}
	}
}

func TestBackendsOf(t *testing.T) {
	metrics := `# HELP actorswarm_lb_connections_total Connections made to a backend.
# TYPE actorswarm_lb_connections_total counter
actorswarm_lb_connections_total{backend="127.0.0.205:41000",port="18300",protocol="tcp"} 3
actorswarm_lb_connections_total{backend="127.0.0.204:40000",port="18300",protocol="tcp"} 0
actorswarm_lb_connections_total{backend="127.0.0.204:40001",port="18400",protocol="tcp"} 1
actorswarm_lb_bytes_in_total{backend="127.0.0.204:40000",port="18300",protocol="tcp"} 0
`
	got := strings.Join(backendsOf(metrics, "18300"), " ")
	if got != "127.0.0.204:40000 127.0.0.205:41000" {
		t.Errorf("backendsOf = %q", got)
	}
}

func TestHAProxyConfig(t *testing.T) {
	cfg := haproxyConfig([]string{"127.0.0.204:40000", "127.0.0.205:41000"})
	for _, want := range []string{"mode tcp", "bind " + haproxyAddr, "balance roundrobin", "server t1 127.0.0.204:40000", "server t2 127.0.0.205:41000"} {
		if !strings.Contains(cfg, want) {
			t.Errorf("haproxy config lacks %q:\n%s", want, cfg)
		}
	}
}
