package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/internal/gwrpc"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// DefaultPollInterval is how often docker's CLI polls while it waits for
// a service to converge.
const DefaultPollInterval = 200 * time.Millisecond

// DefaultTimeout bounds one call to the gateway. The daemon bounds its own
// work; this only keeps swarmctl from hanging on a daemon that stopped
// answering.
const DefaultTimeout = 30 * time.Second

// Conn is a connection to one gateway. *gwrpc.Client is the real one;
// clitest.Conn is a scripted fake.
type Conn interface {
	Call(ctx context.Context, req *swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error)
	Close() error
}

// CLI is what the commands of one swarmctl run share: global flags, output
// streams, the clock and the connection to the daemon.
type CLI struct {
	// Host and TLSDir are the values of -H/--host and --tls-dir.
	Host   string
	TLSDir string
	// Timeout bounds each Call.
	Timeout time.Duration
	// Out receives command output, Err error messages.
	Out io.Writer
	Err io.Writer
	// Now is the clock used for "5 minutes ago"-style output and by the
	// progress display.
	Now func() time.Time
	// Sleep waits d, or until ctx is done (then it returns ctx.Err()).
	// Commands that poll (the progress display, logs -f) wait with it;
	// tests advance a fake clock instead.
	Sleep func(ctx context.Context, d time.Duration) error
	// PollInterval is how often polling commands ask the daemon again.
	PollInterval time.Duration
	// Terminal says whether Out is a terminal and how many columns wide
	// (0 when unknown); the progress display draws in place on one.
	Terminal func() (isTerminal bool, width int)
	// Connect opens the connection on the first Call.
	Connect func(host, tlsDir string) (Conn, error)

	conn Conn
}

// New returns a CLI writing to out and errOut that connects with gwrpc.
func New(out, errOut io.Writer) *CLI {
	return &CLI{
		Timeout:      DefaultTimeout,
		Out:          out,
		Err:          errOut,
		Now:          time.Now,
		Sleep:        sleep,
		PollInterval: DefaultPollInterval,
		Terminal:     func() (bool, int) { return TerminalOf(out) },
		Connect: func(host, tlsDir string) (Conn, error) {
			return gwrpc.Dial(host, tlsDir)
		},
	}
}

// sleep waits d or until ctx is done.
func sleep(ctx context.Context, d time.Duration) error {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
		return ctx.Err()
	case <-t.C:
		return nil
	}
}

// DaemonError is a command the daemon refused: Message is its one-line
// reason, Code its classification (see gateway.proto).
type DaemonError struct {
	Message string
	Code    int32
}

func (e *DaemonError) Error() string { return "Error response from daemon: " + e.Message }

// CodeNotFound is the code of a DaemonError about an object that does not
// exist: the daemon's cluster.Code(cluster.ErrNotFound), repeated here so
// that swarmctl does not link the cluster package.
const CodeNotFound = 2

// IsNotFound says whether err is the daemon saying that the object named
// does not exist.
func IsNotFound(err error) bool {
	var de *DaemonError
	return errors.As(err, &de) && de.Code == CodeNotFound
}

// ConnectError is a failure to reach the daemon or to get its answer.
type ConnectError struct {
	Err error
}

func (e *ConnectError) Error() string { return "error during connect: " + e.Err.Error() }

func (e *ConnectError) Unwrap() error { return e.Err }

// ErrUnexpectedResponse reports an answer of the wrong kind for the request,
// a daemon and swarmctl that do not speak the same protocol version.
var ErrUnexpectedResponse = errors.New("unexpected response from daemon (are swarmctl and swarmd the same version?)")

// Call sends one request to the daemon, connecting on first use, and waits
// at most c.Timeout for the answer. A refused command is a *DaemonError, a
// transport failure a *ConnectError.
func (c *CLI) Call(ctx context.Context, req *swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error) {
	if c.conn == nil {
		conn, err := c.Connect(c.Host, c.TLSDir)
		if err != nil {
			return nil, &ConnectError{Err: err} // names the host already
		}
		c.conn = conn
	}
	ctx, cancel := context.WithTimeout(ctx, c.Timeout)
	defer cancel()
	resp, err := c.conn.Call(ctx, req)
	if err != nil {
		return nil, &ConnectError{Err: fmt.Errorf("%s: %w", c.Host, err)}
	}
	if resp.GetError() != "" {
		return nil, &DaemonError{Message: resp.GetError(), Code: resp.GetCode()}
	}
	return resp, nil
}

// Close releases the connection, if Call opened one.
func (c *CLI) Close() error {
	if c.conn == nil {
		return nil
	}
	err := c.conn.Close()
	c.conn = nil
	return err
}

// ForEach runs do for every ref, carrying on after a failure, and returns
// the failures joined (one line each), like docker's commands that take
// several NODEs or SERVICEs.
func ForEach(refs []string, do func(ref string) error) error {
	var errs []error
	for _, ref := range refs {
		if err := do(ref); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// RemoveCommand is `rm OBJECT [OBJECT...]` for objects removed by one
// gateway request each (request makes it for a reference): it prints
// each reference as the user named it once removed, and goes on past
// failures, reporting them all.
func RemoveCommand(c *CLI, object, short string, request func(ref string) *swarmv1.GatewayRequest) *cobra.Command {
	return &cobra.Command{
		Use:     "rm " + object + " [" + object + "...]",
		Aliases: []string{"remove"},
		Short:   short,
		Args:    RequiresMinArgs(1),
		RunE: func(cmd *cobra.Command, args []string) error {
			return ForEach(args, func(ref string) error {
				if _, err := c.Call(cmd.Context(), request(ref)); err != nil {
					return err
				}
				_, err := fmt.Fprintln(c.Out, ref)
				return err
			})
		},
	}
}
