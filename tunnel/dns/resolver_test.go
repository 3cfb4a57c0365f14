package dns

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"testing"
)

// Go's own resolver, pointed at the Server, resolves the names of a
// network: it checks the wire format against an independent client, and
// the TC retry over TCP.
func TestGoResolver(t *testing.T) {
	web := addrs(t, "10.0.0.2", "10.0.0.3", "10.0.0.4")
	tasks := []Task{
		{Service: "web", Slot: 1, Name: "web.1.aaa", Addr: web[0]},
		{Service: "web", Slot: 2, Name: "web.2.bbb", Addr: web[1]},
		{Service: "web", Slot: 3, Name: "web.3.ccc", Addr: web[2]},
	}
	big := seqAddrs(100) // 1,600 bytes of answers: more than Go's EDNS size
	for _, a := range big {
		tasks = append(tasks, Task{Service: "big", Addr: a})
	}
	external := netip.MustParseAddr("192.0.2.1")
	u := startUpstream(t, answerWith(t, external))
	s := startServer(t, Config{
		Lookup:   NewTable(tasks).Lookup,
		Upstream: []netip.AddrPort{u.addr},
		Domain:   "swarm",
	})
	r := &net.Resolver{
		PreferGo: true,
		Dial: func(ctx context.Context, network, _ string) (net.Conn, error) {
			var d net.Dialer
			if network == "tcp" {
				return d.DialContext(ctx, network, s.tcp)
			}
			return d.DialContext(ctx, network, s.udp)
		},
	}
	// Rooted names: the host's resolv.conf search list stays out of it.
	tests := []struct {
		name string
		want []netip.Addr
	}{
		{"web.", web},
		{"tasks.web.", web},
		{"web.2.", web[1:2]},
		{"WEB.3.CCC.", web[2:3]},
		{"web.swarm.", web},
		{"big.", big},
		{"example.org.", []netip.Addr{external}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
			defer cancel()
			hosts, err := r.LookupHost(ctx, tt.name)
			if err != nil {
				t.Fatal(err)
			}
			got := make([]netip.Addr, len(hosts))
			for i, h := range hosts {
				got[i] = netip.MustParseAddr(h)
			}
			if !sameSet(got, tt.want) {
				t.Errorf("LookupHost(%q) = %v, want %v", tt.name, got, tt.want)
			}
		})
	}
	t.Run("NXDOMAIN", func(t *testing.T) {
		ctx, cancel := context.WithTimeout(context.Background(), ioTimeout)
		defer cancel()
		_, err := r.LookupHost(ctx, "db.swarm.")
		var dnsErr *net.DNSError
		if !errors.As(err, &dnsErr) || !dnsErr.IsNotFound {
			t.Errorf("LookupHost(db.swarm.) error = %v, want not found", err)
		}
	})
	if st := s.Stats(); st.Truncated == 0 {
		t.Errorf("no answer was truncated, so TCP went untested: %+v", st)
	}
}
