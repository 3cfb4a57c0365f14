package dns

import (
	"fmt"
	"net/netip"
	"testing"
)

func BenchmarkParseQuery(b *testing.B) {
	msg := query(b, 1, "tasks.web.swarm.", TypeA, 1232)
	b.ReportAllocs()
	for b.Loop() {
		if _, err := ParseQuery(msg); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAnswer is the Server's work for a local name, sockets aside.
func BenchmarkAnswer(b *testing.B) {
	for _, n := range []int{1, 3, 64} {
		b.Run(fmt.Sprintf("addrs=%d", n), func(b *testing.B) {
			s, err := NewServer(Config{Lookup: mapLookup(map[string][]netip.Addr{"web": seqAddrs(n)})})
			if err != nil {
				b.Fatal(err)
			}
			defer s.Close()
			msg := query(b, 1, "Web.", TypeA, 1232)
			var out []byte
			b.ReportAllocs()
			for b.Loop() {
				out, _, _ = s.answer(out[:0], msg, false)
			}
			b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "queries/s")
		})
	}
}
