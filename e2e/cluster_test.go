//go:build linux

package e2e

import (
	"fmt"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// IP blocks: test X runs its nodes on 127.0.0.(block+1)..(block+9).
const (
	blockFormation      = 10
	blockLeaderFailover = 20
	blockWorkerDown     = 30
	blockBadTokens      = 40
	blockPromoteDemote  = 50
	blockQuorumLoss     = 60
	blockFullRestart    = 70
	blockLeaveRemove    = 80
	blockDataDirLocked  = 90
)

// What the product promises about time (see the brief of the e2e suite):
// a node whose heartbeats stop is Down within about a second, a dead
// leader is replaced within about a second, and a write without a quorum
// fails within a few seconds. The bounds below leave room for a loaded
// two-core machine.
const (
	downWithin        = 2 * time.Second
	failoverWithin    = 3 * time.Second
	noQuorumErrWithin = 5 * time.Second
	// settle bounds what the product promises no time for (a restarted
	// node reporting Ready, a promotion showing up everywhere).
	settle = 15 * time.Second
)

func TestFormation(t *testing.T) {
	c := NewCluster(t, blockFormation)
	c.Start(1, 2, 3, 4, 5)

	_, errOut, code := c.Ctl(1, "node", "ls")
	if code != 1 || !notJoined(errOut) {
		t.Fatalf("node ls on an unjoined node: exit %d, stderr %q; want exit 1 saying it is not a swarm manager", code, errOut)
	}

	id1, initToken := initSwarm(t, c, 1)
	wt, mt := joinToken(t, c, 1, "worker"), joinToken(t, c, 1, "manager")
	if initToken != wt {
		t.Errorf("swarm init printed worker token %s, but join-token -q worker says %s", initToken, wt)
	}
	if wt == mt {
		t.Errorf("worker and manager tokens are the same: %s", wt)
	}
	if tokenPattern.FindStringSubmatch(wt)[1] != tokenPattern.FindStringSubmatch(mt)[1] {
		t.Errorf("worker token %s and manager token %s name different CA digests", wt, mt)
	}

	// The joins follow one another as fast as a user (or a script) types
	// them: a join that returned must leave a swarm that accepts the next.
	joins := []struct {
		node  int
		token string
		role  string
	}{
		{2, mt, "manager"},
		{3, mt, "manager"},
		{4, wt, "worker"},
		{5, wt, "worker"},
	}
	for _, j := range joins {
		args := []string{"swarm", "join", "--token", j.token, c.Node(1).GatewayAddr()}
		start := time.Now()
		out, errOut, code := c.Ctl(j.node, args...)
		if code != 0 {
			t.Errorf("%s on node-%d, right after the previous join: exit %d after %s: %s",
				cmdline(args), j.node, code, time.Since(start).Round(time.Millisecond), strings.TrimSpace(errOut))
			// Retry, so that the rest of the test still says something.
			Eventually(t, 20*time.Second, func() error {
				out, errOut, code = c.Ctl(j.node, args...)
				if code != 0 {
					return fmt.Errorf("%s on node-%d: exit %d: %s", cmdline(args), j.node, code, strings.TrimSpace(errOut))
				}
				return nil
			})
			t.Logf("node-%d joined %s after the first attempt failed", j.node, time.Since(start).Round(time.Millisecond))
		}
		if want := "This node joined a swarm as a " + j.role + ".\n"; out != want {
			t.Errorf("swarm join on node-%d printed %q, want %q", j.node, out, want)
		}
	}

	s := &swarm{c: c, managers: []int{1, 2, 3}, workers: []int{4, 5}, ids: map[int]string{}}
	var view []NodeRow
	for i := 1; i <= 5; i++ {
		Eventually(t, 10*time.Second, func() error {
			rows, err := c.Nodes(i)
			if err != nil {
				return err
			}
			if err := checkNodes(rows, s.allReady()); err != nil {
				return fmt.Errorf("node ls on node-%d: %w", i, err)
			}
			if _, err := leaderRow(rows); err != nil {
				return fmt.Errorf("node ls on node-%d: %w", i, err)
			}
			reachable := 0
			for _, r := range rows {
				if r.ManagerStatus == "Reachable" {
					reachable++
				}
				if r.Availability != "Active" || r.EngineVersion == "" {
					return fmt.Errorf("node ls on node-%d: %v: want availability Active and an engine version", i, r)
				}
			}
			if reachable != 2 {
				return fmt.Errorf("node ls on node-%d: %d Reachable managers, want 2: %v", i, reachable, rows)
			}
			self, err := selfRow(rows)
			if err != nil {
				return fmt.Errorf("node ls on node-%d: %w", i, err)
			}
			if self.Hostname != c.Node(i).Hostname {
				return fmt.Errorf("node ls on node-%d marks %s with *, want node-%d", i, self.Hostname, i)
			}
			if view != nil && membership(rows) != membership(view) {
				return fmt.Errorf("node ls on node-%d differs from node-1's:\n%v\n%v", i, rows, view)
			}
			if view == nil {
				view = rows
			}
			return nil
		})
	}
	for _, r := range view {
		s.ids[s.index(t, r.Hostname)] = r.ID
	}
	if s.ids[1] != id1 {
		t.Errorf("node ls lists node-1 as %s, but swarm init said %s", s.ids[1], id1)
	}

	t.Run("ls", func(t *testing.T) {
		tests := []struct {
			name string
			node int
			args []string
			want []string // sorted IDs
		}{
			{"quiet on a manager", 2, []string{"-q"}, s.sortedIDs(1, 2, 3, 4, 5)},
			{"quiet on a worker", 4, []string{"-q"}, s.sortedIDs(1, 2, 3, 4, 5)},
			{"role=manager", 1, []string{"-q", "--filter", "role=manager"}, s.sortedIDs(1, 2, 3)},
			{"role=manager on a worker", 5, []string{"-q", "--filter", "role=manager"}, s.sortedIDs(1, 2, 3)},
			{"role=worker", 3, []string{"-q", "--filter", "role=worker"}, s.sortedIDs(4, 5)},
			{"name", 1, []string{"-q", "--filter", "name=node-4"}, s.sortedIDs(4)},
			{"id", 4, []string{"-q", "--filter", "id=" + s.ids[2]}, s.sortedIDs(2)},
			{"format", 1, []string{"--format", "{{.ID}}"}, s.sortedIDs(1, 2, 3, 4, 5)},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out := c.MustCtl(tt.node, append([]string{"node", "ls"}, tt.args...)...)
				if got := idsOf(out); !slices.Equal(got, tt.want) {
					t.Errorf("node ls %s on node-%d printed IDs %v, want %v\n%s", strings.Join(tt.args, " "), tt.node, got, tt.want, out)
				}
			})
		}
	})

	t.Run("inspect self", func(t *testing.T) {
		tests := []struct {
			name    string
			node    int
			want    []string // patterns the --pretty output must match
			notWant string
		}{
			{"worker", 4, []string{`(?m)^ID:\s+` + s.ids[4] + `$`, `(?m)^Hostname:\s+node-4$`, `(?m)^ State:\s+Ready$`, `(?m)^ Address:\s+` + regexp.QuoteMeta(c.Node(4).IP) + `$`}, "Manager Status:"},
			{"manager", 2, []string{`(?m)^ID:\s+` + s.ids[2] + `$`, `(?m)^Hostname:\s+node-2$`, `(?m)^Manager Status:$`, `(?m)^ Raft Status:\s+Reachable$`, `(?m)^ Leader:\s+(Yes|No)$`}, ""},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				out := c.MustCtl(tt.node, "node", "inspect", "--pretty", "self")
				var problems []string
				for _, p := range tt.want {
					if !regexp.MustCompile(p).MatchString(out) {
						problems = append(problems, "does not match "+p)
					}
				}
				if tt.notWant != "" && strings.Contains(out, tt.notWant) {
					problems = append(problems, fmt.Sprintf("shows %q", tt.notWant))
				}
				if len(problems) > 0 {
					t.Errorf("node inspect --pretty self on node-%d (%s):\n  %s\noutput:\n%s", tt.node, s.ids[tt.node], strings.Join(problems, "\n  "), out)
				}
				if got := inspect(t, c, tt.node, "self"); got.ID != s.ids[tt.node] || got.Description.Hostname != c.Node(tt.node).Hostname {
					t.Errorf("node inspect self on node-%d shows %s (%s), want %s (node-%d)", tt.node, got.ID, got.Description.Hostname, s.ids[tt.node], tt.node)
				}
			})
		}
	})

	t.Run("availability", func(t *testing.T) {
		target := s.ids[5]
		tests := []struct{ flag, shown, json string }{
			{"drain", "Drain", "NODE_AVAILABILITY_DRAIN"},
			{"pause", "Pause", "NODE_AVAILABILITY_PAUSE"},
			{"active", "Active", "NODE_AVAILABILITY_ACTIVE"},
		}
		for _, tt := range tests {
			t.Run(tt.flag, func(t *testing.T) {
				out := c.MustCtl(1, "node", "update", "--availability", tt.flag, target)
				if out != target+"\n" {
					t.Errorf("node update printed %q, want the node reference %q", out, target+"\n")
				}
				pretty := c.MustCtl(3, "node", "inspect", "--pretty", target)
				if !regexp.MustCompile(`(?m)^ Availability:\s+` + tt.shown + `$`).MatchString(pretty) {
					t.Errorf("after --availability %s, node inspect --pretty on node-3 shows:\n%s", tt.flag, pretty)
				}
				if got := inspect(t, c, 4, target).Spec.Availability; got != tt.json && !(tt.flag == "active" && got == "") {
					t.Errorf("after --availability %s, node inspect on node-4 shows availability %q, want %s", tt.flag, got, tt.json)
				}
				rows := c.MustNodes(5)
				if r, _ := rowOf(rows, "node-5"); r.Availability != tt.shown {
					t.Errorf("after --availability %s, node ls on node-5 shows %v, want availability %s", tt.flag, r, tt.shown)
				}
			})
		}
	})

	t.Run("labels", func(t *testing.T) {
		target := s.ids[5]
		// Through a worker's gateway: forwarded to a manager.
		c.MustCtl(4, "node", "update", "--label-add", "zone=a", "--label-add", "ssd", target)
		if got, want := inspect(t, c, 2, target).Spec.Labels, map[string]string{"zone": "a", "ssd": ""}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("labels after --label-add zone=a --label-add ssd: %v, want %v", got, want)
		}
		if pretty := c.MustCtl(1, "node", "inspect", "--pretty", target); !strings.Contains(pretty, "Labels:\n - ssd\n - zone=a\n") {
			t.Errorf("node inspect --pretty does not list the labels:\n%s", pretty)
		}
		if got := idsOf(c.MustCtl(3, "node", "ls", "-q", "--filter", "node.label=zone=a")); !slices.Equal(got, []string{target}) {
			t.Errorf("node ls --filter node.label=zone=a: %v, want [%s]", got, target)
		}
		c.MustCtl(1, "node", "update", "--label-rm", "zone", target)
		if got, want := inspect(t, c, 3, target).Spec.Labels, map[string]string{"ssd": ""}; fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("labels after --label-rm zone: %v, want %v", got, want)
		}
		out, errOut, code := c.Ctl(1, "node", "update", "--label-rm", "nope", target)
		if err := oneLineError(out, errOut, code); err != nil {
			t.Errorf("node update --label-rm of a missing key: %v", err)
		} else if !strings.Contains(errOut, "nope") {
			t.Errorf("node update --label-rm of a missing key: stderr %q does not name the key", errOut)
		}
	})

	t.Run("tcp", func(t *testing.T) {
		admin := c.Node(1).AdminDir()
		swarmCA := filepath.Join(admin, "ca.pem")
		rogue, nodeCert := filepath.Join(t.TempDir(), "rogue"), filepath.Join(t.TempDir(), "node")
		writeRogueBundle(t, swarmCA, rogue)
		writeNodeBundle(t, swarmCA, c.Node(4), nodeCert)
		tests := []struct {
			name     string
			node     int    // whose gateway is dialed
			tlsDir   string // "" for none
			wantSelf string // the * row when it works
			wantErr  string // part of stderr when it must fail
		}{
			{name: "admin bundle, manager gateway", node: 1, tlsDir: admin, wantSelf: "node-1"},
			{name: "admin bundle, worker gateway", node: 4, tlsDir: admin, wantSelf: "node-4"},
			{name: "no bundle", node: 1, wantErr: "--tls-dir"},
			{name: "node certificate", node: 1, tlsDir: nodeCert, wantErr: "admin"},
			{name: "certificate of another CA", node: 2, tlsDir: rogue},
		}
		for _, tt := range tests {
			t.Run(tt.name, func(t *testing.T) {
				args := []string{"-H", "tcp://" + c.Node(tt.node).GatewayAddr()}
				if tt.tlsDir != "" {
					args = append(args, "--tls-dir", tt.tlsDir)
				}
				args = append(args, "node", "ls")
				out, errOut, code := c.Swarmctl(ctlTimeout, args...)
				if tt.wantSelf == "" {
					if err := oneLineError(out, errOut, code); err != nil {
						t.Errorf("%s: want it refused: %v", cmdline(args), err)
					}
					if !strings.Contains(errOut, tt.wantErr) {
						t.Errorf("%s: stderr %q does not mention %q", cmdline(args), errOut, tt.wantErr)
					}
					t.Logf("refused: %s", strings.TrimSpace(errOut))
					return
				}
				if code != 0 {
					t.Fatalf("%s: exit %d: %s", cmdline(args), code, errOut)
				}
				rows, err := ParseNodeTable(out)
				if err != nil {
					t.Fatal(err)
				}
				if err := checkNodes(rows, s.allReady()); err != nil {
					t.Errorf("%s: %v", cmdline(args), err)
				}
				if self, err := selfRow(rows); err != nil || self.Hostname != tt.wantSelf {
					t.Errorf("%s: * on %v (%v), want %s", cmdline(args), self, err, tt.wantSelf)
				}
			})
		}
	})
}

func TestLeaderFailover(t *testing.T) {
	c := NewCluster(t, blockLeaderFailover)
	s := formSwarm(t, c, []int{1, 2, 3}, []int{4, 5})
	leader, err := leaderRow(c.MustNodes(1))
	if err != nil {
		t.Fatal(err)
	}
	old := s.index(t, leader.Hostname)
	var survivors []int
	for i := 1; i <= 5; i++ {
		if i != old {
			survivors = append(survivors, i)
		}
	}

	killed := time.Now()
	c.Kill(old)
	deadline := killed.Add(failoverWithin)

	// Every survivor, polled at once, must answer with a new leader.
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		answered = map[int]time.Duration{}
		failures []string
	)
	for _, i := range survivors {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var newLeader string
			err := poll(deadline, func() error {
				rows, err := c.NodesWithin(max(time.Until(deadline), 200*time.Millisecond), i)
				if err != nil {
					return err
				}
				l, err := leaderRow(rows)
				if err != nil {
					return err
				}
				if l.Hostname == leader.Hostname {
					return fmt.Errorf("node ls on node-%d still shows the killed %s as leader: %v", i, leader.Hostname, rows)
				}
				newLeader = l.Hostname
				return nil
			})
			if err != nil {
				// How long does it take after all?
				start := time.Now()
				_, errOut, code := c.Ctl(i, "node", "ls")
				err = fmt.Errorf("%w; the next node ls on node-%d (started %s after the kill) took %s: exit %d %s",
					err, i, start.Sub(killed).Round(time.Millisecond), time.Since(start).Round(time.Millisecond), code, strings.TrimSpace(errOut))
			}
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				failures = append(failures, fmt.Sprintf("node-%d: no node ls with a new leader within %s of the kill: %v", i, failoverWithin, err))
				return
			}
			answered[i] = time.Since(killed)
			t.Logf("node-%d: node ls shows new leader %s %s after the leader was killed", i, newLeader, answered[i].Round(time.Millisecond))
		}()
	}
	wg.Wait()
	for _, f := range failures {
		t.Error(f)
	}
	var slowest time.Duration
	for _, d := range answered {
		slowest = max(slowest, d)
	}
	t.Logf("failover time (kill -9 of %s until every survivor answers with a new leader): %s", leader.Hostname, slowest.Round(time.Millisecond))

	want := s.allReady()
	want[leader.Hostname] = "Down Unreachable"
	for _, i := range survivors {
		Eventually(t, 5*time.Second, func() error {
			rows, err := c.Nodes(i)
			if err != nil {
				return err
			}
			if err := checkNodes(rows, want); err != nil {
				return fmt.Errorf("node ls on node-%d: %w", i, err)
			}
			return nil
		})
	}

	// A write through a surviving worker's gateway.
	worker := s.workers[0]
	out := c.MustCtl(worker, "node", "update", "--label-add", "x=y", s.ids[worker])
	if out != s.ids[worker]+"\n" {
		t.Errorf("node update printed %q, want %q", out, s.ids[worker]+"\n")
	}
	if got := inspect(t, c, survivors[0], s.ids[worker]).Spec.Labels["x"]; got != "y" {
		t.Errorf("label x of node-%d after the write: %q, want y", worker, got)
	}

	// The old leader comes back as a manager, and the swarm keeps one leader.
	c.Restart(old)
	Eventually(t, settle, func() error {
		for _, i := range []int{old, survivors[0]} {
			rows, err := c.Nodes(i)
			if err != nil {
				return err
			}
			if err := checkNodes(rows, s.allReady()); err != nil {
				return fmt.Errorf("node ls on node-%d after the old leader restarted: %w", i, err)
			}
		}
		return nil
	})

	// It counts for the quorum again: with another manager killed, it and
	// the last one must elect a leader and take writes.
	victim := s.index(t, mustLeader(t, c, old).Hostname)
	for _, m := range s.managers {
		if victim == old && m != old {
			victim = m
		}
	}
	c.Kill(victim)
	killed = time.Now()
	Eventually(t, settle, func() error {
		_, errOut, code := c.Ctl(worker, "node", "update", "--label-add", "second=failover", s.ids[worker])
		if code != 0 {
			return fmt.Errorf("write through node-%d with node-%d (restarted) and the last manager: exit %d: %s", worker, old, code, strings.TrimSpace(errOut))
		}
		return nil
	})
	t.Logf("with node-%d killed, the restarted node-%d and the last manager took a write %s later", victim, old, time.Since(killed).Round(time.Millisecond))
	want = s.allReady()
	want[c.Node(victim).Hostname] = "Down Unreachable"
	Eventually(t, settle, func() error {
		rows, err := c.Nodes(old)
		if err != nil {
			return err
		}
		return checkNodes(rows, want)
	})
}

// mustLeader returns the leader as node ls on node i shows it.
func mustLeader(t *testing.T, c *Cluster, i int) NodeRow {
	t.Helper()
	l, err := leaderRow(c.MustNodes(i))
	if err != nil {
		t.Fatal(err)
	}
	return l
}

func TestWorkerDownAndBack(t *testing.T) {
	c := NewCluster(t, blockWorkerDown)
	s := formSwarm(t, c, []int{1}, []int{2, 3})
	tests := []struct {
		name string
		stop func(i int)
	}{
		{"SIGKILL", c.Kill},
		{"SIGTERM", c.Stop},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			const w = 2
			stopped := time.Now()
			tt.stop(w)
			want := s.allReady()
			want["node-2"] = "Down worker"
			err := poll(stopped.Add(downWithin), func() error {
				rows, err := c.NodesWithin(downWithin, 1)
				if err != nil {
					return err
				}
				return checkNodes(rows, want)
			})
			if err != nil {
				t.Errorf("node-2 not shown Down within %s of its %s: %v", downWithin, tt.name, err)
				Eventually(t, settle, func() error {
					rows, err := c.Nodes(1)
					if err != nil {
						return err
					}
					return checkNodes(rows, want)
				})
			}
			t.Logf("node-2 shown Down %s after its %s", time.Since(stopped).Round(time.Millisecond), tt.name)

			c.Restart(w)
			var rows []NodeRow
			Eventually(t, settle, func() error {
				var err error
				if rows, err = c.Nodes(1); err != nil {
					return err
				}
				return checkNodes(rows, s.allReady())
			})
			if r, _ := rowOf(rows, "node-2"); r.ID != s.ids[w] {
				t.Errorf("node-2 came back as %s, want its old ID %s", r.ID, s.ids[w])
			}
			self, err := selfRow(c.MustNodes(w))
			if err != nil || self.ID != s.ids[w] {
				t.Errorf("node ls on the restarted node-2 marks %v (%v), want its old ID %s", self, err, s.ids[w])
			}
			out, errOut, code := c.Ctl(w, "swarm", "join", "--token", joinToken(t, c, 1, "worker"), c.Node(1).GatewayAddr())
			if err := oneLineError(out, errOut, code); err != nil || !strings.Contains(errOut, "already part of a swarm") {
				t.Errorf("swarm join on the restarted node-2: want it refused as already part of a swarm: %v (stderr %q)", err, errOut)
			}
		})
	}
}

func TestBadTokens(t *testing.T) {
	c := NewCluster(t, blockBadTokens)
	// Swarm A: node-1 (manager), node-2 (worker); node-3 tries to join.
	// Swarm B: node-6 alone.
	a := formSwarm(t, c, []int{1}, []int{2})
	c.Start(3, 6)
	initSwarm(t, c, 6)
	wtA, mtA := joinToken(t, c, 1, "worker"), joinToken(t, c, 1, "manager")
	wtB, mtB := joinToken(t, c, 6, "worker"), joinToken(t, c, 6, "manager")
	digestA, secretA := tokenPattern.FindStringSubmatch(wtA)[1], tokenPattern.FindStringSubmatch(wtA)[2]

	// A worker token never makes a manager.
	if got := idsOf(c.MustCtl(2, "node", "ls", "-q", "--filter", "role=manager")); !slices.Equal(got, a.sortedIDs(1)) {
		t.Errorf("managers after a worker-token join: %v, want only node-1 %v", got, a.sortedIDs(1))
	}
	if role := inspect(t, c, 1, a.ids[2]).Role; role != "NODE_ROLE_WORKER" {
		t.Errorf("node-2 joined with the worker token has role %s, want NODE_ROLE_WORKER", role)
	}

	out := c.MustCtl(1, "swarm", "join-token", "--rotate", "worker")
	if !strings.HasPrefix(out, "Successfully rotated worker join token.") {
		t.Errorf("join-token --rotate worker printed %q", out)
	}
	rotated := joinToken(t, c, 1, "worker")
	if rotated == wtA || !strings.HasPrefix(rotated, "SWMTKN-1-"+digestA+"-") {
		t.Fatalf("after --rotate the worker token is %s (was %s): want a new secret for the same CA", rotated, wtA)
	}
	if got := joinToken(t, c, 1, "manager"); got != mtA {
		t.Errorf("rotating the worker token changed the manager token: %s, was %s", got, mtA)
	}

	wrongSecret := "0123456789abcdefghijklmno"
	if wrongSecret == secretA {
		t.Fatal("the wrong secret is right")
	}
	tests := []struct {
		name    string
		token   string
		manager int    // whose gateway node-3 joins through
		wantErr string // part of stderr, when the wording is known
	}{
		{name: "wrong secret", token: "SWMTKN-1-" + digestA + "-" + wrongSecret, manager: 1, wantErr: "invalid join token"},
		{name: "rotated", token: wtA, manager: 1, wantErr: "invalid join token"},
		{name: "other swarm's worker token", token: wtB, manager: 1},
		{name: "other swarm's manager token", token: mtB, manager: 1},
		{name: "token sent to the other swarm", token: rotated, manager: 6},
		{name: "empty", token: "", manager: 1},
		{name: "garbage", token: "garbage", manager: 1, wantErr: "invalid join token"},
		{name: "version 2", token: "SWMTKN-2-" + digestA + "-" + secretA, manager: 1, wantErr: "invalid join token"},
		{name: "no secret", token: "SWMTKN-1-" + digestA, manager: 1, wantErr: "invalid join token"},
		{name: "extra part", token: rotated + "-abc", manager: 1, wantErr: "invalid join token"},
		{name: "short digest", token: "SWMTKN-1-" + digestA[:10] + "-" + secretA, manager: 1, wantErr: "invalid join token"},
		{name: "short secret", token: "SWMTKN-1-" + digestA + "-" + secretA[:10], manager: 1, wantErr: "invalid join token"},
		{name: "upper case", token: strings.ToUpper(rotated), manager: 1, wantErr: "invalid join token"},
		{name: "digest and secret swapped", token: "SWMTKN-1-" + secretA + "-" + digestA, manager: 1, wantErr: "invalid join token"},
		{name: "space inside", token: "SWMTKN-1-" + digestA + " " + secretA, manager: 1, wantErr: "invalid join token"},
		{name: "non-ASCII", token: "SWMTKN-1-" + digestA[:49] + "é-" + secretA, manager: 1, wantErr: "invalid join token"},
	}
	beforeA, beforeB := membership(c.MustNodes(1)), membership(c.MustNodes(6))
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"swarm", "join", "--token", tt.token, c.Node(tt.manager).GatewayAddr()}
			out, errOut, code := c.Ctl(3, args...)
			if err := oneLineError(out, errOut, code); err != nil {
				t.Errorf("%s on node-3: want it refused: %v", cmdline(args), err)
			}
			if tt.wantErr != "" && !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("%s on node-3: stderr %q does not mention %q", cmdline(args), errOut, tt.wantErr)
			}
			if strings.Contains(errOut, secretA) || strings.Contains(errOut, wrongSecret) {
				t.Errorf("%s on node-3: the error repeats the secret: %q", cmdline(args), errOut)
			}
			t.Logf("refused: %s", strings.TrimSpace(errOut))
			if after := membership(c.MustNodes(1)); after != beforeA {
				t.Errorf("swarm A changed:\nbefore %s\nafter  %s", beforeA, after)
			}
			if after := membership(c.MustNodes(6)); after != beforeB {
				t.Errorf("swarm B changed:\nbefore %s\nafter  %s", beforeB, after)
			}
			if _, errOut, code := c.Ctl(3, "node", "ls"); code != 1 || !notJoined(errOut) {
				t.Errorf("node ls on the refused node-3: exit %d, stderr %q; want it still outside any swarm", code, errOut)
			}
		})
	}

	// After all that, node-3 joins with the good token, as a worker.
	mustJoin(t, c, 3, 1, rotated, "worker")
	a.workers = append(a.workers, 3)
	Eventually(t, 10*time.Second, func() error {
		rows, err := c.Nodes(1)
		if err != nil {
			return err
		}
		return checkNodes(rows, a.allReady())
	})
}

func TestPromoteDemote(t *testing.T) {
	c := NewCluster(t, blockPromoteDemote)
	s := formSwarm(t, c, []int{1}, []int{2, 3})
	id1, id2, id3 := s.ids[1], s.ids[2], s.ids[3]

	expect := func(t *testing.T, from int, want map[string]string) {
		t.Helper()
		Eventually(t, settle, func() error {
			rows, err := c.Nodes(from)
			if err != nil {
				return err
			}
			if err := checkNodes(rows, want); err != nil {
				return fmt.Errorf("node ls on node-%d: %w", from, err)
			}
			return nil
		})
	}
	threeManagers := map[string]string{"node-1": "Ready manager", "node-2": "Ready manager", "node-3": "Ready manager"}

	out := c.MustCtl(1, "node", "promote", id2, id3)
	if want := fmt.Sprintf("Node %s promoted to a manager in the swarm.\nNode %s promoted to a manager in the swarm.\n", id2, id3); out != want {
		t.Errorf("node promote printed %q, want %q", out, want)
	}
	for _, i := range []int{1, 2, 3} {
		expect(t, i, threeManagers)
	}
	if got := idsOf(c.MustCtl(3, "node", "ls", "-q", "--filter", "role=manager")); !slices.Equal(got, s.sortedIDs(1, 2, 3)) {
		t.Errorf("managers after promoting node-2 and node-3: %v, want %v", got, s.sortedIDs(1, 2, 3))
	}
	c.MustCtl(3, "node", "update", "--label-add", "promoted=yes", id3)

	out = c.MustCtl(2, "node", "demote", id3)
	if want := fmt.Sprintf("Manager %s demoted in the swarm.\n", id3); out != want {
		t.Errorf("node demote printed %q, want %q", out, want)
	}
	demoted := map[string]string{"node-1": "Ready manager", "node-2": "Ready manager", "node-3": "Ready worker"}
	expect(t, 1, demoted)
	expect(t, 3, demoted) // node-3 still answers, through a manager
	c.MustCtl(3, "node", "update", "--label-add", "demoted=yes", id3)

	// Promoted again, then a manager dies: demoting another would leave one
	// reachable manager out of two.
	c.MustCtl(1, "node", "promote", id3)
	expect(t, 1, threeManagers)
	expect(t, 3, threeManagers)
	c.Kill(3)
	deadThree := map[string]string{"node-1": "Ready manager", "node-2": "Ready manager", "node-3": "Down Unreachable"}
	expect(t, 1, deadThree)
	out, errOut, code := c.Ctl(1, "node", "demote", id2)
	if err := oneLineError(out, errOut, code); err != nil {
		t.Errorf("node demote node-2 while node-3 is down: want it refused: %v", err)
	} else if !strings.Contains(errOut, "quorum") {
		t.Errorf("node demote node-2 while node-3 is down: stderr %q does not mention the quorum", errOut)
	}
	t.Logf("demote refused: %s", strings.TrimSpace(errOut))
	expect(t, 2, deadThree)

	// node-3 comes back as a manager; then two demotions leave node-1 alone.
	c.Restart(3)
	expect(t, 1, threeManagers)
	expect(t, 3, threeManagers)
	c.MustCtl(1, "node", "demote", id3)
	expect(t, 1, demoted)
	c.MustCtl(3, "node", "demote", id2)
	alone := map[string]string{"node-1": "Ready Leader", "node-2": "Ready worker", "node-3": "Ready worker"}
	expect(t, 1, alone)
	expect(t, 2, alone)

	for _, from := range []int{1, 2} {
		t.Run(fmt.Sprintf("demote the last manager through node-%d", from), func(t *testing.T) {
			out, errOut, code := c.Ctl(from, "node", "demote", id1)
			if err := oneLineError(out, errOut, code); err != nil {
				t.Errorf("node demote of the last manager: want it refused: %v", err)
			} else if !strings.Contains(errOut, "last manager") {
				t.Errorf("node demote of the last manager: stderr %q does not say it is the last manager", errOut)
			}
			t.Logf("demote refused: %s", strings.TrimSpace(errOut))
			expect(t, 1, alone)
		})
	}
	c.MustCtl(2, "node", "update", "--label-add", "alone=yes", id1)
}

func TestQuorumLossAndForceNewCluster(t *testing.T) {
	c := NewCluster(t, blockQuorumLoss)
	s := formSwarm(t, c, []int{1, 2, 3}, []int{4})
	wt := joinToken(t, c, 1, "worker")
	leader, err := leaderRow(c.MustNodes(1))
	if err != nil {
		t.Fatal(err)
	}
	// The survivor is a follower: the leader and the other follower die.
	var survivor int
	var dead []int
	for _, m := range s.managers {
		switch {
		case c.Node(m).Hostname == leader.Hostname:
			dead = append([]int{m}, dead...)
		case survivor == 0:
			survivor = m
		default:
			dead = append(dead, m)
		}
	}
	for _, m := range dead {
		c.Kill(m)
	}
	t.Logf("killed node-%d (leader) and node-%d; node-%d survives", dead[0], dead[1], survivor)

	args := []string{"node", "update", "--label-add", "lost=quorum", s.ids[survivor]}
	start := time.Now()
	out, errOut, code := c.CtlWithin(3*noQuorumErrWithin, survivor, args...)
	took := time.Since(start)
	if err := oneLineError(out, errOut, code); err != nil {
		t.Errorf("a write without quorum: want it refused: %v", err)
	}
	if !strings.Contains(errOut, msgNoLeader) {
		t.Errorf("a write without quorum: stderr %q, want %q", strings.TrimSpace(errOut), msgNoLeader)
	}
	if took > noQuorumErrWithin {
		t.Errorf("a write without quorum took %s to fail, want at most %s", took.Round(time.Millisecond), noQuorumErrWithin)
	}
	t.Logf("a write without quorum failed after %s", took.Round(time.Millisecond))

	out = c.MustCtl(survivor, "swarm", "init", "--force-new-cluster")
	if m := initPattern.FindStringSubmatch(out); m == nil || m[1] != s.ids[survivor] {
		t.Errorf("swarm init --force-new-cluster printed %q; want \"Swarm initialized: current node (%s) is now a manager.\"", out, s.ids[survivor])
	}

	Eventually(t, settle, func() error {
		_, errOut, code := c.Ctl(survivor, "node", "update", "--label-add", "recovered=yes", s.ids[survivor])
		if code != 0 {
			return fmt.Errorf("write after --force-new-cluster: exit %d: %s", code, strings.TrimSpace(errOut))
		}
		return nil
	})
	Eventually(t, settle, func() error {
		for _, i := range []int{survivor, 4} {
			rows, err := c.Nodes(i)
			if err != nil {
				return err
			}
			if len(rows) != 4 {
				return fmt.Errorf("node ls on node-%d lists %d nodes, want all 4: %v", i, len(rows), rows)
			}
			for _, r := range rows {
				want := "Ready"
				if r.Hostname == c.Node(dead[0]).Hostname || r.Hostname == c.Node(dead[1]).Hostname {
					want = "Down"
				}
				if r.Status != want {
					return fmt.Errorf("node ls on node-%d: %v, want %s", i, r, want)
				}
				if r.ID != s.ids[s.index(t, r.Hostname)] {
					return fmt.Errorf("node ls on node-%d: %v, want ID %s", i, r, s.ids[s.index(t, r.Hostname)])
				}
			}
			if l, err := leaderRow(rows); err != nil || l.Hostname != c.Node(survivor).Hostname {
				return fmt.Errorf("node ls on node-%d: leader %v (%v), want node-%d", i, l, err, survivor)
			}
		}
		return nil
	})
	if got := joinToken(t, c, survivor, "worker"); got != wt {
		t.Errorf("the worker token changed with --force-new-cluster: %s, was %s", got, wt)
	}

	// The dead managers come back; the new swarm knows them as workers.
	c.Restart(dead[0])
	c.Restart(dead[1])
	back := map[string]string{c.Node(survivor).Hostname: "Ready Leader", "node-4": "Ready worker"}
	for _, m := range dead {
		back[c.Node(m).Hostname] = "Ready worker"
	}
	for _, i := range []int{survivor, dead[0], dead[1]} {
		Eventually(t, settle, func() error {
			rows, err := c.Nodes(i)
			if err != nil {
				return err
			}
			if err := checkNodes(rows, back); err != nil {
				return fmt.Errorf("node ls on node-%d: %w", i, err)
			}
			return nil
		})
	}

	// And are promoted back to a swarm of three managers.
	c.MustCtl(survivor, "node", "promote", s.ids[dead[0]], s.ids[dead[1]])
	Eventually(t, settle, func() error {
		rows, err := c.Nodes(dead[1])
		if err != nil {
			return err
		}
		return checkNodes(rows, s.allReady())
	})
	c.MustCtl(4, "node", "update", "--label-add", "three=again", s.ids[4])
}

func TestFullRestart(t *testing.T) {
	c := NewCluster(t, blockFullRestart)
	s := formSwarm(t, c, []int{1, 2, 3}, []int{4})
	wt, mt := joinToken(t, c, 1, "worker"), joinToken(t, c, 1, "manager")
	roles := func(rows []NodeRow) string {
		var out []string
		for _, r := range rows {
			role := "worker"
			if r.ManagerStatus != "" {
				role = "manager"
			}
			out = append(out, r.ID+"/"+r.Hostname+"/"+role)
		}
		slices.Sort(out)
		return strings.Join(out, " ")
	}
	before := roles(c.MustNodes(1))

	for _, i := range []int{4, 3, 2, 1} {
		c.Stop(i)
	}
	c.Start(1, 2, 3, 4)

	for i := 1; i <= 4; i++ {
		Eventually(t, settle, func() error {
			rows, err := c.Nodes(i)
			if err != nil {
				return err
			}
			if err := checkNodes(rows, s.allReady()); err != nil {
				return fmt.Errorf("node ls on node-%d after the restart: %w", i, err)
			}
			if after := roles(rows); after != before {
				return fmt.Errorf("node ls on node-%d after the restart:\n%s\nbefore the restart:\n%s", i, after, before)
			}
			return nil
		})
	}
	if got := joinToken(t, c, 2, "worker"); got != wt {
		t.Errorf("worker token after the restart: %s, before: %s", got, wt)
	}
	if got := joinToken(t, c, 3, "manager"); got != mt {
		t.Errorf("manager token after the restart: %s, before: %s", got, mt)
	}
	c.MustCtl(4, "node", "update", "--label-add", "restarted=yes", s.ids[4])
}

func TestLeaveAndRemove(t *testing.T) {
	c := NewCluster(t, blockLeaveRemove)
	s := formSwarm(t, c, []int{1, 2, 3}, []int{4, 5})
	want := s.allReady()
	check := func(t *testing.T, from int) {
		t.Helper()
		Eventually(t, settle, func() error {
			rows, err := c.Nodes(from)
			if err != nil {
				return err
			}
			return checkNodes(rows, want)
		})
	}

	t.Run("worker leaves", func(t *testing.T) {
		if out := c.MustCtl(4, "swarm", "leave"); out != "Node left the swarm.\n" {
			t.Errorf("swarm leave printed %q", out)
		}
		want["node-4"] = "Down worker"
		check(t, 1)
		check(t, 2)
		if _, errOut, code := c.Ctl(4, "node", "ls"); code != 1 || !notJoined(errOut) {
			t.Errorf("node ls on node-4 after it left: exit %d, stderr %q; want it outside the swarm", code, errOut)
		}
		out, errOut, code := c.Ctl(4, "swarm", "leave")
		if err := oneLineError(out, errOut, code); err != nil || !notJoined(errOut) {
			t.Errorf("swarm leave on a node that left: want it refused as not part of a swarm: %v (stderr %q)", err, errOut)
		}
	})

	t.Run("remove the node that left", func(t *testing.T) {
		if out := c.MustCtl(2, "node", "rm", s.ids[4]); out != s.ids[4]+"\n" {
			t.Errorf("node rm printed %q, want %q", out, s.ids[4]+"\n")
		}
		delete(want, "node-4")
		check(t, 1)
		out, errOut, code := c.Ctl(1, "node", "rm", s.ids[4])
		if err := oneLineError(out, errOut, code); err != nil || !strings.Contains(errOut, "not found") {
			t.Errorf("node rm of a removed node: want it refused as not found: %v (stderr %q)", err, errOut)
		}
	})

	refusals := []struct {
		name    string
		node    int
		args    []string
		wantErr string
	}{
		{"manager leaves without --force", 2, []string{"swarm", "leave"}, "--force"},
		{"rm of a Ready worker", 1, []string{"node", "rm", s.ids[5]}, "not down"},
		{"rm of a manager", 1, []string{"node", "rm", s.ids[3]}, "demoted"},
		{"rm --force of a manager", 5, []string{"node", "rm", "--force", s.ids[2]}, "demoted"},
	}
	for _, tt := range refusals {
		t.Run(tt.name, func(t *testing.T) {
			before := membership(c.MustNodes(1))
			out, errOut, code := c.Ctl(tt.node, tt.args...)
			if err := oneLineError(out, errOut, code); err != nil {
				t.Errorf("%s on node-%d: want it refused: %v", cmdline(tt.args), tt.node, err)
			} else if !strings.Contains(errOut, tt.wantErr) {
				t.Errorf("%s on node-%d: stderr %q does not mention %q", cmdline(tt.args), tt.node, errOut, tt.wantErr)
			}
			t.Logf("refused: %s", strings.TrimSpace(errOut))
			if after := membership(c.MustNodes(1)); after != before {
				t.Errorf("%s changed the swarm:\nbefore %s\nafter  %s", cmdline(tt.args), before, after)
			}
			c.MustCtl(tt.node, "node", "ls")
		})
	}

	t.Run("rm --force of a Ready worker", func(t *testing.T) {
		c.MustCtl(3, "node", "rm", "--force", s.ids[5])
		delete(want, "node-5")
		check(t, 1)
		// The removed node learns it from its next heartbeat.
		Eventually(t, settle, func() error {
			if _, errOut, code := c.Ctl(5, "node", "ls"); code != 1 || !notJoined(errOut) {
				return fmt.Errorf("node ls on the removed node-5: exit %d, stderr %q; want it outside the swarm", code, errOut)
			}
			return nil
		})
	})

	t.Run("the node that left joins again", func(t *testing.T) {
		mustJoin(t, c, 4, 3, joinToken(t, c, 1, "worker"), "worker")
		want["node-4"] = "Ready worker"
		check(t, 1)
		if r, _ := rowOf(c.MustNodes(1), "node-4"); r.ID == s.ids[4] {
			t.Errorf("node-4 joined again with its old ID %s; want a new one", r.ID)
		}
	})
}

func TestDataDirLocked(t *testing.T) {
	c := NewCluster(t, blockDataDirLocked)
	c.Start(1)
	id, _ := initSwarm(t, c, 1)
	n := c.Node(1)
	tests := []struct {
		name string
		addr string
	}{
		{"another address", c.Node(2).IP},
		{"same address", n.IP},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			args := []string{"--data-dir", n.DataDir, "--addr", tt.addr, "--hostname", "intruder", "--heartbeat", heartbeat}
			out, code := c.RunSwarmd(15*time.Second, args...)
			switch {
			case code == -1:
				t.Errorf("a second swarmd on %s's data dir still ran after 15s:\n%s", n.Hostname, out)
			case code == 0:
				t.Errorf("a second swarmd on %s's data dir exited with status 0:\n%s", n.Hostname, out)
			case !strings.Contains(out, "in use") || !strings.Contains(out, n.DataDir):
				t.Errorf("a second swarmd on %s's data dir exited with status %d, but its error does not say that data dir %s is in use:\n%s", n.Hostname, code, n.DataDir, out)
			}
			t.Logf("second swarmd: exit %d: %s", code, strings.TrimSpace(out))
			rows := c.MustNodes(1)
			if self, err := selfRow(rows); err != nil || self.ID != id || len(rows) != 1 {
				t.Errorf("node ls on %s after the second swarmd: %v (%v), want only itself as %s", n.Hostname, rows, err, id)
			}
		})
	}
	if !c.Running(1) {
		t.Errorf("%s stopped", n.Hostname)
	}
}
