package taskns

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"runtime"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// TestMain lets Command re-execute the test binary as the init step.
func TestMain(m *testing.M) {
	MaybeRunInit()
	os.Exit(m.Run())
}

func requireRoot(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("skipping: needs root to create network and mount namespaces, veths and routes")
	}
	if _, err := exec.LookPath("ip"); err != nil {
		t.Skip("skipping: needs the ip command (iproute2)")
	}
}

func att(network, addr, prefix, gw string) Attachment {
	return Attachment{
		Network: network,
		Addr:    netip.MustParseAddr(addr),
		Prefix:  netip.MustParsePrefix(prefix),
		Gateway: netip.MustParseAddr(gw),
	}
}

// setup removes what a crashed earlier run may have left under cfg.Name,
// sets the namespace up and closes it at the end of the test.
func setup(t *testing.T, cfg Config) *Namespace {
	t.Helper()
	if err := Remove(cfg.Name); err != nil {
		t.Fatal(err)
	}
	ns, err := Setup(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := ns.Close(); err != nil {
			t.Error(err)
		}
	})
	return ns
}

// leftovers lists what exists of the namespace name: its /run/netns
// entry, host veths and FORWARD rules.
func leftovers(t *testing.T, name string) []string {
	t.Helper()
	var left []string
	if _, err := os.Lstat(Path(name)); !errors.Is(err, os.ErrNotExist) {
		left = append(left, Path(name))
	}
	links, err := net.Interfaces()
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range links {
		if strings.HasPrefix(l.Name, vethPrefix(name)) {
			left = append(left, "link "+l.Name)
		}
	}
	if haveIptables() {
		out, err := exec.Command("iptables", "-w", "-S", "FORWARD").Output()
		if err != nil {
			t.Fatal(err)
		}
		for line := range strings.Lines(string(out)) {
			if strings.Contains(line, vethPrefix(name)) {
				left = append(left, "rule "+strings.TrimSpace(line))
			}
		}
	}
	return left
}

func requireGone(t *testing.T, name string) {
	t.Helper()
	if left := leftovers(t, name); len(left) > 0 {
		t.Errorf("%s left behind: %q", name, left)
	}
}

// run runs a command and returns its combined output, failing the test
// if it fails.
func run(t *testing.T, argv ...string) string {
	t.Helper()
	out, err := exec.Command(argv[0], argv[1:]...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", strings.Join(argv, " "), err, out)
	}
	return string(out)
}

// inNetns runs fn on a thread in the network namespace bound at path, so
// that the sockets fn creates belong to it.
func inNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: the runtime ends the thread, still in the other
		// namespace, when this goroutine returns.
		runtime.LockOSThread()
		fd, err := unix.Open(path, unix.O_RDONLY|unix.O_CLOEXEC, 0)
		if err != nil {
			errc <- err
			return
		}
		defer unix.Close(fd)
		if err := unix.Setns(fd, unix.CLONE_NEWNET); err != nil {
			errc <- err
			return
		}
		errc <- fn()
	}()
	return <-errc
}
