package taskns

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
)

const ipForward = "/proc/sys/net/ipv4/ip_forward"

// enableForwarding turns on IPv4 forwarding in the current namespace. It
// writes only when needed, so that a host which already forwards may have
// a read-only /proc/sys.
func enableForwarding() error {
	if b, err := os.ReadFile(ipForward); err == nil && strings.TrimSpace(string(b)) == "1" {
		return nil
	}
	if err := os.WriteFile(ipForward, []byte("1\n"), 0o644); err != nil {
		return fmt.Errorf("enable IPv4 forwarding: %w", err)
	}
	return nil
}

// allowForward inserts ACCEPT rules at the top of the FORWARD chain for
// packets coming in from, and going out to, the host veth link.
func allowForward(link string) error {
	if !haveIptables() {
		return nil
	}
	for _, dir := range []string{"-i", "-o"} {
		if err := iptables("-I", "FORWARD", dir, link, "-j", "ACCEPT"); err != nil {
			return err
		}
	}
	return nil
}

// removeForward deletes the FORWARD rules of allowForward for every host
// veth of the namespace name, whether the veths still exist or not.
func removeForward(name string) error {
	if !haveIptables() {
		return nil
	}
	out, err := exec.Command("iptables", "-w", "-S", "FORWARD").Output()
	if err != nil {
		return fmt.Errorf("iptables -S FORWARD: %w", err)
	}
	var errs []error
	for line := range strings.Lines(string(out)) {
		// Rules of allowForward are listed as "-A FORWARD -i LINK -j ACCEPT".
		f := strings.Fields(line)
		if len(f) == 6 && f[0] == "-A" && f[1] == "FORWARD" && (f[2] == "-i" || f[2] == "-o") &&
			isHostVeth(name, f[3]) && f[4] == "-j" && f[5] == "ACCEPT" {
			errs = append(errs, iptables(append([]string{"-D"}, f[1:]...)...))
		}
	}
	return errors.Join(errs...)
}

func haveIptables() bool {
	_, err := exec.LookPath("iptables")
	return err == nil
}

func iptables(args ...string) error {
	out, err := exec.Command("iptables", append([]string{"-w"}, args...)...).CombinedOutput()
	if err != nil {
		return fmt.Errorf("iptables %s: %w: %s", strings.Join(args, " "), err, strings.TrimSpace(string(out)))
	}
	return nil
}
