package lb

import (
	"bytes"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func TestWritePrometheus(t *testing.T) {
	ports := []PortStats{
		{
			Protocol: "tcp", Port: 80, Accepted: 12, Failed: 1, Active: 3, BytesIn: 1500, BytesOut: 90000,
			Backends: []BackendStats{
				{Backend: "10.0.0.2:80", Active: 2, Total: 7, BytesIn: 1000, BytesOut: 60000},
				{Backend: "10.0.0.3:80", Active: 1, Total: 4, BytesIn: 500, BytesOut: 30000, Failures: 2, Suspect: true},
				{Backend: "10.0.0.4:80", Total: 1, Draining: true},
			},
		},
		{
			Protocol: "udp", Port: 53, Accepted: 5, Active: 1, BytesIn: 300, BytesOut: 1200,
			Backends: []BackendStats{
				{Backend: "10.0.0.9:53", Active: 1, Total: 5, BytesIn: 300, BytesOut: 1200},
			},
		},
		{Protocol: "tcp", Port: 8080},
	}
	var b bytes.Buffer
	if err := WritePrometheus(&b, ports, Label{"node_id", `n1 "east"`}); err != nil {
		t.Fatal(err)
	}
	golden := filepath.Join("testdata", "metrics.prom")
	if *update {
		if err := os.WriteFile(golden, b.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(b.Bytes(), want) {
		t.Fatalf("exposition differs from %s (go test -update to rewrite):\n%s", golden, b.Bytes())
	}
}

func TestWritePrometheusLabels(t *testing.T) {
	for _, name := range []string{"", "0node", "node-id", "port", "backend"} {
		if err := WritePrometheus(&bytes.Buffer{}, nil, Label{name, "x"}); err == nil {
			t.Errorf("label name %q accepted", name)
		}
	}
	var b bytes.Buffer
	ports := []PortStats{{Protocol: "tcp", Port: 1, Accepted: 1}}
	if err := WritePrometheus(&b, ports, Label{"a_1", "back\\slash\nnew\"line"}); err != nil {
		t.Fatal(err)
	}
	want := `actorswarm_lb_accepted_total{a_1="back\\slash\nnew\"line",port="1",protocol="tcp"} 1`
	if !strings.Contains(b.String(), want+"\n") {
		t.Fatalf("no line %s in\n%s", want, b.String())
	}
}

type failWriter struct{}

var errWrite = errors.New("write failed")

func (failWriter) Write([]byte) (int, error) { return 0, errWrite }

func TestWritePrometheusWriteError(t *testing.T) {
	if err := WritePrometheus(failWriter{}, nil); !errors.Is(err, errWrite) {
		t.Fatalf("err = %v, want the writer's", err)
	}
}

// TestStatsExposition writes a live listener's stats: the port and
// backend lines carry the listener's numbers.
func TestStatsExposition(t *testing.T) {
	l := listen(t, ListenOptions{})
	a := echoBackend(t, "a")
	l.SetBackends([]string{a})
	c, _ := dial(t, l.Addr().String())
	c.echo("x")
	var b bytes.Buffer
	if err := WritePrometheus(&b, []PortStats{l.Stats()}); err != nil {
		t.Fatal(err)
	}
	want := `actorswarm_lb_connections_active{port="` + strings.TrimPrefix(l.Addr().String(), "127.0.0.1:") + `",protocol="tcp",backend="` + a + `"} 1`
	if !strings.Contains(b.String(), want+"\n") {
		t.Fatalf("no line %s in\n%s", want, b.String())
	}
}
