package service

import (
	"context"
	"testing"
	"time"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

const (
	logTask1 = "wt0fjqy8g4n6m8wq6r0k9pbh4"
	logTask2 = "cjfba1tl1g20pk1ny3a2nc1m4"
)

func logLine(task string, second int, stream, text string) *swarmv1.LogLine {
	return &swarmv1.LogLine{TaskId: task, TimestampUnixNano: clitest.Now().Add(time.Duration(second) * time.Second).UnixNano(), Stream: stream, Line: text}
}

func logs(lines ...*swarmv1.LogLine) *swarmv1.ServiceLogsResponse {
	return &swarmv1.ServiceLogsResponse{
		Lines: lines,
		Tasks: []*swarmv1.Task{
			{Id: logTask1, ServiceId: httpID, Slot: 1, NodeId: nodeID},
			{Id: logTask2, ServiceId: httpID, Slot: 10, NodeId: "doc9is0j8ht9lgmxg9edn581u"},
		},
		NodeNames:   map[string]string{nodeID: "vm"},
		ServiceName: "http",
	}
}

func TestLogs(t *testing.T) {
	first := logs(
		logLine(logTask1, 1, "stdout", "GET / 200"),
		logLine(logTask2, 2, "stderr", "warning: slow disk\n"),
		logLine(logTask1, 3, "stdout", "GET /health 200"),
	)
	tests := []struct {
		name     string
		args     []string
		replicas uint64
	}{
		{name: "default", replicas: 2},
		{name: "padded", replicas: 10},
		{name: "timestamps", args: []string{"-t"}, replicas: 2},
		{name: "no-task-ids", args: []string{"--no-task-ids"}, replicas: 2},
		{name: "no-trunc", args: []string{"--no-trunc"}, replicas: 2},
		{name: "raw", args: []string{"--raw"}, replicas: 2},
		{name: "raw-timestamps", args: []string{"--raw", "--timestamps"}, replicas: 2},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := httpService()
			svc.Spec.Replicas = tt.replicas
			d := newDaemon(svc)
			d.logs = []*swarmv1.ServiceLogsResponse{first}
			res := clitest.Run(d.conn(), nouns, append(append([]string{"service", "logs"}, tt.args...), "http")...)
			if res.Code != 0 {
				t.Fatalf("exit %d: %s", res.Code, res.Stderr)
			}
			clitest.Golden(t, "logs-"+tt.name, "stdout:\n"+res.Stdout+"stderr:\n"+res.Stderr)
		})
	}
}

// -f asks again every poll for the lines since the last one, prints each
// line once, and stops quietly on Ctrl-C.
func TestLogsFollow(t *testing.T) {
	d := newDaemon(httpService())
	d.logs = []*swarmv1.ServiceLogsResponse{
		logs(logLine(logTask1, 1, "stdout", "one"), logLine(logTask1, 2, "stdout", "two")),
		logs(logLine(logTask1, 2, "stdout", "two"), logLine(logTask2, 2, "stdout", "two too"), logLine(logTask1, 3, "stdout", "three")),
		logs(logLine(logTask1, 3, "stdout", "three")),
		logs(logLine(logTask1, 3, "stdout", "three"), logLine(logTask1, 4, "stdout", "four")),
	}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	conn := d.conn()
	var asked []*swarmv1.ServiceLogsRequest
	reply := conn.Reply
	conn.Reply = func(req *swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error) {
		if l := req.GetServiceLogs(); l != nil {
			asked = append(asked, l)
			if len(asked) == 4 {
				cancel()
			}
		}
		return reply(req)
	}
	res := clitest.RunContext(ctx, conn, nouns, "service", "logs", "-f", "--tail", "5", "http")
	want := "http.1.wt0fjqy8g4n6@vm    | one\n" +
		"http.1.wt0fjqy8g4n6@vm    | two\n" +
		"http.10.cjfba1tl1g20@doc9is0j8ht9lgmxg9edn581u    | two too\n" +
		"http.1.wt0fjqy8g4n6@vm    | three\n" +
		"http.1.wt0fjqy8g4n6@vm    | four\n"
	if res.Code != 0 || res.Stdout != want {
		t.Errorf("exit %d (%s), stdout:\n%s\nwant:\n%s", res.Code, res.Stderr, res.Stdout, want)
	}
	if len(asked) != 4 || asked[0].GetTail() != 5 || asked[1].GetTail() != 0 ||
		asked[1].GetSinceUnixNano() != clitest.Now().Add(2*time.Second).UnixNano() || asked[3].GetSinceUnixNano() != clitest.Now().Add(3*time.Second).UnixNano() {
		t.Errorf("requests %v", asked)
	}
}

func TestLogsOptions(t *testing.T) {
	for _, tt := range []struct {
		tail     string
		want     uint32
		skip     bool
		wantFail bool
	}{
		{"all", 0, false, false}, {"10", 10, false, false}, {"-1", 0, false, false}, {"0", 1, true, false}, {"ten", 0, false, true},
	} {
		got, skip, err := parseTail(tt.tail)
		if got != tt.want || skip != tt.skip || (err != nil) != tt.wantFail {
			t.Errorf("parseTail(%q) = %d, %v, %v", tt.tail, got, skip, err)
		}
	}
	now := clitest.Now()
	for s, want := range map[string]int64{
		"":                     0,
		"42m":                  now.Add(-42 * time.Minute).UnixNano(),
		"2013-01-02T13:23:37Z": time.Date(2013, 1, 2, 13, 23, 37, 0, time.UTC).UnixNano(),
		"1700000000.5":         1_700_000_000_500_000_000,
	} {
		if got, err := parseSince(s, now); err != nil || got != want {
			t.Errorf("parseSince(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	if _, err := parseSince("yesterday", now); err == nil {
		t.Error("parseSince accepted yesterday")
	}
	d := newDaemon(httpService())
	d.logs = []*swarmv1.ServiceLogsResponse{logs(logLine(logTask1, 1, "stdout", "last"))}
	conn := d.conn()
	res := clitest.Run(conn, nouns, "service", "logs", "--tail", "0", "http")
	if res.Code != 0 || res.Stdout != "" || conn.Requests[len(conn.Requests)-1].GetServiceLogs().GetTail() != 1 {
		t.Errorf("--tail 0: exit %d, stdout %q, requests %v", res.Code, res.Stdout, conn.Requests)
	}
	res = clitest.Run(newDaemon(httpService()).conn(), nouns, "service", "logs", "--tail", "ten", "http")
	if res.Code != 1 || res.Stderr != "invalid tail value \"ten\": want a number or \"all\"\n" {
		t.Errorf("--tail ten: exit %d, stderr %q", res.Code, res.Stderr)
	}
}
