package bench

import (
	"context"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strconv"
	"sync"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"github.com/actorswarm/swarm/tunnel"
)

// Added latency without netem (this kernel has no sch_netem): iptables
// hands a host's outgoing packets to an NFQUEUE, a netlink socket of this
// process reads each packet's ID (metadata only, never the payload), and
// once a packet has waited the delay it is accepted, oldest first. The
// delay is fixed, so packets leave in the order they came; a rule with
// --queue-bypass and a queue that fails open let packets through unheld
// when no one listens or the queue is full, never dropped.

// nfnetlink_queue's protocol (linux/netfilter/nfnetlink_queue.h).
const (
	nfnlSubsysQueue = 3
	nfqMsgPacket    = nfnlSubsysQueue<<8 | 0
	nfqMsgConfig    = nfnlSubsysQueue<<8 | 2
	nfqMsgVerdictB  = nfnlSubsysQueue<<8 | 3 // NFQNL_MSG_VERDICT_BATCH

	nfqaPacketHdr  = 1 // NFQA_PACKET_HDR: be32 packet ID, be16 protocol, u8 hook
	nfqaVerdictHdr = 2 // NFQA_VERDICT_HDR: be32 verdict, be32 packet ID

	nfqaCfgCmd      = 1 // u8 command, u8 pad, be16 family
	nfqaCfgParams   = 2 // be32 copy range, u8 copy mode (packed)
	nfqaCfgQueueMax = 3 // be32
	nfqaCfgMask     = 4 // be32
	nfqaCfgFlags    = 5 // be32

	nfqCmdBind    = 1
	nfqCopyMeta   = 1
	nfqFlagFailOp = 1 // NFQA_CFG_F_FAIL_OPEN
	nfqFlagGSO    = 4 // NFQA_CFG_F_GSO: whole GSO packets, not segmented
	nfAccept      = 1

	// netDelayQueueLen is how many packets a queue holds before it lets
	// new ones through unheld.
	netDelayQueueLen = 1 << 16
)

// netDelay holds the packets queued to one NFQUEUE of a network namespace
// for a fixed delay.
type netDelay struct {
	fd    int
	queue uint16
	delay time.Duration
	seq   uint32

	stop    chan struct{}
	stopped chan struct{}
	once    sync.Once
	err     error // why the loop ended early, read after stopped
}

// heldPacket is a packet waiting for its time.
type heldPacket struct {
	id  uint32
	due time.Time
}

// startNetDelay binds queue in the network namespace ns (a name under
// /run/netns; "" for this process's) and holds each packet queued there for delay. The queue's
// iptables rule is the caller's.
func startNetDelay(ns string, queue uint16, delay time.Duration) (*netDelay, error) {
	if delay <= 0 {
		return nil, fmt.Errorf("delay %s: must be positive", delay)
	}
	fd, err := netlinkSocketIn(ns)
	if err != nil {
		return nil, err
	}
	n := &netDelay{fd: fd, queue: queue, delay: delay, stop: make(chan struct{}), stopped: make(chan struct{})}
	if err := n.configure(); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("bind NFQUEUE %d in %s: %w", queue, ns, err)
	}
	go n.loop()
	return n, nil
}

// netlinkSocketIn opens a netfilter netlink socket in the network
// namespace ns (a name under /run/netns; "" for this process's). The thread that enters the
// namespace goes back to its own and lives on (tunnel.InNetns): a thread
// that ended would take the children it started with it, as their
// Pdeathsig fires when the thread that forked them exits.
func netlinkSocketIn(ns string) (int, error) {
	fd := -1
	open := func() error {
		var err error
		if fd, err = unix.Socket(unix.AF_NETLINK, unix.SOCK_RAW|unix.SOCK_CLOEXEC, unix.NETLINK_NETFILTER); err != nil {
			return fmt.Errorf("netlink socket in %q: %w", ns, err)
		}
		return nil
	}
	var err error
	if ns == "" {
		err = open()
	} else {
		err = tunnel.InNetns(ns, open)
	}
	if err != nil {
		return -1, err
	}
	if err := unix.Bind(fd, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		unix.Close(fd)
		return -1, fmt.Errorf("bind netlink socket: %w", err)
	}
	// Room for bursts; as root the limit can be passed.
	_ = unix.SetsockoptInt(fd, unix.SOL_SOCKET, unix.SO_RCVBUFFORCE, 16<<20)
	return fd, nil
}

// configure binds the queue, asks for packet metadata only, and makes the
// queue long and failing open. Each step waits for the kernel's answer.
func (n *netDelay) configure() error {
	be32 := func(v uint32) []byte { return binary.BigEndian.AppendUint32(nil, v) }
	steps := [][]byte{
		nlAttr(nfqaCfgCmd, []byte{nfqCmdBind, 0, 0, unix.AF_INET}),
		nlAttr(nfqaCfgParams, append(be32(0), nfqCopyMeta)),
		nlAttr(nfqaCfgQueueMax, be32(netDelayQueueLen)),
		append(nlAttr(nfqaCfgMask, be32(nfqFlagFailOp|nfqFlagGSO)), nlAttr(nfqaCfgFlags, be32(nfqFlagFailOp|nfqFlagGSO))...),
	}
	for _, attrs := range steps {
		if err := n.request(nfqMsgConfig, attrs); err != nil {
			return err
		}
	}
	return nil
}

// request sends a message that the kernel acknowledges and returns its
// answer's error.
func (n *netDelay) request(typ uint16, attrs []byte) error {
	n.seq++
	msg := nfqMessage(typ, unix.NLM_F_REQUEST|unix.NLM_F_ACK, n.seq, n.queue, attrs)
	if err := unix.Sendto(n.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK}); err != nil {
		return err
	}
	buf := make([]byte, 8192)
	for {
		nr, _, err := unix.Recvfrom(n.fd, buf, 0)
		if err != nil {
			return err
		}
		msgs, err := syscall.ParseNetlinkMessage(buf[:nr])
		if err != nil {
			return err
		}
		for _, m := range msgs {
			if m.Header.Type != unix.NLMSG_ERROR || m.Header.Seq != n.seq {
				continue
			}
			if len(m.Data) < 4 {
				return errors.New("short netlink error message")
			}
			if code := int32(binary.NativeEndian.Uint32(m.Data)); code != 0 {
				return unix.Errno(-code)
			}
			return nil
		}
	}
}

// loop reads queued packets and accepts them once they are due, until
// Close; then it accepts every packet it holds.
func (n *netDelay) loop() {
	defer close(n.stopped)
	buf := make([]byte, 1<<16)
	var (
		held []heldPacket // oldest first; due times grow with the IDs
		last uint32       // newest ID seen
		seen bool
	)
	accept := func(id uint32) {
		var hdr [8]byte
		binary.BigEndian.PutUint32(hdr[:4], nfAccept)
		binary.BigEndian.PutUint32(hdr[4:], id)
		n.seq++
		msg := nfqMessage(nfqMsgVerdictB, unix.NLM_F_REQUEST, n.seq, n.queue, nlAttr(nfqaVerdictHdr, hdr[:]))
		_ = unix.Sendto(n.fd, msg, 0, &unix.SockaddrNetlink{Family: unix.AF_NETLINK})
	}
	for {
		select {
		case <-n.stop:
			if seen {
				accept(last)
			}
			return
		default:
		}
		// Release what is due: one batch verdict for the newest due ID
		// accepts every older one too.
		now := time.Now()
		due := 0
		for due < len(held) && !held[due].due.After(now) {
			due++
		}
		if due > 0 {
			accept(held[due-1].id)
			held = append(held[:0], held[due:]...)
		}
		wait := 50 * time.Millisecond
		if len(held) > 0 {
			wait = min(wait, max(time.Until(held[0].due), 100*time.Microsecond))
		}
		tv := unix.NsecToTimeval(wait.Nanoseconds())
		_ = unix.SetsockoptTimeval(n.fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv)
		nr, _, err := unix.Recvfrom(n.fd, buf, 0)
		switch {
		case errors.Is(err, unix.EAGAIN), errors.Is(err, unix.EINTR):
			continue
		case errors.Is(err, unix.ENOBUFS):
			// Packet messages were lost; their packets go with the next
			// batch verdict after them.
			continue
		case err != nil:
			n.err = err
			if seen {
				accept(last)
			}
			return
		}
		arrived := time.Now()
		for _, id := range nfqPacketIDs(buf[:nr]) {
			held = append(held, heldPacket{id: id, due: arrived.Add(n.delay)})
			last, seen = id, true
		}
	}
}

// Close lets every held packet go and closes the queue; the caller
// removes the iptables rule first, or later packets pass unheld.
func (n *netDelay) Close() error {
	n.once.Do(func() {
		close(n.stop)
		<-n.stopped
		unix.Close(n.fd)
	})
	return n.err
}

// nfqPacketIDs returns the IDs of the queued packets a netlink read
// carries, skipping anything malformed.
func nfqPacketIDs(b []byte) []uint32 {
	var ids []uint32
	for len(b) >= unix.NLMSG_HDRLEN {
		l := int(binary.NativeEndian.Uint32(b))
		typ := binary.NativeEndian.Uint16(b[4:])
		if l < unix.NLMSG_HDRLEN || l > len(b) {
			break
		}
		if typ == nfqMsgPacket && l >= unix.NLMSG_HDRLEN+4 {
			// nfgenmsg (4 bytes), then attributes.
			attrs := b[unix.NLMSG_HDRLEN+4 : l]
			for len(attrs) >= 4 {
				al := int(binary.NativeEndian.Uint16(attrs))
				at := binary.NativeEndian.Uint16(attrs[2:]) & 0x3fff
				if al < 4 || al > len(attrs) {
					break
				}
				if at == nfqaPacketHdr && al >= 4+4 {
					ids = append(ids, binary.BigEndian.Uint32(attrs[4:]))
					break
				}
				attrs = attrs[min(nlAlign(al), len(attrs)):]
			}
		}
		b = b[min(nlAlign(l), len(b)):]
	}
	return ids
}

// nfqMessage frames attrs as a netfilter message of type typ for queue.
func nfqMessage(typ, flags uint16, seq uint32, queue uint16, attrs []byte) []byte {
	l := unix.NLMSG_HDRLEN + 4 + len(attrs)
	b := make([]byte, 0, l)
	b = binary.NativeEndian.AppendUint32(b, uint32(l))
	b = binary.NativeEndian.AppendUint16(b, typ)
	b = binary.NativeEndian.AppendUint16(b, flags)
	b = binary.NativeEndian.AppendUint32(b, seq)
	b = binary.NativeEndian.AppendUint32(b, 0)
	b = append(b, unix.AF_UNSPEC, 0) // nfgenmsg: family, version 0
	b = binary.BigEndian.AppendUint16(b, queue)
	return append(b, attrs...)
}

// nlAttr is a netlink attribute, padded to 4 bytes.
func nlAttr(typ uint16, payload []byte) []byte {
	b := make([]byte, 4, nlAlign(4+len(payload)))
	binary.NativeEndian.PutUint16(b, uint16(4+len(payload)))
	binary.NativeEndian.PutUint16(b[2:], typ)
	b = append(b, payload...)
	return b[:cap(b)]
}

func nlAlign(n int) int { return (n + 3) &^ 3 }

// linkDelay holds every packet a network namespace sends out of one
// device for a fixed time: an iptables rule (NFQUEUE, mangle POSTROUTING)
// and the holder reading its queue.
type linkDelay struct {
	ns     string // "" for this process's namespace
	rule   []string
	holder *netDelay
}

// delayLink delays by d what namespace ns ("" for this process's) sends
// out of dev, through NFQUEUE queue.
func delayLink(ctx context.Context, ns, dev string, queue uint16, d time.Duration) (*linkDelay, error) {
	holder, err := startNetDelay(ns, queue, d)
	if err != nil {
		return nil, err
	}
	l := &linkDelay{ns: ns, holder: holder,
		rule: []string{"POSTROUTING", "-o", dev, "-j", "NFQUEUE", "--queue-num", strconv.Itoa(int(queue)), "--queue-bypass"}}
	if err := l.iptables(ctx, "-A"); err != nil {
		holder.Close()
		return nil, err
	}
	return l, nil
}

func (l *linkDelay) iptables(ctx context.Context, op string) error {
	return iptablesIn(ctx, l.ns, append([]string{"-t", "mangle", op}, l.rule...)...)
}

// Close removes the rule, then lets the held packets go.
func (l *linkDelay) Close() error {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	return errors.Join(l.iptables(ctx, "-D"), l.holder.Close())
}

// SetDelay makes node i of a Netns cluster hold every packet it sends for
// d before it leaves (netem's delay, done with an NFQUEUE: this kernel has
// no netem); between two delayed nodes a round trip takes 2d longer. 0
// removes the delay.
func (c *Loopback) SetDelay(ctx context.Context, i int, d time.Duration) error {
	if !c.netns {
		return errors.New("only network-namespace hosts can delay packets")
	}
	c.mu.Lock()
	old := c.delays[i]
	delete(c.delays, i)
	c.mu.Unlock()
	if old != nil {
		if err := old.Close(); err != nil {
			return err
		}
	}
	if d > 0 {
		l, err := delayLink(ctx, fmt.Sprintf("%s%d", netnsHost, i), "eth0", uint16(i), d)
		if err != nil {
			return err
		}
		c.mu.Lock()
		if c.delays == nil {
			c.delays = make(map[int]io.Closer)
		}
		c.delays[i] = l
		c.mu.Unlock()
	}
	c.note(c.Node(i), fmt.Sprintf("outgoing packets delayed %s", d))
	return nil
}
