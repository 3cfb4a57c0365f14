package bench

import (
	"bytes"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// These tests run scenarios end to end in quick mode and check that the
// runs complete and their reports are well-formed, never their timings.

func TestQuickRaftPropose(t *testing.T) {
	checkQuickRun(t, Options{Quick: true}, "raft-propose")
}

// TestQuickLoopback runs the scenarios that start swarmd processes, with
// the binaries in $SWARM_BIN (default ../bin), when SWARM_E2E=1.
func TestQuickLoopback(t *testing.T) {
	if os.Getenv("SWARM_E2E") != "1" {
		t.Skip("starts swarmd processes: set SWARM_E2E=1 (and SWARM_BIN, default ../bin) to run it")
	}
	dir := os.Getenv("SWARM_BIN")
	if dir == "" {
		dir = filepath.Join("..", "bin")
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		t.Fatalf("SWARM_BIN %q: %v", dir, err)
	}
	checkQuickRun(t, Options{Quick: true, BinDir: abs}, "leader-crash", "node-down", "node-crash", "chaos", "converge", "scale")
}

// checkQuickRun runs the scenarios through Run and checks the records it
// returns and the reports it writes.
func checkQuickRun(t *testing.T, opts Options, scenarios ...string) {
	t.Helper()
	out := t.TempDir()
	opts.Log = testLog{t}
	recs, err := Run(t.Context(), RunConfig{Scenarios: scenarios, Options: opts, OutDir: out})
	if err != nil {
		t.Fatalf("Run(%v): %v", scenarios, err)
	}
	if len(recs) == 0 {
		t.Fatalf("Run(%v) returned no records", scenarios)
	}
	for _, s := range scenarios {
		found := false
		for _, r := range recs {
			found = found || r.Scenario == s || strings.HasPrefix(r.Scenario, s+"/")
		}
		if !found {
			t.Errorf("no record of scenario %s", s)
		}
	}
	for _, r := range recs {
		if err := r.Check(); err != nil {
			t.Error(err)
		}
		if r.Summary.N < QuickRepeat {
			t.Errorf("%s: %d samples, want at least one per repetition (%d)", r.Scenario, r.Summary.N, QuickRepeat)
		}
		s := r.Summary
		if !(s.Min <= s.Median && s.Median <= s.P99 && s.P99 <= s.Max) {
			t.Errorf("%s: summary out of order: %+v", r.Scenario, s)
		}
		for _, v := range r.Samples {
			if v < 0 {
				t.Errorf("%s: negative sample %v", r.Scenario, v)
			}
		}
	}

	f, err := os.Open(filepath.Join(out, JSONFile))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	read, err := ReadJSON(f)
	if err != nil {
		t.Fatalf("%s does not parse: %v", JSONFile, err)
	}
	if len(read) != len(recs) {
		t.Errorf("%s holds %d records, Run returned %d", JSONFile, len(read), len(recs))
	}
	for _, r := range read {
		if err := r.Check(); err != nil {
			t.Errorf("%s: %v", JSONFile, err)
		}
	}

	md, err := os.ReadFile(filepath.Join(out, MarkdownFile))
	if err != nil {
		t.Fatal(err)
	}
	rows := markdownRows(md)
	if len(rows) != len(recs) {
		t.Errorf("%s has %d rows, want one per record (%d):\n%s", MarkdownFile, len(rows), len(recs), md)
	}
	for i, r := range recs {
		if i < len(rows) && (len(rows[i]) != len(markdownHeader) || rows[i][0] != r.Scenario) {
			t.Errorf("%s row %d = %q, want %d cells starting with %s", MarkdownFile, i+1, rows[i], len(markdownHeader), r.Scenario)
		}
	}
}

// markdownRows returns the cells of the table's body rows.
func markdownRows(md []byte) [][]string {
	var rows [][]string
	for i, line := range strings.Split(string(md), "\n") {
		if i < 2 || !strings.HasPrefix(line, "|") {
			continue
		}
		var cells []string
		for _, c := range strings.Split(strings.Trim(line, "|"), "|") {
			cells = append(cells, strings.TrimSpace(c))
		}
		rows = append(rows, cells)
	}
	return rows
}

// testLog writes a scenario's progress lines to the test log.
type testLog struct{ t *testing.T }

func (l testLog) Write(p []byte) (int, error) {
	l.t.Log(string(bytes.TrimRight(p, "\n")))
	return len(p), nil
}
