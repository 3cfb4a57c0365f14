package taskns

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// TestCommand runs programs through Command in a task namespace and checks
// that they see its devices, its resolv.conf and their environment, while
// the host's resolv.conf stays as it was.
func TestCommand(t *testing.T) {
	requireRoot(t)
	ns := setup(t, Config{Name: "tns-d", Attachments: []Attachment{att("front", "10.99.3.2", "10.99.3.0/24", "10.99.3.1")}})
	resolv := filepath.Join(t.TempDir(), "resolv.conf")
	const conf = "nameserver 10.99.3.1\noptions ndots:0\n"
	if err := os.WriteFile(resolv, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	hostConf, err := os.ReadFile("/etc/resolv.conf")
	if err != nil {
		t.Fatal(err)
	}
	hostMounts := resolvMounts(t)

	output := func(t *testing.T, nsPath, resolvConf string, env []string, argv ...string) string {
		t.Helper()
		cmd := Command(nsPath, resolvConf, argv)
		cmd.Env = env
		var stderr bytes.Buffer
		cmd.Stderr = &stderr
		out, err := cmd.Output()
		if err != nil {
			t.Fatalf("%q: %v\n%s", argv, err, stderr.Bytes())
		}
		return string(out)
	}

	t.Run("network namespace", func(t *testing.T) {
		var links []string
		for line := range strings.Lines(output(t, ns.Path(), "", nil, "cat", "/proc/net/dev")) {
			if name, _, ok := strings.Cut(line, ":"); ok {
				links = append(links, strings.TrimSpace(name))
			}
		}
		slices.Sort(links)
		if !slices.Equal(links, []string{"eth0", "lo"}) {
			t.Errorf("links %q, want eth0 and lo", links)
		}
		if out := output(t, ns.Path(), "", nil, "ip", "-4", "-o", "addr", "show", "dev", "eth0"); !strings.Contains(out, " inet 10.99.3.2/32 ") {
			t.Errorf("eth0: want inet 10.99.3.2/32:\n%s", out)
		}
	})

	t.Run("resolv.conf", func(t *testing.T) {
		if got := output(t, ns.Path(), resolv, nil, "cat", "/etc/resolv.conf"); got != conf {
			t.Errorf("inside: %q, want %q", got, conf)
		}
		// Without a network namespace, only the file changes.
		if got := output(t, "", resolv, nil, "cat", "/etc/resolv.conf"); got != conf {
			t.Errorf("inside, host network: %q, want %q", got, conf)
		}
		if got := output(t, ns.Path(), "", nil, "cat", "/etc/resolv.conf"); got != string(hostConf) {
			t.Errorf("without resolvConf: %q, want the host's %q", got, hostConf)
		}
		if after, err := os.ReadFile("/etc/resolv.conf"); err != nil || !bytes.Equal(after, hostConf) {
			t.Errorf("host's resolv.conf changed to %q, %v", after, err)
		}
		if n := resolvMounts(t); n != hostMounts {
			t.Errorf("the host has %d mounts on /etc/resolv.conf, had %d", n, hostMounts)
		}
	})

	t.Run("environment", func(t *testing.T) {
		env := []string{"PATH=" + os.Getenv("PATH"), "TASKNS_TEST=42"}
		if got := output(t, ns.Path(), resolv, env, "printenv", "TASKNS_TEST"); got != "42\n" {
			t.Errorf("printenv TASKNS_TEST = %q, want 42", got)
		}
	})
}

// resolvMounts counts the mounts on /etc/resolv.conf in the test's mount
// namespace.
func resolvMounts(t *testing.T) int {
	t.Helper()
	info, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatal(err)
	}
	n := 0
	for line := range strings.Lines(string(info)) {
		if f := strings.Fields(line); len(f) > 4 && f[4] == "/etc/resolv.conf" {
			n++
		}
	}
	return n
}

func TestCommandFailures(t *testing.T) {
	requireRoot(t)
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		cmd  *exec.Cmd
		want string // in standard error
	}{
		{"no such program", Command("", "", []string{"taskns-no-such-program"}), "taskns-no-such-program"},
		{"no such namespace", Command("/run/netns/tns-never", "", []string{"true"}), "/run/netns/tns-never"},
		{"no such resolv.conf", Command("", "/nonexistent/resolv.conf", []string{"true"}), "/nonexistent/resolv.conf"},
		// Started by hand, without a mount namespace of its own: it must
		// not touch the host's mounts.
		{"shared mount namespace", exec.Command(self, initArg, "", "", "true"), "mount namespace"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var stderr bytes.Buffer
			tt.cmd.Stderr = &stderr
			err := tt.cmd.Run()
			var exit *exec.ExitError
			if !errors.As(err, &exit) || exit.ExitCode() != ExitInitFailed {
				t.Fatalf("Run: %v, want exit status %d", err, ExitInitFailed)
			}
			if !strings.Contains(stderr.String(), tt.want) {
				t.Errorf("stderr %q lacks %q", stderr.String(), tt.want)
			}
		})
	}

	if err := Command("", "", nil).Start(); err == nil {
		t.Errorf("Start of an empty argv succeeded")
	}
}
