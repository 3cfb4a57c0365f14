package deadline

import (
	"context"
	"testing"
	"time"
)

// TestShared: callers within a grain of each other share a context, each
// ends between d and d+grain after its call, and a caller whose d would
// end later gets a new one, the old one still ending at its deadline.
func TestShared(t *testing.T) {
	for _, grain := range []time.Duration{0, 300 * time.Millisecond} {
		s := Shared{Grain: grain}
		want := grain
		if want == 0 {
			want = DefaultGrain
		}
		const d = 200 * time.Millisecond
		start := time.Now()
		a := s.Within(d)
		b := s.Within(d)
		if a != b {
			t.Errorf("grain %v: two calls a moment apart got contexts of their own, want one shared", grain)
		}
		at, ok := a.Deadline()
		if !ok || at.Before(start.Add(d)) || at.After(time.Now().Add(d+want)) {
			t.Errorf("grain %v: deadline %v after the call, want within [%v, %v]", grain, at.Sub(start), d, d+want)
		}
		time.Sleep(want + 10*time.Millisecond)
		c := s.Within(d)
		if c == a {
			t.Errorf("grain %v: a call after a grain got the old context, which ends too soon for it", grain)
		}
		select {
		case <-a.Done():
			if a.Err() != context.DeadlineExceeded {
				t.Errorf("grain %v: the first context ended with %v, want its deadline", grain, a.Err())
			}
		case <-time.After(5 * time.Second):
			t.Fatalf("grain %v: the first context did not end at its deadline", grain)
		}
		if c.Err() != nil {
			t.Errorf("grain %v: the new context ended with its predecessor: %v", grain, c.Err())
		}
	}
}

// TestSharedLongerBudget: a caller asking for a longer time than the
// current context has left gets a new context even within the grain.
func TestSharedLongerBudget(t *testing.T) {
	var s Shared
	a := s.Within(50 * time.Millisecond)
	b := s.Within(time.Second)
	if a == b {
		t.Fatal("a call asking for a second got the context ending within 150 ms")
	}
	if at, _ := b.Deadline(); time.Until(at) < 900*time.Millisecond {
		t.Errorf("deadline in %v, want about a second", time.Until(at))
	}
}
