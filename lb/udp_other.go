//go:build !unix

package lb

// readReplies forwards the datagrams of the session's socket to its client
// until the socket is closed or fails, holding one pooled buffer.
func (s *session) readReplies() error {
	bp := s.l.bufs.Get().(*[]byte)
	defer s.l.bufs.Put(bp)
	for {
		n, from, err := s.up.ReadFromUDPAddrPort(*bp)
		if err != nil {
			return err
		}
		if s.loose && !s.fromBackend(from) {
			continue
		}
		s.reply((*bp)[:n])
	}
}
