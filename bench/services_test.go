package bench

import (
	"slices"
	"strings"
	"testing"
)

func TestParseTaskRows(t *testing.T) {
	out := "bench-1|Running|Running 2 seconds ago\n" +
		"bench-5|Shutdown|Orphaned less than a second ago\n" +
		"|Running|Pending 1 second ago\n\n"
	got, err := parseTaskRows(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []TaskRow{
		{Node: "bench-1", Desired: "Running", Current: "Running"},
		{Node: "bench-5", Desired: "Shutdown", Current: "Orphaned"},
		{Node: "", Desired: "Running", Current: "Pending"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseTaskRows = %v, want %v", got, want)
	}
	if rows, err := parseTaskRows(""); err != nil || len(rows) != 0 {
		t.Errorf("parseTaskRows of nothing = %v, %v; want no rows", rows, err)
	}
	for _, bad := range []string{"bench-1 Running Running\n", "bench-1|Running|\n", "bench-1||Running now\n"} {
		if _, err := parseTaskRows(bad); err == nil {
			t.Errorf("parseTaskRows accepted %q", bad)
		}
	}
}

func TestParseReplicas(t *testing.T) {
	out := "other 3/3\nweb 998/1000\ncapped 4/6 (max 2 per node)\n"
	tests := []struct {
		service          string
		running, desired int
		wantErr          string
	}{
		{"web", 998, 1000, ""},
		{"capped", 4, 6, ""},
		{"we", 0, 0, "does not list we"},
	}
	for _, tt := range tests {
		t.Run(tt.service, func(t *testing.T) {
			running, desired, err := parseReplicas(out, tt.service)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Errorf("parseReplicas = %v, want an error containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil || running != tt.running || desired != tt.desired {
				t.Errorf("parseReplicas = %d/%d, %v; want %d/%d", running, desired, err, tt.running, tt.desired)
			}
		})
	}
	if _, _, err := parseReplicas("web 3\n", "web"); err == nil {
		t.Error("parseReplicas accepted REPLICAS without a slash")
	}
}

func TestSettled(t *testing.T) {
	run := TaskRow{Node: "bench-1", Desired: "Running", Current: "Running"}
	tests := []struct {
		name string
		rows []TaskRow
		want int
		ok   bool
	}{
		{"all running", []TaskRow{run, run}, 2, true},
		{"one short", []TaskRow{run}, 2, false},
		{"one starting", []TaskRow{run, {Desired: "Running", Current: "Starting"}}, 1, false},
		{"one still stopping", []TaskRow{run, {Desired: "Shutdown", Current: "Running"}}, 1, false},
		{"history stopped", []TaskRow{run, {Desired: "Shutdown", Current: "Shutdown"}, {Desired: "Shutdown", Current: "Orphaned"}}, 1, true},
		{"none", nil, 0, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := settled(tt.rows, tt.want); (err == nil) != tt.ok {
				t.Errorf("settled(%v, %d) = %v, want ok=%v", tt.rows, tt.want, err, tt.ok)
			}
		})
	}
}

func TestRunningOff(t *testing.T) {
	on := func(host string) TaskRow { return TaskRow{Node: host, Desired: "Running", Current: "Running"} }
	gone := TaskRow{Node: "bench-5", Desired: "Shutdown", Current: "Orphaned"}
	tests := []struct {
		name string
		rows []TaskRow
		ok   bool
	}{
		{"replaced", []TaskRow{on("bench-1"), on("bench-4"), gone}, true},
		{"not yet replaced", []TaskRow{on("bench-1"), gone}, false},
		{"still shown on the killed node", []TaskRow{on("bench-1"), on("bench-5")}, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if err := runningOff(tt.rows, "bench-5", 2); (err == nil) != tt.ok {
				t.Errorf("runningOff = %v, want ok=%v", err, tt.ok)
			}
		})
	}
}

func TestBusiestWorker(t *testing.T) {
	lb, err := NewLoopback(LoopbackConfig{BinDir: fakeBinDir(t), Nodes: 4})
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	s := &swarm{Loopback: lb, managers: []int{1, 2}, workers: []int{3, 4}}
	row := func(host, current string) TaskRow { return TaskRow{Node: host, Desired: "Running", Current: current} }

	w, n, err := s.busiestWorker([]TaskRow{row("bench-1", "Running"), row("bench-1", "Running"), row("bench-3", "Running"),
		row("bench-4", "Running"), row("bench-4", "Running"), row("bench-3", "Starting")})
	if err != nil || w != 4 || n != 2 {
		t.Errorf("busiestWorker = %d, %d, %v; want node 4 with 2 tasks", w, n, err)
	}
	if w, _, err := s.busiestWorker([]TaskRow{row("bench-3", "Running"), row("bench-4", "Running")}); err != nil || w != 3 {
		t.Errorf("busiestWorker of a tie = %d, %v; want the first worker, 3", w, err)
	}
	if _, _, err := s.busiestWorker([]TaskRow{row("bench-1", "Running")}); err == nil {
		t.Error("busiestWorker found a worker although only a manager runs tasks")
	}
}
