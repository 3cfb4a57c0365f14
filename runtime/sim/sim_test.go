package sim

import (
	"context"
	"errors"
	"runtime"
	"strings"
	"testing"
	"time"

	"github.com/actorswarm/swarm/actors/task"
	"github.com/actorswarm/swarm/internal/clock/clocktest"
)

const waitFor = 10 * time.Second

var spec = task.Spec{TaskID: "t1", Name: "web.1.t1", Image: "nginx"}

func startTask(t *testing.T, r *Runtime) *Instance {
	t.Helper()
	in, err := r.Start(context.Background(), spec)
	if err != nil {
		t.Fatalf("Start: %v", err)
	}
	return in.(*Instance)
}

func TestStartLatency(t *testing.T) {
	const latency = 30 * time.Millisecond
	r := New(Config{StartLatency: latency})
	begin := time.Now()
	startTask(t, r)
	if took := time.Since(begin); took < latency {
		t.Errorf("Start took %v; want at least %v", took, latency)
	}

	slow := New(Config{StartLatency: time.Hour})
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Millisecond)
	defer cancel()
	if _, err := slow.Start(ctx, spec); !errors.Is(err, context.DeadlineExceeded) {
		t.Errorf("Start past its ctx: %v; want DeadlineExceeded", err)
	}
}

func TestFailureRate(t *testing.T) {
	const n = 2000
	for _, tc := range []struct {
		name string
		rate float64
		seed int64
	}{
		{"never", 0, 1},
		{"quarter", 0.25, 42},
		{"half", 0.5, 7},
		{"always", 1, 3},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Logf("seed %d", tc.seed)
			draws := func() []bool {
				r := New(Config{FailureRate: tc.rate, Seed: tc.seed})
				out := make([]bool, n)
				for i := range out {
					in, err := r.Start(context.Background(), spec)
					switch {
					case errors.Is(err, ErrInjected):
						out[i] = true
					case err != nil:
						t.Fatal(err)
					default:
						_ = in.Stop(0)
					}
				}
				return out
			}
			a, b := draws(), draws()
			failed := 0
			for i := range a {
				if a[i] != b[i] {
					t.Fatalf("start %d: the same seed drew differently", i)
				}
				if a[i] {
					failed++
				}
			}
			// 5 standard deviations of a binomial at most: 0.05*n.
			if want := tc.rate * n; float64(failed) < want-0.05*n || float64(failed) > want+0.05*n {
				t.Errorf("%d of %d starts failed; want about %.0f", failed, n, want)
			}
		})
	}
}

func TestExitAfter(t *testing.T) {
	r := New(Config{FailureRate: 1, ExitAfter: 20 * time.Millisecond})
	in := startTask(t, r)
	select {
	case <-in.Done():
	case <-time.After(waitFor):
		t.Fatal("a failing task did not exit")
	}
	if code, err := in.ExitCode(); code != 1 || err != nil {
		t.Errorf("ExitCode = %d, %v; want 1, nil", code, err)
	}
	logs := in.Logs(time.Time{}, 0)
	if len(logs) != 2 || logs[1].Stream != "stderr" {
		t.Errorf("logs = %v; want a start line and a failure on stderr", logs)
	}
	if err := in.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
	if code, _ := in.ExitCode(); code != 1 {
		t.Errorf("Stop after the exit changed the code to %d", code)
	}

	// Stopped before it fails, it never fails.
	in = startTask(t, New(Config{FailureRate: 1, ExitAfter: time.Hour}))
	if err := in.Stop(0); err != nil {
		t.Fatal(err)
	}
	if code, err := in.ExitCode(); code != 0 || err != nil {
		t.Errorf("ExitCode = %d, %v; want 0, nil", code, err)
	}
}

func TestRunsUntilStop(t *testing.T) {
	t0 := time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC)
	clk := clocktest.New(t0)
	r := New(Config{Clock: clk})
	in := startTask(t, r)
	other := startTask(t, r)
	if in.ID() == other.ID() {
		t.Errorf("two instances share ID %s", in.ID())
	}
	select {
	case <-in.Done():
		t.Fatal("Done before Stop")
	default:
	}
	if code, err := in.ExitCode(); code != -1 || !errors.Is(err, ErrRunning) {
		t.Errorf("ExitCode while running = %d, %v", code, err)
	}
	if code, err := in.Exec(context.Background(), []string{"true"}); code != 0 || err != nil {
		t.Errorf("Exec while running = %d, %v", code, err)
	}
	clk.Advance(time.Minute)
	for range 2 {
		if err := in.Stop(time.Second); err != nil {
			t.Fatal(err)
		}
	}
	select {
	case <-in.Done():
	default:
		t.Fatal("Done still open after Stop")
	}
	if code, err := in.ExitCode(); code != 0 || err != nil {
		t.Errorf("ExitCode = %d, %v; want 0, nil", code, err)
	}
	if _, err := in.Exec(context.Background(), []string{"true"}); !errors.Is(err, ErrExited) {
		t.Errorf("Exec after Stop: %v; want ErrExited", err)
	}
	for _, tc := range []struct {
		since time.Time
		tail  int
		want  []string
	}{
		{time.Time{}, 0, []string{"sim: task web.1.t1 started (image nginx)", "sim: task stopped"}},
		{time.Time{}, 1, []string{"sim: task stopped"}},
		{t0, 0, []string{"sim: task stopped"}},
		{t0.Add(time.Minute), 0, nil},
	} {
		var got []string
		for _, l := range in.Logs(tc.since, tc.tail) {
			got = append(got, l.Line)
		}
		if strings.Join(got, "|") != strings.Join(tc.want, "|") {
			t.Errorf("Logs(%v, %d) = %q; want %q", tc.since, tc.tail, got, tc.want)
		}
	}
}

func TestValidate(t *testing.T) {
	for _, c := range []Config{{FailureRate: -0.1}, {FailureRate: 1.5}, {StartLatency: -1}, {ExitAfter: -1}} {
		if c.Validate() == nil {
			t.Errorf("%+v validated", c)
		}
	}
	if err := (Config{FailureRate: 1, StartLatency: time.Second}).Validate(); err != nil {
		t.Error(err)
	}
}

// TestCheap checks that thousands of running instances cost neither
// goroutines nor much memory.
func TestCheap(t *testing.T) {
	const n = 10000
	r := New(Config{})
	goroutines := runtime.NumGoroutine()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	ins := make([]task.Instance, 0, n)
	for range n {
		in, err := r.Start(context.Background(), spec)
		if err != nil {
			t.Fatal(err)
		}
		ins = append(ins, in)
	}
	runtime.ReadMemStats(&after)
	perInstance := (after.TotalAlloc - before.TotalAlloc) / n
	t.Logf("%d bytes allocated per instance", perInstance)
	if perInstance > 512 {
		t.Errorf("%d bytes allocated per instance; want at most 512", perInstance)
	}
	if g := runtime.NumGoroutine(); g > goroutines {
		t.Errorf("%d goroutines with %d instances; %d before", g, n, goroutines)
	}
	for _, in := range ins {
		_ = in.Stop(0)
	}
}

func BenchmarkStart(b *testing.B) {
	r := New(Config{})
	ctx := context.Background()
	b.ReportAllocs()
	for b.Loop() {
		in, err := r.Start(ctx, spec)
		if err != nil {
			b.Fatal(err)
		}
		_ = in.Stop(0)
	}
}

// TestOnExit: the functions registered before the end run once when the
// task ends; one registered after runs at once.
func TestOnExit(t *testing.T) {
	in, err := New(Config{}).Start(context.Background(), task.Spec{Name: "web.1"})
	if err != nil {
		t.Fatal(err)
	}
	calls := 0
	in.(task.ExitNotifier).OnExit(func() { calls++ })
	if calls != 0 {
		t.Fatal("OnExit ran before the task ended")
	}
	in.Stop(0)
	in.Stop(0)
	if calls != 1 {
		t.Fatalf("OnExit ran %d times after two stops, want once", calls)
	}
	in.(task.ExitNotifier).OnExit(func() { calls++ })
	if calls != 2 {
		t.Fatal("OnExit after the end did not run at once")
	}
}

// TestDoneAskedAfterTheEnd: an instance asked for Done only after it
// stopped (its channel is made on demand) gives a closed channel.
func TestDoneAskedAfterTheEnd(t *testing.T) {
	r := New(Config{Clock: clocktest.New(time.Date(2025, 1, 1, 0, 0, 0, 0, time.UTC))})
	in := startTask(t, r)
	if err := in.Stop(time.Second); err != nil {
		t.Fatal(err)
	}
	select {
	case <-in.Done():
	default:
		t.Fatal("Done of a stopped instance is open")
	}
}

// TestStartAsync: done comes after the start latency with a running
// instance, at once without a latency, with the context's error when it
// ended first, and with the injected failure when the task draws one.
func TestStartAsync(t *testing.T) {
	const latency = 30 * time.Millisecond
	start := func(r *Runtime, ctx context.Context) (task.Instance, time.Duration, error) {
		t.Helper()
		type result struct {
			in  task.Instance
			err error
		}
		got := make(chan result, 2)
		begin := time.Now()
		r.StartAsync(ctx, spec, func(in task.Instance, err error) { got <- result{in, err} })
		select {
		case res := <-got:
			took := time.Since(begin)
			select {
			case <-got:
				t.Fatal("done called twice")
			case <-time.After(2 * latency):
			}
			return res.in, took, res.err
		case <-time.After(waitFor):
			t.Fatal("done never called")
		}
		return nil, 0, nil
	}
	in, took, err := start(New(Config{StartLatency: latency}), context.Background())
	if err != nil || in == nil || took < latency {
		t.Errorf("started %v, err %v after %v; want an instance after at least %v", in, err, took, latency)
	}
	if in, _, err := start(New(Config{}), context.Background()); err != nil || in == nil {
		t.Errorf("without a latency: %v, %v; want an instance", in, err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	go func() { time.Sleep(latency / 3); cancel() }()
	if _, _, err := start(New(Config{StartLatency: latency}), ctx); !errors.Is(err, context.Canceled) {
		t.Errorf("a start whose context ended meanwhile: %v, want Canceled", err)
	}
	if _, _, err := start(New(Config{FailureRate: 1}), context.Background()); !errors.Is(err, ErrInjected) {
		t.Errorf("a start drawing a failure: %v, want ErrInjected", err)
	}
}
