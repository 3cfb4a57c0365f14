package cli_test

import (
	"bytes"
	"context"
	"errors"
	"os"
	"testing"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
	"github.com/actorswarm/swarm/internal/version"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

func noNouns(*cli.CLI) []*cobra.Command { return nil }

func TestRoot(t *testing.T) {
	t.Setenv("SWARM_HOST", "")
	tests := []struct {
		name     string
		args     []string
		wantCode int
		stdout   string
		stderr   string
	}{
		{name: "version", args: []string{"version"}, stdout: "swarmctl version " + version.Version + "\n"},
		{name: "version flag", args: []string{"--version"}, stdout: "swarmctl version " + version.Version + "\n"},
		{name: "unknown command", args: []string{"nodes"}, wantCode: 1, stderr: "unknown command \"nodes\" for \"swarmctl\"\nSee 'swarmctl --help'.\n"},
		{name: "unknown flag", args: []string{"--bogus"}, wantCode: 1, stderr: "unknown flag: --bogus\nSee 'swarmctl --help'.\n"},
		{name: "version takes no argument", args: []string{"version", "x"}, wantCode: 1,
			stderr: "\"swarmctl version\" accepts no arguments.\nSee 'swarmctl version --help'.\n\nUsage:  swarmctl version\n\nShow the swarmctl version information\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			res := clitest.Run(&clitest.Conn{}, noNouns, tt.args...)
			if res.Code != tt.wantCode || res.Stdout != tt.stdout || res.Stderr != tt.stderr {
				t.Errorf("exit %d, stdout %q, stderr %q; want %d, %q, %q", res.Code, res.Stdout, res.Stderr, tt.wantCode, tt.stdout, tt.stderr)
			}
		})
	}
}

func TestRootHelp(t *testing.T) {
	t.Setenv("SWARM_HOST", "")
	t.Setenv("SWARM_TLS_DIR", "")
	res := clitest.Run(&clitest.Conn{}, noNouns, "--help")
	if res.Code != 0 || res.Stderr != "" {
		t.Fatalf("exit %d, stderr %q", res.Code, res.Stderr)
	}
	clitest.Golden(t, "help-root", res.Stdout)
}

func TestHostFlagAndEnvironment(t *testing.T) {
	t.Setenv("SWARM_HOST", "unix:///from/env.sock")
	t.Setenv("SWARM_TLS_DIR", "/from/env/tls")
	var gotHost, gotTLS string
	for _, args := range [][]string{{"probe"}, {"-H", "tcp://10.0.0.1:2377", "--tls-dir", "/flag/tls", "probe"}} {
		c := cli.New(new(bytes.Buffer), new(bytes.Buffer))
		c.Connect = func(host, tlsDir string) (cli.Conn, error) {
			gotHost, gotTLS = host, tlsDir
			return &clitest.Conn{Reply: func(*swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error) {
				return &swarmv1.GatewayResponse{}, nil
			}}, nil
		}
		probe := &cobra.Command{Use: "probe", RunE: func(cmd *cobra.Command, _ []string) error {
			_, err := c.Call(cmd.Context(), &swarmv1.GatewayRequest{})
			return err
		}}
		if code := c.Execute(context.Background(), cli.NewRootCommand(c, probe), args); code != 0 {
			t.Fatalf("%v: exit %d", args, code)
		}
		if args[0] == "probe" && (gotHost != "unix:///from/env.sock" || gotTLS != "/from/env/tls") {
			t.Errorf("from the environment: host %q, tls %q", gotHost, gotTLS)
		}
		if args[0] == "-H" && (gotHost != "tcp://10.0.0.1:2377" || gotTLS != "/flag/tls") {
			t.Errorf("from flags: host %q, tls %q", gotHost, gotTLS)
		}
	}
}

func TestCallErrors(t *testing.T) {
	c := cli.New(new(bytes.Buffer), new(bytes.Buffer))
	c.Host = "unix:///x.sock"
	c.Connect = func(string, string) (cli.Conn, error) { return nil, errors.New(`"x": bad host`) }
	_, err := c.Call(context.Background(), &swarmv1.GatewayRequest{})
	var ce *cli.ConnectError
	if !errors.As(err, &ce) || err.Error() != `error during connect: "x": bad host` {
		t.Errorf("dial failure: %v", err)
	}

	c.Connect = func(string, string) (cli.Conn, error) {
		return &clitest.Conn{Reply: func(*swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error) {
			return &swarmv1.GatewayResponse{Error: "node x not found", Code: 5}, nil
		}}, nil
	}
	_, err = c.Call(context.Background(), &swarmv1.GatewayRequest{})
	var de *cli.DaemonError
	if !errors.As(err, &de) || de.Code != 5 || err.Error() != "Error response from daemon: node x not found" {
		t.Errorf("refused command: %v", err)
	}
}

func TestForEach(t *testing.T) {
	var done []string
	err := cli.ForEach([]string{"a", "b", "c"}, func(ref string) error {
		done = append(done, ref)
		if ref != "b" {
			return errors.New("no " + ref)
		}
		return nil
	})
	if len(done) != 3 || err == nil || err.Error() != "no a\nno c" {
		t.Errorf("ran %v, err %v", done, err)
	}
}

func TestTerminalOf(t *testing.T) {
	if tty, width := cli.TerminalOf(new(bytes.Buffer)); tty || width != 0 {
		t.Errorf("a buffer is a terminal %d columns wide", width)
	}
	f, err := os.CreateTemp(t.TempDir(), "out")
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if tty, _ := cli.TerminalOf(f); tty {
		t.Error("a regular file is a terminal")
	}
}
