package lb

import (
	"fmt"
	"math/rand/v2"
	"slices"
	"strings"
	"testing"
	"time"
)

// backends makes one backend per active count, named a, b, c, ...
func backends(active ...int64) []*backend {
	bs := make([]*backend, len(active))
	for i, a := range active {
		bs[i] = newBackend(string(rune('a' + i)))
		bs[i].active.Store(a)
	}
	return bs
}

func names(bs []*backend) string {
	var s strings.Builder
	for _, b := range bs {
		s.WriteString(b.addr)
	}
	return s.String()
}

// draws returns an intn that yields vals in turn.
func draws(t *testing.T, vals ...int) func(int) int {
	return func(n int) int {
		if len(vals) == 0 {
			t.Fatal("more draws than scripted")
		}
		v := vals[0]
		vals = vals[1:]
		if v < 0 || v >= n {
			t.Fatalf("scripted draw %d out of [0, %d)", v, n)
		}
		return v
	}
}

func TestOrder(t *testing.T) {
	const now = int64(10 * time.Second)
	tests := []struct {
		name    string
		pol     policy
		active  []int64
		suspect string // names of the backends suspect at now
		expired string // names whose suspicion ran out
		rr      uint64
		draws   []int
		want    string
	}{
		{name: "roundrobin first", pol: roundRobin, active: []int64{5, 0, 0}, want: "abc"},
		{name: "roundrobin next", pol: roundRobin, active: []int64{5, 0, 0}, rr: 1, want: "bca"},
		{name: "roundrobin wraps", pol: roundRobin, active: []int64{5, 0, 0}, rr: 5, want: "cab"},
		{name: "leastconn fewest first", pol: leastConn, active: []int64{2, 0, 1}, want: "bac"},
		{name: "leastconn ties in turn", pol: leastConn, active: []int64{1, 0, 0}, rr: 2, want: "cab"},
		{name: "leastconn ties from rr", pol: leastConn, active: []int64{1, 0, 0}, rr: 0, want: "bac"},
		// Draw a (0) then c (1, shifted past a): c is less busy.
		{name: "p2c takes the less busy", pol: p2c, active: []int64{3, 1, 2}, draws: []int{0, 1}, want: "cab"},
		// Draw b (1) then a (0): a is busier, b stays first.
		{name: "p2c keeps the less busy first draw", pol: p2c, active: []int64{3, 1, 2}, draws: []int{1, 0}, want: "bac"},
		{name: "p2c tie takes the first draw", pol: p2c, active: []int64{1, 1, 1}, draws: []int{2, 0}, want: "cab"},
		{name: "suspect last", pol: roundRobin, active: []int64{0, 0, 0}, suspect: "ac", want: "bac"},
		{name: "suspect last in turn", pol: roundRobin, active: []int64{0, 0, 0}, suspect: "ab", rr: 1, want: "cba"},
		{name: "suspect last though idle", pol: leastConn, active: []int64{0, 5, 3}, suspect: "a", want: "cba"},
		{name: "all suspect by policy", pol: leastConn, active: []int64{2, 1, 0}, suspect: "abc", want: "cab"},
		{name: "suspicion runs out", pol: roundRobin, active: []int64{0, 0, 0}, expired: "a", want: "abc"},
		{name: "p2c among healthy only", pol: p2c, active: []int64{0, 4, 5}, suspect: "a", draws: []int{0, 0}, want: "bca"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			bs := backends(tt.active...)
			for _, b := range bs {
				if strings.Contains(tt.suspect, b.addr) {
					b.suspect.Store(now + 1)
				}
				if strings.Contains(tt.expired, b.addr) {
					b.suspect.Store(now)
				}
			}
			got := order(tt.pol, bs, now, tt.rr, draws(t, tt.draws...), nil)
			if names(got) != tt.want {
				t.Fatalf("order = %s, want %s", names(got), tt.want)
			}
		})
	}
}

func TestOrderEmpty(t *testing.T) {
	if got := order(leastConn, nil, 0, 3, nil, nil); len(got) != 0 {
		t.Fatalf("order of no backends = %v", got)
	}
}

// TestOrderProperties checks random sets against what each policy
// promises: every backend once, the healthy ones first, round-robin as a
// plain rotation, leastconn's first the least busy, p2c's first the less
// busy of its two draws.
func TestOrderProperties(t *testing.T) {
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rnd := rand.New(rand.NewPCG(seed, 0))
	const now = 1000
	for iter := range 2000 {
		bs := backends(make([]int64, 1+rnd.IntN(8))...)
		for _, b := range bs {
			b.active.Store(rnd.Int64N(4))
			if rnd.IntN(3) == 0 {
				b.suspect.Store(now + 1)
			}
		}
		pol := policy(rnd.IntN(3))
		rr := rnd.Uint64()
		var drawn []int
		intn := func(n int) int {
			v := rnd.IntN(n)
			drawn = append(drawn, v)
			return v
		}
		got := order(pol, bs, now, rr, intn, nil)

		// The naive order: rotate, then split.
		var healthy, suspect []*backend
		for i := range bs {
			b := bs[(int(rr%uint64(len(bs)))+i)%len(bs)]
			if b.suspectAt(now) {
				suspect = append(suspect, b)
			} else {
				healthy = append(healthy, b)
			}
		}
		desc := fmt.Sprintf("iter %d policy %d rr %d healthy %s suspect %s: got %s", iter, pol, rr, names(healthy), names(suspect), names(got))
		if len(got) != len(bs) {
			t.Fatal(desc)
		}
		if !sameSet(got[:len(healthy)], healthy) || !sameSet(got[len(healthy):], suspect) {
			t.Fatalf("%s: not healthy then suspect", desc)
		}
		group := healthy
		if len(group) == 0 {
			group = suspect
		}
		first := got[0]
		switch pol {
		case roundRobin:
			if names(got) != names(healthy)+names(suspect) {
				t.Fatalf("%s: not a rotation", desc)
			}
		case leastConn:
			for _, b := range group {
				if b.active.Load() < first.active.Load() {
					t.Fatalf("%s: %s is less busy than the first", desc, b.addr)
				}
			}
		case p2c:
			if len(group) < 2 {
				break
			}
			i, j := drawn[0], drawn[1]
			if j >= i {
				j++
			}
			a, b := group[i], group[j]
			if first != a && first != b {
				t.Fatalf("%s: first %s is neither draw %s nor %s", desc, first.addr, a.addr, b.addr)
			}
			if first.active.Load() > min(a.active.Load(), b.active.Load()) {
				t.Fatalf("%s: took the busier of %s and %s", desc, a.addr, b.addr)
			}
		}
	}
}

func sameSet(a, b []*backend) bool {
	x, y := slices.Clone(a), slices.Clone(b)
	less := func(p, q *backend) int { return strings.Compare(p.addr, q.addr) }
	slices.SortFunc(x, less)
	slices.SortFunc(y, less)
	return slices.Equal(x, y)
}

func BenchmarkOrder(b *testing.B) {
	for _, pol := range []string{PolicyRoundRobin, PolicyLeastConn, PolicyP2C} {
		for _, n := range []int{4, 64} {
			b.Run(fmt.Sprintf("policy=%s/backends=%d", pol, n), func(b *testing.B) {
				p, err := newPool(ListenOptions{Policy: pol})
				if err != nil {
					b.Fatal(err)
				}
				addrs := make([]string, n)
				for i := range addrs {
					addrs[i] = fmt.Sprintf("10.0.%d.%d:80", i/250, i%250)
				}
				p.setBackends(addrs)
				b.ReportAllocs()
				for b.Loop() {
					var buf [8]*backend
					if len(p.order(buf[:0])) != n {
						b.Fatal("short order")
					}
				}
			})
		}
	}
}
