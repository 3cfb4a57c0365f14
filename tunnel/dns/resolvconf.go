package dns

import (
	"bufio"
	"fmt"
	"io"
	"net/netip"
	"os"
	"strings"
)

// ResolvConf is what the Server needs from a resolv.conf(5) file.
type ResolvConf struct {
	// Nameservers are the "nameserver" lines in order, on port 53.
	Nameservers []netip.AddrPort
	// Search is the last "search" or "domain" line's domains, lower case
	// without trailing dots: Config.Search.
	Search []string
}

// ReadResolvConf reads the resolv.conf file at path; see ParseResolvConf.
func ReadResolvConf(path string, skipLoopback bool) (ResolvConf, error) {
	f, err := os.Open(path)
	if err != nil {
		return ResolvConf{}, fmt.Errorf("read resolv.conf: %w", err)
	}
	defer f.Close()
	rc, err := ParseResolvConf(f, skipLoopback)
	if err != nil {
		return ResolvConf{}, fmt.Errorf("read resolv.conf %s: %w", path, err)
	}
	return rc, nil
}

// ParseResolvConf reads resolv.conf lines from r. Like the C library it
// skips lines it does not understand, comments (from '#' or ';') and
// nameserver lines that are not IP addresses. With skipLoopback it also
// skips loopback nameservers (127.0.0.0/8, ::1): the host's local stub
// resolver (systemd-resolved's 127.0.0.53, say) cannot be reached from a
// task's network namespace. It fails only when r does.
func ParseResolvConf(r io.Reader, skipLoopback bool) (ResolvConf, error) {
	var rc ResolvConf
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		line := sc.Text()
		if i := strings.IndexAny(line, "#;"); i >= 0 {
			line = line[:i]
		}
		fields := strings.Fields(line)
		if len(fields) < 2 {
			continue
		}
		switch fields[0] {
		case "nameserver":
			a, err := netip.ParseAddr(fields[1])
			if err != nil || (skipLoopback && a.IsLoopback()) {
				continue
			}
			rc.Nameservers = append(rc.Nameservers, netip.AddrPortFrom(a, 53))
		case "search", "domain":
			rc.Search = nil
			for _, d := range fields[1:] {
				if d = canonicalName(d); d != "" {
					rc.Search = append(rc.Search, d)
				}
			}
		}
	}
	if err := sc.Err(); err != nil {
		return ResolvConf{}, err
	}
	return rc, nil
}
