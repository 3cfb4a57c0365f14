package dns

import (
	"bytes"
	"context"
	"encoding/binary"
	"errors"
	"io"
	"math/rand/v2"
	"net"
	"net/netip"
	"time"
)

var errMismatch = errors.New("dns: upstream reply does not match the query")

// forwardUDP relays msg, a UDP query from addr, in a goroutine of its own,
// or answers SERVFAIL when MaxForwards are in flight.
func (s *Server) forwardUDP(conn net.PacketConn, addr net.Addr, msg []byte, q Query) {
	select {
	case s.forwards <- struct{}{}:
	default:
		s.stats.failed.Add(1)
		_, _ = conn.WriteTo(s.appendServFail(nil, q), addr)
		return
	}
	msg = bytes.Clone(msg)
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer func() { <-s.forwards }()
		_, _ = conn.WriteTo(s.relay(nil, msg, q, "udp"), addr)
	}()
}

// forward relays msg, a TCP query, in the calling goroutine, appending the
// reply to dst; it answers SERVFAIL when MaxForwards are in flight.
func (s *Server) forward(dst, msg []byte, q Query, network string) []byte {
	select {
	case s.forwards <- struct{}{}:
	default:
		s.stats.failed.Add(1)
		return s.appendServFail(dst, q)
	}
	defer func() { <-s.forwards }()
	return s.relay(dst, msg, q, network)
}

// relay asks the upstream resolvers in turn and appends to dst the first
// reply, with the client's ID, or SERVFAIL when none answers. A UDP reply
// larger than the client takes is cut to its question, with TC set.
func (s *Server) relay(dst, msg []byte, q Query, network string) []byte {
	question, err := appendQuestion(nil, q.Question)
	if err != nil {
		s.stats.failed.Add(1)
		return s.appendServFail(dst, q)
	}
	for _, up := range s.cfg.Upstream {
		reply, err := s.exchange(network, up, msg, question)
		if err != nil {
			if s.ctx.Err() != nil {
				break
			}
			continue
		}
		binary.BigEndian.PutUint16(reply, q.ID)
		if network == "udp" && len(reply) > q.MaxUDPSize() {
			reply = reply[:headerLen+len(question)]
			reply[2] |= bitTC >> 8
			clear(reply[6:headerLen]) // no answer, authority or additional records
		}
		s.stats.forwarded.Add(1)
		return append(dst, reply...)
	}
	s.stats.failed.Add(1)
	return s.appendServFail(dst, q)
}

// exchange sends msg under a fresh random ID to up and returns the reply
// that matches it: same ID, the response bit, the same question. Over UDP
// it skips replies that do not match until ForwardTimeout.
func (s *Server) exchange(network string, up netip.AddrPort, msg, question []byte) ([]byte, error) {
	ctx, cancel := context.WithTimeout(s.ctx, s.cfg.ForwardTimeout)
	defer cancel()
	conn, err := s.cfg.Dial(ctx, network, up.String())
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	// The deadline in the past wakes a blocked read on timeout and on Close.
	stop := context.AfterFunc(ctx, func() { _ = conn.SetDeadline(time.Unix(1, 0)) })
	defer stop()

	// The global source of math/rand/v2 is ChaCha8, seeded by the runtime:
	// an off-path attacker cannot guess the ID.
	id := uint16(rand.Uint32())
	bp := s.bufs.Get().(*[]byte)
	defer s.bufs.Put(bp)
	buf := *bp

	if network == "tcp" {
		out := binary.BigEndian.AppendUint16(buf[:0], uint16(len(msg)))
		out = append(out, msg...)
		binary.BigEndian.PutUint16(out[2:], id)
		if _, err := conn.Write(out); err != nil {
			return nil, err
		}
		if _, err := io.ReadFull(conn, buf[:2]); err != nil {
			return nil, err
		}
		n := int(binary.BigEndian.Uint16(buf))
		if _, err := io.ReadFull(conn, buf[:n]); err != nil {
			return nil, err
		}
		if !matches(buf[:n], id, question) {
			return nil, errMismatch
		}
		return bytes.Clone(buf[:n]), nil
	}

	out := append(buf[:0], msg...)
	binary.BigEndian.PutUint16(out, id)
	if _, err := conn.Write(out); err != nil {
		return nil, err
	}
	for {
		n, err := conn.Read(buf)
		if err != nil {
			return nil, err
		}
		if matches(buf[:n], id, question) {
			return bytes.Clone(buf[:n]), nil
		}
	}
}

// matches reports whether reply answers the query with ID id and the wire
// question: a reply repeats the question, its name in any letter case.
func matches(reply []byte, id uint16, question []byte) bool {
	if len(reply) < headerLen+len(question) {
		return false
	}
	h, _ := ParseHeader(reply)
	if h.ID != id || !h.Response || h.QDCount != 1 {
		return false
	}
	got := reply[headerLen : headerLen+len(question)]
	nameLen := len(question) - 4 // then type and class
	for i := range nameLen {
		if lowerByte(got[i]) != lowerByte(question[i]) {
			return false
		}
	}
	return bytes.Equal(got[nameLen:], question[nameLen:])
}

func lowerByte(c byte) byte {
	if 'A' <= c && c <= 'Z' {
		return c + ('a' - 'A')
	}
	return c
}
