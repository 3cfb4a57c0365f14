package dns

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"strings"
	"sync"
	"sync/atomic"
	"time"
)

// Defaults for the zero values of Config.
const (
	DefaultForwardTimeout = 2 * time.Second
	DefaultMaxForwards    = 256
	DefaultTCPIdleTimeout = 10 * time.Second
)

var (
	// ErrConfig is wrapped by Config.Validate's errors.
	ErrConfig = errors.New("dns: invalid config")
	// ErrServerClosed is returned by Serve and ServeTCP once Close was
	// called.
	ErrServerClosed = errors.New("dns: server closed")
)

// Config configures a Server. Zero values take the defaults.
type Config struct {
	// Lookup returns the addresses of a name of the network, given in
	// lower case without trailing dot ("web", "tasks.web", "web.2"), and
	// ok=false for a name it does not know. It is called concurrently and
	// must not block; its slice is read, never modified. Table.Lookup is
	// one.
	Lookup func(name string) (addrs []netip.Addr, ok bool)
	// Upstream are the resolvers unknown names are forwarded to, tried in
	// order (ReadResolvConf reads the host's). None: unknown names get
	// SERVFAIL.
	Upstream []netip.AddrPort
	// Domain, if set, is a zone the Server answers alone: it is stripped
	// from names before Lookup, and a name in it that Lookup does not know
	// gets NXDOMAIN instead of being forwarded.
	Domain string
	// Search are suffixes stripped from a name Lookup does not know before
	// asking it again, as a stub resolver appends its search domains to
	// short names (the task's resolv.conf search line).
	Search []string
	// TTL of the records answered; 0 makes clients ask again every time,
	// which round robin and changing task sets need.
	TTL uint32
	// ForwardTimeout is how long one upstream has to answer before the
	// next is tried.
	ForwardTimeout time.Duration
	// MaxForwards bounds the forwarded queries in flight; a query beyond
	// it gets SERVFAIL.
	MaxForwards int
	// TCPIdleTimeout closes a TCP connection that sends no query for this
	// long.
	TCPIdleTimeout time.Duration
	// Rand shuffles multi-address answers; nil is a randomly seeded PCG.
	// Tests pass a seeded source to get a known order.
	Rand rand.Source
	// Dial opens the sockets to upstream resolvers ("udp" or "tcp"); nil is
	// a net.Dialer's DialContext. The owner may dial from another network
	// namespace through it.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// Validate reports a nil Lookup, an invalid upstream, a domain or search
// suffix that is not a name, or a negative limit. Errors wrap ErrConfig.
func (c Config) Validate() error {
	if c.Lookup == nil {
		return fmt.Errorf("%w: Lookup is nil", ErrConfig)
	}
	for _, u := range c.Upstream {
		if !u.Addr().IsValid() || u.Port() == 0 {
			return fmt.Errorf("%w: upstream %s", ErrConfig, u)
		}
	}
	domains := c.Search
	if c.Domain != "" {
		domains = append([]string{c.Domain}, c.Search...)
	}
	for _, d := range domains {
		if canonicalName(d) == "" {
			return fmt.Errorf("%w: domain %q is the root", ErrConfig, d)
		}
		if _, err := appendName(nil, d); err != nil {
			return fmt.Errorf("%w: domain: %w", ErrConfig, err)
		}
	}
	if c.ForwardTimeout < 0 || c.TCPIdleTimeout < 0 || c.MaxForwards < 0 {
		return fmt.Errorf("%w: negative timeout or limit", ErrConfig)
	}
	return nil
}

// Stats are a Server's counters since NewServer.
type Stats struct {
	Queries   uint64 // messages received
	Local     uint64 // answered from Lookup: addresses, NODATA or NXDOMAIN
	Forwarded uint64 // upstream replies relayed
	Failed    uint64 // SERVFAIL: no upstream, none answered, too many in flight
	Malformed uint64 // FORMERR, NOTIMP or BADVERS
	Truncated uint64 // local answers cut to fit, TC set
	Dropped   uint64 // not answered: shorter than a header, or a response
}

type counters struct {
	queries, local, forwarded, failed, malformed, truncated, dropped atomic.Uint64
}

// Server answers DNS queries from Config.Lookup and forwards the rest.
// See the package documentation for its behaviour and concurrency.
type Server struct {
	cfg      Config
	suffixes []string // "."+Domain, then "."+each Search, canonical
	ctx      context.Context
	cancel   context.CancelFunc
	forwards chan struct{} // a token per forward in flight
	bufs     sync.Pool     // *[]byte of maxMsgSize, for upstream replies

	rngMu sync.Mutex
	rng   *rand.Rand

	mu      sync.Mutex
	closed  bool
	closers map[io.Closer]struct{} // sockets Serve and ServeTCP own
	wg      sync.WaitGroup         // every goroutine of the Server

	stats counters
}

// NewServer returns a Server for cfg; it serves once given sockets with
// Serve and ServeTCP.
func NewServer(cfg Config) (*Server, error) {
	if err := cfg.Validate(); err != nil {
		return nil, err
	}
	if cfg.ForwardTimeout == 0 {
		cfg.ForwardTimeout = DefaultForwardTimeout
	}
	if cfg.MaxForwards == 0 {
		cfg.MaxForwards = DefaultMaxForwards
	}
	if cfg.TCPIdleTimeout == 0 {
		cfg.TCPIdleTimeout = DefaultTCPIdleTimeout
	}
	if cfg.Rand == nil {
		cfg.Rand = rand.NewPCG(rand.Uint64(), rand.Uint64())
	}
	if cfg.Dial == nil {
		cfg.Dial = (&net.Dialer{}).DialContext
	}
	cfg.Domain = canonicalName(cfg.Domain)
	s := &Server{
		cfg:      cfg,
		forwards: make(chan struct{}, cfg.MaxForwards),
		rng:      rand.New(cfg.Rand),
		closers:  make(map[io.Closer]struct{}),
	}
	if cfg.Domain != "" {
		s.suffixes = append(s.suffixes, "."+cfg.Domain)
	}
	for _, d := range cfg.Search {
		s.suffixes = append(s.suffixes, "."+canonicalName(d))
	}
	s.bufs.New = func() any {
		b := make([]byte, maxMsgSize)
		return &b
	}
	s.ctx, s.cancel = context.WithCancel(context.Background())
	return s, nil
}

// Serve answers the UDP queries arriving on conn until Close, and then
// returns ErrServerClosed; it returns a read error of conn at once. The
// Server owns conn: Close closes it.
func (s *Server) Serve(conn net.PacketConn) error {
	if !s.track(conn) {
		conn.Close()
		return ErrServerClosed
	}
	defer s.untrack(conn)
	buf := make([]byte, maxMsgSize)
	var out []byte
	for {
		n, addr, err := conn.ReadFrom(buf)
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			return fmt.Errorf("dns: serve: %w", err)
		}
		var q Query
		var act action
		out, q, act = s.answer(out[:0], buf[:n], false)
		switch act {
		case actReply:
			// A lost reply is the client's to retry, like a lost query.
			_, _ = conn.WriteTo(out, addr)
		case actForward:
			s.forwardUDP(conn, addr, buf[:n], q)
		}
	}
}

// ServeTCP answers queries on the connections l accepts, each a sequence
// of messages with a 2-byte length prefix, until Close, and then returns
// ErrServerClosed; it returns an accept error at once. The Server owns l
// and its connections: Close closes them.
func (s *Server) ServeTCP(l net.Listener) error {
	if !s.track(l) {
		l.Close()
		return ErrServerClosed
	}
	defer s.untrack(l)
	for {
		c, err := l.Accept()
		if err != nil {
			if s.isClosed() {
				return ErrServerClosed
			}
			return fmt.Errorf("dns: serve tcp: %w", err)
		}
		if !s.track(c) {
			c.Close()
			return ErrServerClosed
		}
		go s.serveConn(c)
	}
}

// Close closes every socket given to Serve and ServeTCP, cancels the
// forwards in flight and waits for the Server's goroutines. It is
// idempotent.
func (s *Server) Close() error {
	s.mu.Lock()
	if !s.closed {
		s.closed = true
		for c := range s.closers {
			c.Close()
		}
	}
	s.mu.Unlock()
	s.cancel()
	s.wg.Wait()
	return nil
}

// Stats returns the counters.
func (s *Server) Stats() Stats {
	c := &s.stats
	return Stats{
		Queries:   c.queries.Load(),
		Local:     c.local.Load(),
		Forwarded: c.forwarded.Load(),
		Failed:    c.failed.Load(),
		Malformed: c.malformed.Load(),
		Truncated: c.truncated.Load(),
		Dropped:   c.dropped.Load(),
	}
}

// track registers a socket for Close and counts its goroutine; it reports
// false once the Server is closed.
func (s *Server) track(c io.Closer) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closed {
		return false
	}
	s.closers[c] = struct{}{}
	s.wg.Add(1)
	return true
}

func (s *Server) untrack(c io.Closer) {
	s.mu.Lock()
	delete(s.closers, c)
	s.mu.Unlock()
	s.wg.Done()
}

func (s *Server) isClosed() bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.closed
}

func (s *Server) serveConn(c net.Conn) {
	defer s.untrack(c)
	defer c.Close()
	msg := make([]byte, maxMsgSize)
	var out []byte
	for {
		if c.SetReadDeadline(time.Now().Add(s.cfg.TCPIdleTimeout)) != nil {
			return
		}
		if _, err := io.ReadFull(c, msg[:2]); err != nil {
			return
		}
		n := int(binary.BigEndian.Uint16(msg))
		if _, err := io.ReadFull(c, msg[:n]); err != nil {
			return
		}
		var q Query
		var act action
		out, q, act = s.answer(append(out[:0], 0, 0), msg[:n], true)
		switch act {
		case actDrop:
			continue
		case actForward:
			out = s.forward(out[:2], msg[:n], q, "tcp")
		}
		binary.BigEndian.PutUint16(out, uint16(len(out)-2))
		if c.SetWriteDeadline(time.Now().Add(s.cfg.TCPIdleTimeout)) != nil {
			return
		}
		if _, err := c.Write(out); err != nil {
			return
		}
	}
}

type action int

const (
	actDrop action = iota
	actReply
	actForward
)

type status int

const (
	unknown status = iota
	found
	nxdomain
)

// answer decides what msg gets: a reply (appended to dst), a forward of
// the returned query, or nothing. Over UDP a reply is cut to the client's
// size; over TCP (tcp) to a TCP message's.
func (s *Server) answer(dst, msg []byte, tcp bool) ([]byte, Query, action) {
	s.stats.queries.Add(1)
	h, err := ParseHeader(msg)
	if err != nil || h.Response {
		s.stats.dropped.Add(1)
		return dst, Query{}, actDrop
	}
	if h.Opcode != OpcodeQuery {
		s.stats.malformed.Add(1)
		return AppendError(dst, h, RCodeNotImp), Query{}, actReply
	}
	q, err := ParseQuery(msg)
	if err != nil {
		s.stats.malformed.Add(1)
		return AppendError(dst, h, RCodeFormErr), Query{}, actReply
	}
	r := Response{RecursionAvailable: len(s.cfg.Upstream) > 0}
	switch {
	case q.HasEDNS && q.EDNS.Version != 0:
		s.stats.malformed.Add(1)
		r.RCode = RCodeBadVers
	case q.Question.Class != ClassINET:
		return s.forwardOrFail(dst, q)
	default:
		addrs, st := s.resolve(q.Question.Name)
		switch st {
		case unknown:
			return s.forwardOrFail(dst, q)
		case nxdomain:
			r.RCode = RCodeNXDomain
		case found:
			r.Addrs = s.pick(addrs, q.Question.Type)
			r.TTL = s.cfg.TTL
		}
		r.Authoritative = true
		s.stats.local.Add(1)
	}
	maxSize := maxMsgSize
	if !tcp {
		maxSize = q.MaxUDPSize()
	}
	start := len(dst)
	out, err := AppendResponse(dst, q, r, maxSize)
	if err != nil {
		// Unreachable: a parsed name always encodes and pick keeps only
		// valid addresses.
		return AppendError(dst, h, RCodeServFail), q, actReply
	}
	if out[start+2]&(bitTC>>8) != 0 {
		s.stats.truncated.Add(1)
	}
	return out, q, actReply
}

func (s *Server) forwardOrFail(dst []byte, q Query) ([]byte, Query, action) {
	if len(s.cfg.Upstream) == 0 {
		s.stats.failed.Add(1)
		return s.appendServFail(dst, q), q, actReply
	}
	return dst, q, actForward
}

// resolve looks qname up as it is, then without each suffix it ends in.
func (s *Server) resolve(qname string) ([]netip.Addr, status) {
	name := canonicalName(qname)
	if name == "" {
		return nil, unknown
	}
	if addrs, ok := s.cfg.Lookup(name); ok {
		return addrs, found
	}
	for _, suffix := range s.suffixes {
		if rest, ok := strings.CutSuffix(name, suffix); ok && rest != "" {
			if addrs, ok := s.cfg.Lookup(rest); ok {
				return addrs, found
			}
		}
	}
	if d := s.cfg.Domain; d != "" {
		if name == d {
			return nil, found // the zone's apex exists, it has no address
		}
		if strings.HasSuffix(name, "."+d) {
			return nil, nxdomain
		}
	}
	return nil, unknown
}

// pick returns the addresses of type t among addrs, in a fresh random
// order.
func (s *Server) pick(addrs []netip.Addr, t Type) []netip.Addr {
	out := make([]netip.Addr, 0, len(addrs))
	for _, a := range addrs {
		a = a.Unmap()
		if t == TypeA && a.Is4() || t == TypeAAAA && a.Is6() {
			out = append(out, a)
		}
	}
	if len(out) > 1 {
		s.rngMu.Lock()
		s.rng.Shuffle(len(out), func(i, j int) { out[i], out[j] = out[j], out[i] })
		s.rngMu.Unlock()
	}
	return out
}

func (s *Server) appendServFail(dst []byte, q Query) []byte {
	r := Response{RCode: RCodeServFail, RecursionAvailable: len(s.cfg.Upstream) > 0}
	out, err := AppendResponse(dst, q, r, minUDPSize)
	if err != nil {
		return AppendError(dst, q.Header, RCodeServFail)
	}
	return out
}
