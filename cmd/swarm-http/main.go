// Command swarm-http is the demo web server of the quickstart, in the manner
// of katacoda/docker-http-server: every request to / is answered with the
// name of the host (task) that served it, so a client sees the routing mesh
// spread requests over the replicas of a service.
//
//	swarm-http [--port N] [--addr IP] [--log-level LEVEL]
//
// The port comes from --port, else $PORT (the process runtime hands each task
// a free port there), else 80. SIGTERM and SIGINT shut it down cleanly:
// in-flight requests finish, new connections are refused.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net"
	"net/http"
	"os"
	"os/signal"
	"strconv"
	"sync"
	"syscall"
	"time"

	"github.com/spf13/cobra"

	"github.com/actorswarm/swarm/internal/version"
	"github.com/actorswarm/swarm/lb"
)

// shutdownGrace is how long in-flight requests get after a signal; it stays
// below Docker's and swarmd's default stop grace period of 10 s.
const shutdownGrace = 5 * time.Second

// config is what the flags and the environment decide.
type config struct {
	addr     string
	port     int
	hostname string
	logLevel slog.Level
	// proxyProtocol reads a PROXY protocol v2 header ahead of each
	// connection (the routing mesh's proxy-protocol=v2) and takes the
	// client's address from it.
	proxyProtocol bool
	// udp also answers datagrams on the same port.
	udp bool
}

func main() {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	err := newCommand(os.Getenv, os.Hostname, func(cfg config) error {
		return serve(ctx, cfg, os.Stderr)
	}).ExecuteContext(ctx)
	stop()
	if err != nil {
		os.Exit(1)
	}
}

// newCommand builds the command line; run is called with the resolved config.
// getenv and hostname are injected so tests need no real environment.
func newCommand(getenv func(string) string, hostname func() (string, error), run func(config) error) *cobra.Command {
	var (
		cfg      config
		logLevel string
	)
	cmd := &cobra.Command{
		Use:          "swarm-http",
		Short:        "Demo web server: answers with the name of the host that served the request",
		Args:         cobra.NoArgs,
		Version:      version.Version,
		SilenceUsage: true,
		RunE: func(cmd *cobra.Command, _ []string) error {
			if !cmd.Flags().Changed("addr") {
				cfg.addr = getenv("HOST")
			}
			if !cmd.Flags().Changed("port") {
				p, err := portFromEnv(getenv("PORT"))
				if err != nil {
					return err
				}
				cfg.port = p
			}
			if cfg.port < 0 || cfg.port > 65535 {
				return fmt.Errorf("invalid --port %d: want 0-65535", cfg.port)
			}
			if err := cfg.logLevel.UnmarshalText([]byte(logLevel)); err != nil {
				return fmt.Errorf("invalid --log-level %q: want debug, info, warn or error", logLevel)
			}
			h, err := resolveHostname(getenv, hostname)
			if err != nil {
				return err
			}
			cfg.hostname = h
			return run(cfg)
		},
	}
	cmd.SetVersionTemplate("swarm-http {{.Version}}\n")
	cmd.Flags().IntVar(&cfg.port, "port", 80, "TCP port to listen on (default: $PORT, else 80)")
	cmd.Flags().StringVar(&cfg.addr, "addr", "", "IP address to listen on (default: $HOST, else all addresses)")
	cmd.Flags().StringVar(&logLevel, "log-level", "info", "log level: debug, info, warn or error")
	cmd.Flags().BoolVar(&cfg.proxyProtocol, "proxy-protocol", false, "expect a PROXY protocol v2 header on each connection (published with proxy-protocol=v2)")
	cmd.Flags().BoolVar(&cfg.udp, "udp", false, "also answer UDP datagrams on the port, with the host's name")
	return cmd
}

// portFromEnv reads $PORT; empty means the default, 80.
func portFromEnv(v string) (int, error) {
	if v == "" {
		return 80, nil
	}
	p, err := strconv.Atoi(v)
	if err != nil || p < 0 || p > 65535 {
		return 0, fmt.Errorf("invalid $PORT %q: want 0-65535", v)
	}
	return p, nil
}

// resolveHostname prefers $HOSTNAME (set by Docker and by swarmd for tasks)
// over the kernel's host name.
func resolveHostname(getenv func(string) string, hostname func() (string, error)) (string, error) {
	if h := getenv("HOSTNAME"); h != "" {
		return h, nil
	}
	h, err := hostname()
	if err != nil {
		return "", fmt.Errorf("host name: %w", err)
	}
	return h, nil
}

// newHandler serves the demo page on / and a health check on /healthz. It
// holds no mutable state and is safe for concurrent use.
func newHandler(hostname string, log *slog.Logger) http.Handler {
	page := []byte("<h1>This request was processed by host: " + hostname + "</h1>\n")
	mux := http.NewServeMux()
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "text/plain; charset=utf-8")
		_, _ = io.WriteString(w, "ok\n")
	})
	// Like katacoda/docker-http-server, every other path gets the page too.
	mux.HandleFunc("GET /", func(w http.ResponseWriter, r *http.Request) {
		log.Debug("request", "remote", r.RemoteAddr, "path", r.URL.Path)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		// Who the server saw: the client through a PROXY header, or the
		// peer of the connection.
		w.Header().Set("X-Remote-Addr", r.RemoteAddr)
		_, _ = w.Write(page)
	})
	return mux
}

// serve listens on cfg.addr:cfg.port until ctx is done, then shuts down
// gracefully within shutdownGrace.
func serve(ctx context.Context, cfg config, logOut io.Writer) error {
	log := slog.New(slog.NewTextHandler(logOut, &slog.HandlerOptions{Level: cfg.logLevel}))
	ln, err := net.Listen("tcp", net.JoinHostPort(cfg.addr, strconv.Itoa(cfg.port)))
	if err != nil {
		return err
	}
	if cfg.proxyProtocol {
		ln = proxyListener{ln}
	}
	if cfg.udp {
		pc, err := net.ListenPacket("udp", net.JoinHostPort(cfg.addr, strconv.Itoa(ln.Addr().(*net.TCPAddr).Port)))
		if err != nil {
			ln.Close()
			return err
		}
		defer pc.Close()
		go answerUDP(pc, cfg.hostname)
	}
	srv := &http.Server{
		Handler:           newHandler(cfg.hostname, log),
		ReadHeaderTimeout: 10 * time.Second,
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelWarn),
	}
	log.Info("listening", "addr", ln.Addr().String(), "hostname", cfg.hostname, "version", version.Version)

	errc := make(chan error, 1)
	go func() { errc <- srv.Serve(ln) }()
	select {
	case err := <-errc:
		return err
	case <-ctx.Done():
	}
	log.Info("shutting down")
	sctx, cancel := context.WithTimeout(context.Background(), shutdownGrace)
	defer cancel()
	if err := srv.Shutdown(sctx); err != nil {
		return fmt.Errorf("shutdown: %w", err)
	}
	if err := <-errc; !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	log.Info("stopped")
	return nil
}

// proxyListener takes the client's address from the PROXY protocol v2
// header that opens each connection.
type proxyListener struct{ net.Listener }

func (l proxyListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &proxyConn{Conn: c}, nil
}

// proxyConn reads its header on the first Read (in the server's
// goroutine for the connection, not in Accept).
type proxyConn struct {
	net.Conn
	once   sync.Once
	remote net.Addr
	err    error
}

func (c *proxyConn) header() {
	c.once.Do(func() {
		_ = c.Conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		src, _, err := lb.ReadProxyV2(c.Conn)
		_ = c.Conn.SetReadDeadline(time.Time{})
		c.err = err
		if src.IsValid() {
			c.remote = net.TCPAddrFromAddrPort(src)
		}
	})
}

func (c *proxyConn) Read(b []byte) (int, error) {
	c.header()
	if c.err != nil {
		return 0, c.err
	}
	return c.Conn.Read(b)
}

func (c *proxyConn) RemoteAddr() net.Addr {
	c.header()
	if c.remote != nil {
		return c.remote
	}
	return c.Conn.RemoteAddr()
}

// answerUDP answers every datagram with the host's name until pc closes.
func answerUDP(pc net.PacketConn, hostname string) {
	reply := []byte("This datagram was processed by host: " + hostname + "\n")
	buf := make([]byte, 64*1024)
	for {
		_, from, err := pc.ReadFrom(buf)
		if err != nil {
			return
		}
		_, _ = pc.WriteTo(reply, from)
	}
}
