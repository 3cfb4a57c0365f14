// Package clitest helps test swarmctl commands: a scripted gateway
// connection, a runner that executes a command line against it, and golden
// files under testdata/ rewritten with `go test ./cmd/swarmctl/... -update`.
//
// Every test package under cmd/swarmctl must import it, so that -update is
// a known flag wherever `go test ./cmd/swarmctl/... -update` runs.
package clitest

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// Golden compares got with testdata/NAME.golden, or writes got there when
// the tests run with -update.
func Golden(t testing.TB, name string, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.MkdirAll("testdata", 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test with -update to create it)", err)
	}
	if got != string(want) {
		t.Errorf("output differs from %s (run go test with -update to accept it)\n--- got:\n%s\n--- want:\n%s", path, got, want)
	}
}

// ErrUnscripted answers a request a Conn has no reply for.
var ErrUnscripted = errors.New("clitest: no reply scripted for this request")

// Conn is a fake gateway connection: it records every request and answers
// with Reply (ErrUnscripted when Reply is nil).
type Conn struct {
	Reply    func(req *swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error)
	Requests []*swarmv1.GatewayRequest
	Closed   bool
}

// Call records req and returns Reply's answer.
func (c *Conn) Call(_ context.Context, req *swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error) {
	c.Requests = append(c.Requests, req)
	if c.Reply == nil {
		return nil, ErrUnscripted
	}
	return c.Reply(req)
}

// Close marks the connection closed.
func (c *Conn) Close() error {
	c.Closed = true
	return nil
}

// Now is the time Run's clock starts at.
func Now() time.Time { return time.Date(2024, 3, 1, 12, 0, 0, 0, time.UTC) }

// Clock is a fake clock for commands that poll: Sleep moves it forward at
// once instead of waiting. It is not safe for concurrent use.
type Clock struct {
	now time.Time
}

// NewClock returns a clock reading start.
func NewClock(start time.Time) *Clock { return &Clock{now: start} }

// Now reads the clock.
func (c *Clock) Now() time.Time { return c.now }

// Sleep moves the clock d forward, or returns ctx.Err() when ctx is done.
func (c *Clock) Sleep(ctx context.Context, d time.Duration) error {
	if err := ctx.Err(); err != nil {
		return err
	}
	c.now = c.now.Add(d)
	return nil
}

// Result is what a command line printed and its exit status.
type Result struct {
	Stdout string
	Stderr string
	Code   int
}

// Run executes `swarmctl ARGS...` with the nouns that newNouns builds, every
// call going to conn, on a fake clock that starts at Now and moves only
// when a command sleeps. Output is not a terminal.
func Run(conn *Conn, newNouns func(c *cli.CLI) []*cobra.Command, args ...string) Result {
	return RunContext(context.Background(), conn, newNouns, args...)
}

// RunContext is Run with a context, which a test cancels to play Ctrl-C.
func RunContext(ctx context.Context, conn *Conn, newNouns func(c *cli.CLI) []*cobra.Command, args ...string) Result {
	var stdout, stderr bytes.Buffer
	c := cli.New(&stdout, &stderr)
	clock := NewClock(Now())
	c.Now, c.Sleep = clock.Now, clock.Sleep
	c.Terminal = func() (bool, int) { return false, 0 }
	c.Connect = func(string, string) (cli.Conn, error) { return conn, nil }
	root := cli.NewRootCommand(c, newNouns(c)...)
	code := c.Execute(ctx, root, args)
	return Result{Stdout: stdout.String(), Stderr: stderr.String(), Code: code}
}
