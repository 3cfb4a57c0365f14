package gwrpc

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"

	"google.golang.org/grpc"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	"google.golang.org/grpc/status"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// Method names served by every gateway.
const (
	// MethodCall carries a swarmv1.GatewayRequest and answers a
	// swarmv1.GatewayResponse.
	MethodCall = "/actorswarm.v1.Gateway/Call"
	// MethodJoin carries a swarmv1.JoinRequest and answers a
	// swarmv1.JoinResponse; it is the only method served to a peer without
	// a client certificate.
	MethodJoin = "/actorswarm.v1.Gateway/Join"
)

// DefaultHost is where swarmctl looks for a node when neither -H nor
// SWARM_HOST is given.
const DefaultHost = "unix:///var/lib/actorswarm/swarmd.sock"

// ErrBadHost reports a -H value that is neither unix://PATH nor tcp://IP:PORT.
var ErrBadHost = errors.New("host must be unix://PATH or tcp://IP:PORT")

// Client calls one gateway.
type Client struct {
	conn *grpc.ClientConn
}

// Dial prepares a client for host (unix://PATH or tcp://IP:PORT). tcp hosts
// need tlsDir holding the admin bundle written by `swarm init` (ca.pem,
// cert.pem, key.pem). Dial does not connect; the first call does.
func Dial(host, tlsDir string) (*Client, error) {
	var (
		target string
		creds  credentials.TransportCredentials
	)
	switch {
	case strings.HasPrefix(host, "unix://"):
		path := strings.TrimPrefix(host, "unix://")
		if path == "" {
			return nil, fmt.Errorf("%q: %w", host, ErrBadHost)
		}
		target = "unix://" + path
		creds = insecure.NewCredentials()
	case strings.HasPrefix(host, "tcp://"):
		addr := strings.TrimPrefix(host, "tcp://")
		if _, _, err := net.SplitHostPort(addr); err != nil {
			return nil, fmt.Errorf("%q: %w", host, ErrBadHost)
		}
		if tlsDir == "" {
			return nil, fmt.Errorf("%s needs the admin TLS bundle: pass --tls-dir DIR or set SWARM_TLS_DIR (swarm init writes it to DATA_DIR/admin)", host)
		}
		cfg, err := adminTLS(tlsDir)
		if err != nil {
			return nil, err
		}
		target = addr
		creds = credentials.NewTLS(cfg)
	default:
		return nil, fmt.Errorf("%q: %w", host, ErrBadHost)
	}
	conn, err := grpc.Dial(target, grpc.WithTransportCredentials(creds))
	if err != nil {
		return nil, fmt.Errorf("dial %s: %w", host, err)
	}
	return &Client{conn: conn}, nil
}

// Call sends one request and returns the gateway's answer. A transport
// failure is an error; a command the gateway refused is a response with
// Error set.
func (c *Client) Call(ctx context.Context, req *swarmv1.GatewayRequest) (*swarmv1.GatewayResponse, error) {
	resp := &swarmv1.GatewayResponse{}
	if err := c.conn.Invoke(ctx, MethodCall, req, resp); err != nil {
		return nil, friendly(err)
	}
	return resp, nil
}

// Close releases the connection.
func (c *Client) Close() error { return c.conn.Close() }

func friendly(err error) error {
	if s, ok := status.FromError(err); ok {
		msg := s.Message()
		if strings.Contains(msg, "connection refused") || strings.Contains(msg, "no such file") {
			return fmt.Errorf("cannot connect to the swarmd daemon: %s", msg)
		}
		return errors.New(msg)
	}
	return err
}

func adminTLS(dir string) (*tls.Config, error) {
	caPEM, err := os.ReadFile(filepath.Join(dir, "ca.pem"))
	if err != nil {
		return nil, fmt.Errorf("admin TLS bundle: %w", err)
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(caPEM) {
		return nil, fmt.Errorf("admin TLS bundle: %s holds no certificate", filepath.Join(dir, "ca.pem"))
	}
	pair, err := tls.LoadX509KeyPair(filepath.Join(dir, "cert.pem"), filepath.Join(dir, "key.pem"))
	if err != nil {
		return nil, fmt.Errorf("admin TLS bundle: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS13,
		Certificates: []tls.Certificate{pair},
		// Node certificates name the node's IP; the admin dials by IP too.
		RootCAs: pool,
	}, nil
}
