package tunnel

import (
	"encoding/binary"
	"errors"
	"fmt"
	"net/netip"
	"sync"
	"sync/atomic"
)

// ErrAddress reports an endpoint or peer address that is not IPv4 (the
// overlay and the underlay are IPv4 only) or a remote without a port.
var ErrAddress = errors.New("tunnel: not a usable IPv4 address")

// Endpoints is an immutable snapshot of one overlay network's endpoint
// table: overlay IPv4 address → UDP address of the host that holds it. An
// entry whose value is the zero netip.AddrPort is local: the endpoint runs
// on this host. A snapshot is never modified after NewEndpoints returns, so
// any number of goroutines read it without locking; a change is a new
// snapshot swapped in whole (see Table).
type Endpoints struct {
	m map[uint32]route
}

// route is where packets for one overlay address go: the zero remote for
// a local endpoint.
type route struct {
	remote netip.AddrPort
}

func (r route) local() bool { return !r.remote.IsValid() }

// NewEndpoints validates m and builds a snapshot from it. Keys must be IPv4
// (IPv4-mapped IPv6 is unmapped); values must be the zero netip.AddrPort
// (local) or an IPv4 address with a non-zero port. m is not retained.
func NewEndpoints(m map[netip.Addr]netip.AddrPort) (*Endpoints, error) {
	e := &Endpoints{m: make(map[uint32]route, len(m))}
	for ip, remote := range m {
		ip = ip.Unmap()
		if !ip.Is4() {
			return nil, fmt.Errorf("endpoint %s: %w", ip, ErrAddress)
		}
		var r route
		if remote.IsValid() {
			remote = netip.AddrPortFrom(remote.Addr().Unmap(), remote.Port())
			if !remote.Addr().Is4() || remote.Port() == 0 {
				return nil, fmt.Errorf("endpoint %s: remote %s: %w", ip, remote, ErrAddress)
			}
			r = route{remote: remote}
		}
		e.m[ipKey(ip)] = r
	}
	return e, nil
}

// Lookup returns where packets for the overlay address ip go: ok is false
// when ip has no entry, and remote is the zero netip.AddrPort when the
// endpoint is local.
func (e *Endpoints) Lookup(ip netip.Addr) (remote netip.AddrPort, ok bool) {
	ip = ip.Unmap()
	if !ip.Is4() {
		return netip.AddrPort{}, false
	}
	r, ok := e.lookup(ipKey(ip))
	return r.remote, ok
}

// Len returns the number of entries; a nil *Endpoints is empty.
func (e *Endpoints) Len() int {
	if e == nil {
		return 0
	}
	return len(e.m)
}

// lookup is the packet path's lookup, keyed by the four address bytes read
// straight from the IPv4 header. A nil snapshot has no entries.
func (e *Endpoints) lookup(ip uint32) (route, bool) {
	if e == nil {
		return route{}, false
	}
	r, ok := e.m[ip]
	return r, ok
}

func ipKey(ip netip.Addr) uint32 {
	b := ip.As4()
	return binary.BigEndian.Uint32(b[:])
}

// Table maps VNIs to endpoint snapshots. Get takes no lock: the whole map is
// an immutable value behind an atomic pointer, and Set and Delete (which
// serialise on a mutex) copy it, change the copy and swap it in. The zero
// Table is empty and ready to use.
type Table struct {
	mu  sync.Mutex
	cur atomic.Pointer[map[uint32]*Endpoints]
}

// Get returns the snapshot of network vni, or nil when it has none.
func (t *Table) Get(vni uint32) *Endpoints {
	m := t.cur.Load()
	if m == nil {
		return nil
	}
	return (*m)[vni]
}

// Set replaces the snapshot of network vni; a nil eps deletes it.
func (t *Table) Set(vni uint32, eps *Endpoints) {
	t.update(func(m map[uint32]*Endpoints) {
		if eps == nil {
			delete(m, vni)
			return
		}
		m[vni] = eps
	})
}

// Delete forgets network vni.
func (t *Table) Delete(vni uint32) { t.Set(vni, nil) }

func (t *Table) update(change func(map[uint32]*Endpoints)) {
	t.mu.Lock()
	defer t.mu.Unlock()
	old := t.cur.Load()
	next := make(map[uint32]*Endpoints)
	if old != nil {
		for k, v := range *old {
			next[k] = v
		}
	}
	change(next)
	t.cur.Store(&next)
}

// peerSet is the set of underlay IPv4 addresses datagrams are accepted
// from, replaced whole like a Table.
type peerSet struct {
	cur atomic.Pointer[map[uint32]struct{}]
}

func (p *peerSet) set(addrs []netip.Addr) error {
	next := make(map[uint32]struct{}, len(addrs))
	for _, a := range addrs {
		a = a.Unmap()
		if !a.Is4() {
			return fmt.Errorf("peer %s: %w", a, ErrAddress)
		}
		next[ipKey(a)] = struct{}{}
	}
	p.cur.Store(&next)
	return nil
}

// has4 reports whether the sender's IPv4 address, as the socket reported
// it, is a peer.
func (p *peerSet) has4(ip [4]byte) bool {
	m := p.cur.Load()
	if m == nil {
		return false
	}
	_, ok := (*m)[binary.BigEndian.Uint32(ip[:])]
	return ok
}
