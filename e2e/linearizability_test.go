//go:build linux

package e2e

import (
	"cmp"
	"fmt"
	"math/rand/v2"
	"os"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/anishathalye/porcupine"
)

const (
	blockLinearizability = 170
	// linServices is how many registers (services) the clients share.
	linServices = 3
	// linDuration is how long the clients run while the nemesis kills
	// leaders; the kill cycle under way when it ends is finished first.
	linDuration = 20 * time.Second
	// linOpTimeout bounds one client operation; a write cut off by it is
	// possibly applied.
	linOpTimeout = 8 * time.Second
	// linBackoff is how long a client pauses after an operation failed, so
	// that a client of a dead node does not spin on its socket.
	linBackoff = 100 * time.Millisecond
	// linCheckTimeout bounds porcupine's search.
	linCheckTimeout = 20 * time.Second
	// linLabel is the service label that holds a register's value.
	linLabel = "v"
)

// linInput is a register operation: a read of service svc, or a write of
// value to it.
type linInput struct {
	svc   int
	write bool
	value string
}

// linOutput is what an operation returned: the value a read saw, or, for a
// write, whether its outcome is unknown (it may or may not have applied).
type linOutput struct {
	value   string
	unknown bool
}

// registerModel is one register per service, partitioned by service; the
// initial value is "" (the label is not set).
var registerModel = porcupine.Model{
	Partition: func(history []porcupine.Operation) [][]porcupine.Operation {
		parts := make([][]porcupine.Operation, linServices)
		for _, op := range history {
			svc := op.Input.(linInput).svc
			parts[svc] = append(parts[svc], op)
		}
		return slices.DeleteFunc(parts, func(p []porcupine.Operation) bool { return len(p) == 0 })
	},
	Init: func() any { return "" },
	Step: func(state, input, output any) (bool, any) {
		in := input.(linInput)
		if in.write {
			return true, in.value
		}
		return output.(linOutput).value == state.(string), state
	},
	DescribeOperation: func(input, output any) string {
		in, out := input.(linInput), output.(linOutput)
		switch {
		case in.write && out.unknown:
			return fmt.Sprintf("write(%s) -> ?", in.value)
		case in.write:
			return fmt.Sprintf("write(%s)", in.value)
		}
		return fmt.Sprintf("read() -> %s", describeValue(out.value))
	},
	DescribeState: func(state any) string { return describeValue(state.(string)) },
	DescribeOperationMetadata: func(info any) string {
		if info == nil {
			return ""
		}
		return info.(string)
	},
}

func describeValue(v string) string {
	if v == "" {
		return "(unset)"
	}
	return v
}

// linOp is one client operation as the test saw it.
type linOp struct {
	proc      int // porcupine's ClientId: a client gets a new one after an unknown outcome
	node      int
	in        linInput
	out       linOutput
	call, ret time.Duration // since linRun.start
	// outcome is "ok", "refused" (a write the state machine turned down:
	// not applied), "unknown" (a write that may have applied) or "failed"
	// (a read without an answer).
	outcome string
	detail  string // swarmctl's stderr when it failed
}

// linRun is the history the clients record.
type linRun struct {
	c     *Cluster
	start time.Time

	mu       sync.Mutex
	ops      []linOp
	events   []linEvent
	nextProc int
	problems []string // answers that break the CLI's contract
}

// linEvent is something the nemesis did, for the history file.
type linEvent struct {
	at   time.Duration
	what string
}

func (r *linRun) event(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.events = append(r.events, linEvent{at: r.since(), what: fmt.Sprintf(format, args...)})
}

func (r *linRun) since() time.Duration { return time.Since(r.start) }

func (r *linRun) record(op linOp) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.ops = append(r.ops, op)
}

func (r *linRun) newProc() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	p := r.nextProc
	r.nextProc++
	return p
}

func (r *linRun) problem(format string, args ...any) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.problems = append(r.problems, fmt.Sprintf(format, args...))
}

func linName(svc int) string { return fmt.Sprintf("lin-%d", svc) }

// read reads service svc through node and records it.
func (r *linRun) read(proc, node, svc int, d time.Duration) linOp {
	op := linOp{proc: proc, node: node, in: linInput{svc: svc}}
	op.call = r.since()
	out, errOut, code := r.c.CtlWithin(d, node, "service", "inspect", "--format", `{{index .Spec.Labels "`+linLabel+`"}}`, linName(svc))
	op.ret = r.since()
	value, oneLine := strings.CutSuffix(out, "\n")
	switch {
	case code != 0:
		op.outcome, op.detail = "failed", strings.TrimSpace(errOut)
	case !oneLine || strings.Contains(value, "\n"):
		op.outcome = "failed"
		r.problem("service inspect %s on node-%d exited 0 but printed %q, want one line", linName(svc), node, out)
	default:
		op.outcome, op.out.value = "ok", value
	}
	r.record(op)
	return op
}

// write sets the label of service svc to value through node and records
// it. `service update` reads the service and sends the whole spec back
// with the version it read: when another update came between, the state
// machine refuses it atomically ("update out of sequence"), so it did not
// apply. Any other failure (a timeout, a lost connection, no quorum) may
// have applied, now or later.
func (r *linRun) write(proc, node, svc int, value string) linOp {
	op := linOp{proc: proc, node: node, in: linInput{svc: svc, write: true, value: value}}
	op.call = r.since()
	_, errOut, code := r.c.CtlWithin(linOpTimeout, node, "service", "update", "-d", "--label-add", linLabel+"="+value, linName(svc))
	op.ret = r.since()
	switch {
	case code == 0:
		op.outcome = "ok"
	case code == 1 && strings.Contains(errOut, "update out of sequence"):
		op.outcome, op.detail = "refused", strings.TrimSpace(errOut)
	default:
		op.outcome, op.detail, op.out.unknown = "unknown", strings.TrimSpace(errOut), true
	}
	r.record(op)
	return op
}

// client runs a seeded mix of reads and writes through node until stop is
// closed.
func (r *linRun) client(k, node int, rng *rand.Rand, stop <-chan struct{}) {
	proc := k
	for n := 0; ; n++ {
		select {
		case <-stop:
			return
		default:
		}
		svc := rng.IntN(linServices)
		var op linOp
		if rng.IntN(2) == 0 {
			op = r.write(proc, node, svc, fmt.Sprintf("c%d.%d", k, n))
		} else {
			op = r.read(proc, node, svc, linOpTimeout)
		}
		if op.outcome == "unknown" {
			// The operation may still be under way: what this client does
			// next is concurrent with it, as from another process.
			proc = r.newProc()
		}
		if op.outcome == "failed" || op.outcome == "unknown" {
			select {
			case <-stop:
				return
			case <-time.After(linBackoff):
			}
		}
	}
}

// history turns the record into porcupine's operations: refused writes
// and failed reads are left out (they changed nothing), writes of unknown
// outcome return at end, after every other operation, since they may take
// effect any time after their call.
func (r *linRun) history(end time.Duration) []porcupine.Operation {
	var h []porcupine.Operation
	for _, op := range r.ops {
		ret := op.ret
		switch op.outcome {
		case "refused", "failed":
			continue
		case "unknown":
			ret = end
		}
		h = append(h, porcupine.Operation{
			ClientId: op.proc, Input: op.in, Output: op.out,
			Call: int64(op.call), Return: int64(ret),
			Metadata: fmt.Sprintf("node-%d %s", op.node, op.outcome),
		})
	}
	return h
}

// dump writes every operation, the refused and failed ones too, and the
// nemesis' doings, one a line in time order.
func (r *linRun) dump(path string) error {
	ops := slices.Clone(r.ops)
	slices.SortStableFunc(ops, func(a, b linOp) int { return cmp.Compare(a.call, b.call) })
	events := r.events
	var b strings.Builder
	for _, op := range ops {
		for len(events) > 0 && events[0].at <= op.call {
			fmt.Fprintf(&b, "%10.3fs nemesis: %s\n", events[0].at.Seconds(), events[0].what)
			events = events[1:]
		}
		what := "read"
		if op.in.write {
			what = "write " + op.in.value
		}
		fmt.Fprintf(&b, "%10.3fs %10.3fs proc %2d node-%d %s %s: %s", op.call.Seconds(), op.ret.Seconds(), op.proc, op.node, linName(op.in.svc), what, op.outcome)
		if !op.in.write && op.outcome == "ok" {
			fmt.Fprintf(&b, " -> %s", describeValue(op.out.value))
		}
		if op.detail != "" {
			fmt.Fprintf(&b, " (%s)", op.detail)
		}
		b.WriteByte('\n')
	}
	for _, e := range events {
		fmt.Fprintf(&b, "%10.3fs nemesis: %s\n", e.at.Seconds(), e.what)
	}
	return os.WriteFile(path, []byte(b.String()), 0o644)
}

// refusedButSeen names the reads that saw the value of a write swarmctl
// reported as refused: the plainest violation, and one porcupine's
// visualization leaves to be found.
func (r *linRun) refusedButSeen() []string {
	refused := map[string]linOp{}
	for _, op := range r.ops {
		if op.in.write && op.outcome == "refused" {
			refused[op.in.value] = op
		}
	}
	var out []string
	for _, op := range r.ops {
		w, ok := refused[op.out.value]
		if op.in.write || op.outcome != "ok" || !ok {
			continue
		}
		out = append(out, fmt.Sprintf("%s on node-%d at %.3fs read %s, written by a write through node-%d (%.3fs to %.3fs) that swarmctl reported as refused: %s",
			linName(op.in.svc), op.node, op.call.Seconds(), op.out.value, w.node, w.call.Seconds(), w.ret.Seconds(), w.detail))
	}
	return out
}

// linSeed is $SWARM_E2E_SEED, or a fresh seed.
func linSeed(t *testing.T) uint64 {
	t.Helper()
	if s := os.Getenv("SWARM_E2E_SEED"); s != "" {
		seed, err := strconv.ParseUint(s, 10, 64)
		if err != nil {
			t.Fatalf("SWARM_E2E_SEED=%q: %v", s, err)
		}
		return seed
	}
	return uint64(time.Now().UnixNano())
}

// TestLinearizability runs clients on every kind of node (managers and
// workers) that read and write one register per service (a service label)
// while a nemesis SIGKILLs the Raft leader again and again, and checks
// with porcupine that the history is linearizable per service. Final reads
// on every node, once the swarm is healthy, make a lost acknowledged write
// a violation too.
//
// The visualization (linearizability.html) and every operation, refused
// and failed ones included (history.txt), go to the test's artifact
// directory: kept with go test -artifacts -outputdir DIR.
func TestLinearizability(t *testing.T) {
	c := NewCluster(t, blockLinearizability)
	s := formSwarm(t, c, []int{1, 2, 3}, []int{4, 5})
	seed := linSeed(t)
	t.Logf("seed %d (rerun the same operation mix with SWARM_E2E_SEED=%d)", seed, seed)

	for k := range linServices {
		id := strings.TrimSpace(c.MustCtl(1, "service", "create", "-d", "--name", linName(k), "--replicas", "0", "/bin/sleep", "600"))
		if !idPattern.MatchString(id) {
			t.Fatalf("service create %s printed %q, want a service ID", linName(k), id)
		}
	}

	r := &linRun{c: c, start: time.Now()}
	clientNodes := []int{1, 2, 4, 5}
	r.nextProc = len(clientNodes)
	stop := make(chan struct{})
	var wg sync.WaitGroup
	stopClients := sync.OnceFunc(func() {
		close(stop)
		wg.Wait()
	})
	// Should the nemesis fail the test, the clients stop before the
	// cluster goes.
	defer stopClients()
	for k, node := range clientNodes {
		rng := rand.New(rand.NewPCG(seed, uint64(k)))
		wg.Go(func() { r.client(k, node, rng, stop) })
	}

	kills := linNemesis(t, c, s, r, rand.New(rand.NewPCG(seed, uint64(len(clientNodes)))))
	stopClients()

	// Every acknowledged write must still be there: read each register on
	// every node now that the swarm is healthy.
	final := r.newProc()
	for _, node := range []int{1, 2, 3, 4, 5} {
		for svc := range linServices {
			if op := r.read(final, node, svc, ctlTimeout); op.outcome != "ok" {
				t.Errorf("final read of %s on node-%d failed: %s", linName(svc), node, op.detail)
			}
		}
	}
	end := r.since() + time.Millisecond

	counts := map[string]int{}
	for _, op := range r.ops {
		kind := "reads"
		if op.in.write {
			kind = "writes"
		}
		counts[kind+" "+op.outcome]++
	}
	t.Logf("%d operations in %s, %d leader kills: %d reads ok, %d reads failed; %d writes ok, %d refused (out of sequence), %d of unknown outcome",
		len(r.ops), end.Round(time.Millisecond), kills, counts["reads ok"], counts["reads failed"],
		counts["writes ok"], counts["writes refused"], counts["writes unknown"])
	for _, p := range r.problems {
		t.Error(p)
	}
	if counts["writes ok"] == 0 || counts["reads ok"] == 0 {
		t.Errorf("no acknowledged write or read: the history checks nothing")
	}

	checkStart := time.Now()
	res, info := porcupine.CheckOperationsVerbose(registerModel, r.history(end), linCheckTimeout)
	t.Logf("porcupine: %s in %s", res, time.Since(checkStart).Round(time.Millisecond))
	dir := t.ArtifactDir()
	html, hist := filepath.Join(dir, "linearizability.html"), filepath.Join(dir, "history.txt")
	if err := porcupine.VisualizePath(registerModel, info, html); err != nil {
		t.Errorf("visualization: %v", err)
	}
	if err := r.dump(hist); err != nil {
		t.Errorf("history: %v", err)
	}
	switch res {
	case porcupine.Ok:
		return
	case porcupine.Illegal:
		t.Errorf("the history is not linearizable (seed %d): visualization %s, every operation in %s", seed, html, hist)
		for _, msg := range r.refusedButSeen() {
			t.Error(msg)
		}
		return
	}
	t.Errorf("porcupine found no linearization within %s (seed %d): inconclusive; visualization %s, history %s", linCheckTimeout, seed, html, hist)
}

// linNemesis kills the Raft leader with SIGKILL, restarts it 1–2 s later
// and waits until the swarm is healthy again, over and over for
// linDuration; only one manager is ever down. It returns the number of
// kills.
func linNemesis(t *testing.T, c *Cluster, s *swarm, r *linRun, rng *rand.Rand) int {
	t.Helper()
	deadline := time.Now().Add(linDuration)
	kills := 0
	for time.Now().Before(deadline) {
		leader := linLeader(t, c, s)
		r.event("kill node-%d (the leader)", leader)
		c.Kill(leader)
		kills++
		down := time.Second + time.Duration(rng.Int64N(int64(time.Second)))
		time.Sleep(down) // the fault itself: the leader stays down this long
		r.event("restart node-%d", leader)
		c.Restart(leader)
		Eventually(t, 20*time.Second, func() error {
			rows, err := c.NodesWithin(5*time.Second, leader)
			if err != nil {
				return err
			}
			return checkNodes(rows, s.allReady())
		})
		r.event("swarm healthy")
		t.Logf("nemesis: killed leader node-%d, down %s, swarm healthy again at %.3fs", leader, down.Round(time.Millisecond), r.since().Seconds())
	}
	return kills
}

// linLeader returns the index of the manager `node ls` shows as Leader.
func linLeader(t *testing.T, c *Cluster, s *swarm) int {
	t.Helper()
	var leader int
	Eventually(t, 15*time.Second, func() error {
		var errs []string
		for _, m := range s.managers {
			if !c.Running(m) {
				continue
			}
			rows, err := c.NodesWithin(5*time.Second, m)
			if err == nil {
				var row NodeRow
				if row, err = leaderRow(rows); err == nil {
					leader = s.index(t, row.Hostname)
					return nil
				}
			}
			errs = append(errs, err.Error())
		}
		return fmt.Errorf("no leader: %s", strings.Join(errs, "; "))
	})
	return leader
}

// TestRegisterModel checks the model and the making of the history on
// small hand-made histories, without a swarm.
func TestRegisterModel(t *testing.T) {
	const end = 1000
	w := func(svc int, value, outcome string, call, ret time.Duration) linOp {
		return linOp{in: linInput{svc: svc, write: true, value: value}, out: linOutput{unknown: outcome == "unknown"}, outcome: outcome, call: call, ret: ret}
	}
	rd := func(svc int, value string, call, ret time.Duration) linOp {
		return linOp{in: linInput{svc: svc}, out: linOutput{value: value}, outcome: "ok", call: call, ret: ret}
	}
	tests := []struct {
		name string
		ops  []linOp
		want bool
	}{
		{"nothing written", []linOp{rd(0, "", 0, 10)}, true},
		{"read after an acknowledged write", []linOp{w(0, "a", "ok", 0, 10), rd(0, "a", 20, 30)}, true},
		{"acknowledged write lost", []linOp{w(0, "a", "ok", 0, 10), rd(0, "", 20, 30)}, false},
		{"stale read", []linOp{w(0, "a", "ok", 0, 10), w(0, "b", "ok", 20, 30), rd(0, "a", 40, 50)}, false},
		{"concurrent write either way", []linOp{w(0, "a", "ok", 0, 30), rd(0, "", 10, 20), rd(0, "a", 25, 40)}, true},
		{"value never written", []linOp{rd(0, "x", 0, 10)}, false},
		{"refused write did not apply", []linOp{w(0, "a", "refused", 0, 10), rd(0, "a", 20, 30)}, false},
		{"failed read is left out", []linOp{w(0, "a", "ok", 0, 10), {in: linInput{svc: 0}, outcome: "failed", call: 20, ret: 30}}, true},
		{"unknown write may apply late", []linOp{w(0, "a", "ok", 0, 10), w(0, "b", "unknown", 5, 15), rd(0, "a", 20, 30), rd(0, "b", 40, 50)}, true},
		{"unknown write may never apply", []linOp{w(0, "b", "unknown", 0, 10), rd(0, "", 20, 30)}, true},
		{"unknown write applies once", []linOp{w(0, "a", "ok", 0, 10), w(0, "b", "unknown", 20, 30), rd(0, "b", 40, 50), rd(0, "a", 60, 70)}, false},
		{"services are apart", []linOp{w(0, "a", "ok", 0, 10), rd(1, "", 20, 30), rd(0, "a", 20, 30)}, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := &linRun{ops: tt.ops}
			if got := porcupine.CheckOperations(registerModel, r.history(end)); got != tt.want {
				t.Errorf("linearizable = %v, want %v", got, tt.want)
			}
		})
	}
}
