package bench

import (
	"context"
	"encoding/binary"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"testing"
	"time"
)

// TestNfqPacketIDs: the IDs of queued packets are read from a netlink
// read holding several messages; other messages, other attributes and
// malformed framing are skipped, never a panic.
func TestNfqPacketIDs(t *testing.T) {
	packet := func(id uint32) []byte {
		hdr := binary.BigEndian.AppendUint32(nil, id)
		hdr = append(hdr, 0x08, 0x00, 3) // protocol, hook
		attrs := append(nlAttr(9, []byte{1, 2, 3, 4, 5}), nlAttr(nfqaPacketHdr|0x8000, hdr)...)
		return nfqMessage(nfqMsgPacket, 0, 0, 7, attrs)
	}
	other := nfqMessage(nfqMsgConfig, 0, 0, 7, nlAttr(nfqaPacketHdr, []byte{0, 0, 0, 9}))
	read := slices.Concat(packet(5), other, packet(6), packet(1<<31))
	if got, want := nfqPacketIDs(read), []uint32{5, 6, 1 << 31}; !slices.Equal(got, want) {
		t.Errorf("nfqPacketIDs = %v, want %v", got, want)
	}
	for cut := range len(read) {
		_ = nfqPacketIDs(read[:cut])
	}
	bad := packet(8)
	binary.NativeEndian.PutUint32(bad, 3) // a length below the header's
	if got := nfqPacketIDs(bad); len(got) != 0 {
		t.Errorf("a message with a bad length gave %v", got)
	}
	if got := len(nlAttr(1, []byte{1, 2, 3, 4, 5})); got != 12 {
		t.Errorf("a 5-byte attribute takes %d bytes, want 12 (padded)", got)
	}
}

// TestNetDelay (root): between two network namespaces on a veth pair, a
// delay of 40 ms on one side's outgoing packets makes a ping's round trip
// at least 40 ms longer; closing the holder with the rule gone brings it
// back down, and a packet held when it closes is let go, not dropped.
func TestNetDelay(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	lab := newVethLab(t, ctx, "asb-nd-a", "asb-nd-b", "10.197.0")
	a := lab.a
	rtt := func() time.Duration {
		t.Helper()
		d, err := lab.ping(3)
		if err != nil {
			t.Fatal(err)
		}
		return d
	}
	before := rtt()
	const delay = 40 * time.Millisecond
	d, err := startNetDelay(a, 3, delay)
	if err != nil {
		t.Fatal(err)
	}
	rule := []string{"ip", "netns", "exec", a, "iptables", "-w", "-t", "mangle", "-A", "POSTROUTING", "-o", "eth0", "-j", "NFQUEUE", "--queue-num", "3", "--queue-bypass"}
	if err := run(ctx, rule[0], rule[1:]...); err != nil {
		d.Close()
		t.Fatal(err)
	}
	delayed := rtt()
	if delayed < before+delay || delayed > before+delay+30*time.Millisecond {
		t.Errorf("round trip %s with a %s delay, %s without", delayed, delay, before)
	}
	// A ping sent just before the holder closes is answered (let go).
	ping := exec.CommandContext(ctx, "ip", "netns", "exec", a, "ping", "-c", "1", "-W", "2", lab.peer)
	if err := ping.Start(); err != nil {
		t.Fatal(err)
	}
	time.Sleep(20 * time.Millisecond)
	if err := run(ctx, "ip", "netns", "exec", a, "iptables", "-w", "-t", "mangle", "-F", "POSTROUTING"); err != nil {
		t.Fatal(err)
	}
	if err := d.Close(); err != nil {
		t.Errorf("close: %v", err)
	}
	if err := ping.Wait(); err != nil {
		t.Errorf("the ping held while the holder closed got no answer: %v", err)
	}
	if after := rtt(); after > before+20*time.Millisecond {
		t.Errorf("round trip %s after the delay ended, %s before", after, before)
	}
	// Without a listener the rule lets packets through.
	if err := run(ctx, rule[0], rule[1:]...); err != nil {
		t.Fatal(err)
	}
	if after := rtt(); after > before+20*time.Millisecond {
		t.Errorf("round trip %s with the rule but no holder", after)
	}
}

// TestLinkHelpers (root): delayLink and loseOnLink add their rules in a
// namespace and Close removes exactly them: a total loss stops pings and
// ends with Close; a delay lengthens the round trip and ends with Close;
// a rule of someone else's in the same chain stays.
func TestLinkHelpers(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	const a = "asb-lh-a"
	lab := newVethLab(t, ctx, a, "asb-lh-b", "10.198.0",
		// Someone else's rules, which Close must leave alone.
		[]string{"ip", "netns", "exec", a, "iptables", "-w", "-A", "OUTPUT", "-p", "udp", "--dport", "9", "-j", "ACCEPT"},
		[]string{"ip", "netns", "exec", a, "iptables", "-w", "-t", "mangle", "-A", "POSTROUTING", "-p", "udp", "--dport", "9", "-j", "ACCEPT"},
	)
	ping := func() (time.Duration, error) { return lab.ping(2) }
	rules := func() string {
		out, _ := exec.CommandContext(ctx, "sh", "-c", "ip netns exec "+a+" iptables -w -S; ip netns exec "+a+" iptables -w -t mangle -S").CombinedOutput()
		return string(out)
	}
	before := rules()

	loss, err := loseOnLink(ctx, a, "eth0", 1)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := ping(); err == nil {
		t.Error("pings passed a link that loses every packet")
	}
	if err := loss.Close(); err != nil {
		t.Fatal(err)
	}
	base, err := ping()
	if err != nil {
		t.Fatalf("pings fail once the loss is removed: %v", err)
	}

	delay, err := delayLink(ctx, a, "eth0", 7, 30*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	if d, err := ping(); err != nil || d < base+30*time.Millisecond {
		t.Errorf("round trip %s (%v) with a 30ms delay, %s without", d, err, base)
	}
	if err := delay.Close(); err != nil {
		t.Fatal(err)
	}
	if d, err := ping(); err != nil || d > base+20*time.Millisecond {
		t.Errorf("round trip %s (%v) after the delay was removed, %s before", d, err, base)
	}
	if after := rules(); after != before {
		t.Errorf("rules after Close differ from before:\n%s\nbefore:\n%s", after, before)
	}
}

// vethLab is two network namespaces joined by a veth pair (eth0 in each),
// a at prefix.1 and b at prefix.2, removed when the test ends.
type vethLab struct {
	ctx        context.Context
	a, b, peer string
}

// newVethLab makes the lab, skipping the test without root or ping;
// extra commands run once it is up.
func newVethLab(t *testing.T, ctx context.Context, a, b, prefix string, extra ...[]string) *vethLab {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (network namespaces, iptables)")
	}
	if _, err := exec.LookPath("ping"); err != nil {
		t.Skip("needs ping")
	}
	cleanup := func() {
		_ = run(context.Background(), "ip", "netns", "del", a)
		_ = run(context.Background(), "ip", "netns", "del", b)
	}
	cleanup()
	t.Cleanup(cleanup)
	cmds := [][]string{
		{"ip", "netns", "add", a}, {"ip", "netns", "add", b},
		{"ip", "link", "add", "eth0", "netns", a, "type", "veth", "peer", "name", "eth0", "netns", b},
		{"ip", "-n", a, "addr", "add", prefix + ".1/24", "dev", "eth0"},
		{"ip", "-n", b, "addr", "add", prefix + ".2/24", "dev", "eth0"},
		{"ip", "-n", a, "link", "set", "eth0", "up"}, {"ip", "-n", b, "link", "set", "eth0", "up"},
	}
	if err := runAll(ctx, append(cmds, extra...)); err != nil {
		t.Fatal(err)
	}
	return &vethLab{ctx: ctx, a: a, b: b, peer: prefix + ".2"}
}

// ping returns the average round trip of count pings from a to b.
func (l *vethLab) ping(count int) (time.Duration, error) {
	out, err := exec.CommandContext(l.ctx, "ip", "netns", "exec", l.a, "ping", "-c", strconv.Itoa(count), "-i", "0.2", "-W", "1", l.peer).CombinedOutput()
	if err != nil {
		return 0, fmt.Errorf("ping: %w\n%s", err, out)
	}
	m := regexp.MustCompile(`= [0-9.]+/([0-9.]+)/`).FindSubmatch(out)
	if m == nil {
		return 0, fmt.Errorf("no average in ping's output:\n%s", out)
	}
	f, _ := strconv.ParseFloat(string(m[1]), 64)
	return time.Duration(f * float64(time.Millisecond)), nil
}
