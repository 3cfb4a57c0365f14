package bench

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"
)

func TestScenarioNamesAreUnique(t *testing.T) {
	var names []string
	for _, s := range Scenarios() {
		if s.Name == "" || s.Description == "" || s.Run == nil {
			t.Errorf("scenario %+v lacks a name, description or Run", s)
		}
		if slices.Contains(names, s.Name) {
			t.Errorf("scenario %s listed twice", s.Name)
		}
		names = append(names, s.Name)
	}
}

func TestLookup(t *testing.T) {
	got, err := Lookup([]string{"node-down", "raft-propose"})
	if err != nil {
		t.Fatalf("Lookup: %v", err)
	}
	if len(got) != 2 || got[0].Name != "node-down" || got[1].Name != "raft-propose" {
		t.Errorf("Lookup returned %v, want node-down then raft-propose", got)
	}
	_, err = Lookup([]string{"raft-propose", "leader-crsh"})
	if !errors.Is(err, ErrUnknownScenario) {
		t.Fatalf("Lookup(leader-crsh) = %v, want ErrUnknownScenario", err)
	}
	for _, s := range Scenarios() {
		if !strings.Contains(err.Error(), s.Name) {
			t.Errorf("error %q does not list known scenario %s", err, s.Name)
		}
	}
}

func TestRunRefusesBeforeRunning(t *testing.T) {
	tests := []struct {
		name string
		cfg  RunConfig
		want string
	}{
		{"unknown scenario", RunConfig{Scenarios: []string{"raft-propose", "nope"}}, `unknown scenario "nope"`},
		{"no scenario", RunConfig{}, "no scenario given"},
		{"negative repeat", RunConfig{Scenarios: []string{"raft-propose"}, Options: Options{Repeat: -1}}, "want at least 1"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tt.cfg.OutDir = filepath.Join(t.TempDir(), "out")
			_, err := Run(t.Context(), tt.cfg)
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("Run = %v, want an error containing %q", err, tt.want)
			}
			if _, serr := os.Stat(tt.cfg.OutDir); !os.IsNotExist(serr) {
				t.Errorf("Run wrote %s although it refused to run", tt.cfg.OutDir)
			}
		})
	}
}

func TestList(t *testing.T) {
	var b bytes.Buffer
	if err := List(&b); err != nil {
		t.Fatal(err)
	}
	lines := strings.Split(strings.TrimRight(b.String(), "\n"), "\n")
	if len(lines) != len(Scenarios())+1 || !strings.HasPrefix(lines[0], "SCENARIO") {
		t.Fatalf("List printed\n%s\nwant a header and a line per scenario", b.String())
	}
	for i, s := range Scenarios() {
		if !strings.HasPrefix(lines[i+1], s.Name+" ") || !strings.HasSuffix(lines[i+1], s.Description) {
			t.Errorf("List line %q, want %s and its description", lines[i+1], s.Name)
		}
	}
}

func TestParseNodeStatus(t *testing.T) {
	out := "bench-1 Ready Leader\nbench-2 Down Unreachable\nbench-4 Ready \n"
	got, err := parseNodeStatus(out)
	if err != nil {
		t.Fatal(err)
	}
	want := []NodeStatus{
		{Hostname: "bench-1", Status: "Ready", ManagerStatus: "Leader"},
		{Hostname: "bench-2", Status: "Down", ManagerStatus: "Unreachable"},
		{Hostname: "bench-4", Status: "Ready"},
	}
	if !slices.Equal(got, want) {
		t.Errorf("parseNodeStatus = %v, want %v", got, want)
	}
	if _, err := parseNodeStatus("bench-1\n"); err == nil {
		t.Error("parseNodeStatus accepted a line without a status")
	}
}

func TestSwarmHealthy(t *testing.T) {
	lb, err := NewLoopback(LoopbackConfig{BinDir: fakeBinDir(t), Nodes: 3})
	if err != nil {
		t.Fatal(err)
	}
	defer lb.Close()
	s := &swarm{Loopback: lb, managers: []int{1, 2}, workers: []int{3}}
	ok := []NodeStatus{{"bench-1", "Ready", "Leader"}, {"bench-2", "Ready", "Reachable"}, {"bench-3", "Ready", ""}}
	tests := []struct {
		name string
		edit func([]NodeStatus) []NodeStatus
		want string
	}{
		{"healthy", func(r []NodeStatus) []NodeStatus { return r }, ""},
		{"a node down", func(r []NodeStatus) []NodeStatus { r[2].Status = "Down"; return r }, "bench-3 is Down"},
		{"no leader", func(r []NodeStatus) []NodeStatus { r[0].ManagerStatus = "Reachable"; return r }, "0 leaders"},
		{"unreachable manager", func(r []NodeStatus) []NodeStatus { r[1].ManagerStatus = "Unreachable"; return r }, `bench-2 is "Unreachable"`},
		{"missing node", func(r []NodeStatus) []NodeStatus { return r[:2] }, "2 nodes listed"},
		{"stranger", func(r []NodeStatus) []NodeStatus { r[2].Hostname = "other"; return r }, `called "other"`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := s.healthy(tt.edit(slices.Clone(ok)))
			switch {
			case tt.want == "" && err != nil:
				t.Errorf("healthy = %v, want nil", err)
			case tt.want != "" && (err == nil || !strings.Contains(err.Error(), tt.want)):
				t.Errorf("healthy = %v, want an error containing %q", err, tt.want)
			}
		})
	}
}

func TestLoopbackConfigRefusesMissingBinaries(t *testing.T) {
	cfg := LoopbackConfig{BinDir: t.TempDir(), Nodes: 1}
	if _, _, err := cfg.Validate(); err == nil || !strings.Contains(err.Error(), "swarmd is not an executable file") {
		t.Errorf("Validate with an empty --bin = %v, want it to name the missing swarmd", err)
	}
}

// fakeBinDir returns a directory with executable files named swarmd and
// swarmctl, for tests that start no process.
func fakeBinDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	for _, name := range []string{"swarmd", "swarmctl"} {
		if err := os.WriteFile(filepath.Join(dir, name), []byte("#!/bin/sh\nexit 1\n"), 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// TestPollReportsTheLastRealFailure: when the wait runs out, the error
// names what the last check found wrong, not that the check cut short by
// the deadline was cut short.
func TestPollReportsTheLastRealFailure(t *testing.T) {
	checks := 0
	err := Poll(context.Background(), 150*time.Millisecond, "the thing", func(ctx context.Context) error {
		checks++
		if checks == 1 {
			return errors.New("3 of 4 running")
		}
		<-ctx.Done() // this check hangs until the deadline
		return fmt.Errorf("swarmctl: %w", ctx.Err())
	})
	if err == nil || !strings.Contains(err.Error(), "3 of 4 running") || strings.Contains(err.Error(), "deadline") {
		t.Fatalf("Poll = %v, want the failure before the deadline (3 of 4 running)", err)
	}
	err = Poll(context.Background(), 50*time.Millisecond, "the thing", func(ctx context.Context) error {
		return errors.New("still 3 of 4")
	})
	if err == nil || !strings.Contains(err.Error(), "still 3 of 4") {
		t.Fatalf("Poll = %v, want the checks' failure", err)
	}
}
