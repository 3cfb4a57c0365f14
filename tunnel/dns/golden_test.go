package dns

import (
	"encoding/hex"
	"flag"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/golden")

// TestGolden pins the bytes the Server answers to known queries. Each file
// holds the query and the reply in hex; review a diff after -update.
func TestGolden(t *testing.T) {
	s, err := NewServer(Config{
		Lookup: mapLookup(map[string][]netip.Addr{
			"web": addrs(t, "10.0.0.2", "10.0.0.3"),
		}),
		Upstream: []netip.AddrPort{netip.MustParseAddrPort("127.0.0.1:53")},
		Domain:   "swarm",
		Rand:     rand.NewPCG(1, 2),
	})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	withEDNS := func(msg []byte, ttl uint32) []byte {
		msg = append([]byte(nil), msg...)
		msg[11] = 1 // ARCOUNT
		return append(msg, optRR(1232, ttl, nil)...)
	}
	tests := []struct {
		name  string
		query []byte
	}{
		{"a_two_addrs", query(t, 0xBEEF, "Web.Swarm.", TypeA, 0)},
		{"aaaa_nodata_edns_do", withEDNS(query(t, 0x0102, "web.", TypeAAAA, 0), 1<<15)},
		{"nxdomain", query(t, 0x0304, "nope.swarm.", TypeA, 0)},
		{"formerr", raw(hdr(0x4242, flagRD, 1, 0, 0, 0), []byte{0xC0, 12}, typeIN(TypeA))},
		{"notimp", raw(hdr(0x4343, 2<<11|flagRD, 1, 0, 0, 0), wire("web"), typeIN(TypeA))},
		{"badvers", withEDNS(query(t, 0x0506, "web.", TypeA, 0), 1<<16)},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			reply, _, act := s.answer(nil, tt.query, false)
			if act != actReply {
				t.Fatalf("action %d, want a reply", act)
			}
			got := fmt.Sprintf("# query\n%s# reply\n%s", hexLines(tt.query), hexLines(reply))
			path := filepath.Join("testdata", "golden", tt.name+".hex")
			if *update {
				if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
					t.Fatal(err)
				}
				if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with -update to create it)", err)
			}
			if got != string(want) {
				t.Errorf("%s differs (run with -update and review the diff):\ngot:\n%swant:\n%s", path, got, want)
			}
		})
	}
}

// hexLines is b in hex, 16 bytes a line.
func hexLines(b []byte) string {
	var sb strings.Builder
	for len(b) > 0 {
		n := min(16, len(b))
		line := hex.EncodeToString(b[:n])
		for i := 0; i < len(line); i += 2 {
			if i > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(line[i : i+2])
		}
		sb.WriteByte('\n')
		b = b[n:]
	}
	return sb.String()
}
