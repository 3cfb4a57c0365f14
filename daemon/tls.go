package daemon

import (
	"context"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"os"
	"path/filepath"
	"sync"
	"time"

	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/peer"

	"github.com/actorswarm/swarm/cluster"
)

// creds holds this node's TLS material and hands out TLS configs that read
// it at handshake time, so that the one listener started at boot serves the
// certificate of whatever swarm the node joins later. Safe for concurrent
// use.
type creds struct {
	mu   sync.RWMutex
	ca   *x509.Certificate
	cert *tls.Certificate
}

func newCreds() (*creds, error) {
	c := &creds{}
	return c, c.reset()
}

// reset forgets the swarm: the server presents a throwaway self-signed
// certificate and trusts no client.
func (c *creds) reset() error {
	key, err := cluster.NewKey(rand.Reader)
	if err != nil {
		return err
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1),
		Subject:      pkix.Name{CommonName: "unjoined swarmd"},
		NotBefore:    time.Now().Add(-time.Hour),
		NotAfter:     time.Now().Add(24 * time.Hour),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return err
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ca = nil
	c.cert = &tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}
	return nil
}

// set installs the swarm's CA and this node's certificate.
func (c *creds) set(caDER, certDER []byte, key *ecdsa.PrivateKey) error {
	ca, err := x509.ParseCertificate(caDER)
	if err != nil {
		return fmt.Errorf("CA certificate: %w", err)
	}
	leaf, err := x509.ParseCertificate(certDER)
	if err != nil {
		return fmt.Errorf("node certificate: %w", err)
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	c.ca = ca
	c.cert = &tls.Certificate{Certificate: [][]byte{certDER, caDER}, PrivateKey: key, Leaf: leaf}
	return nil
}

func (c *creds) current() (*x509.Certificate, *tls.Certificate) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ca, c.cert
}

// serverTLS is the listener's config: any client may connect (a joining node
// has no certificate yet), and a client certificate, when given, must come
// from the swarm's CA. What each method requires is checked per call.
func (c *creds) serverTLS() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		GetConfigForClient: func(*tls.ClientHelloInfo) (*tls.Config, error) {
			ca, cert := c.current()
			pool := x509.NewCertPool()
			if ca != nil {
				pool.AddCert(ca)
			}
			return &tls.Config{
				MinVersion:   tls.VersionTLS13,
				Certificates: []tls.Certificate{*cert},
				ClientAuth:   tls.VerifyClientCertIfGiven,
				ClientCAs:    pool,
				NextProtos:   []string{"h2"},
			}, nil
		},
	}
}

// clientTLS is the config for dialing other nodes: the peer must present a
// certificate of the swarm's CA (checked by chain; nodes are dialed by IP
// and the certificate names it, but the CA is what matters), and this node
// presents its own.
func (c *creds) clientTLS() *tls.Config {
	return &tls.Config{
		MinVersion: tls.VersionTLS13,
		// Verification is done below against the swarm's CA only.
		InsecureSkipVerify: true,
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			ca, _ := c.current()
			if ca == nil {
				return errors.New("this node is not part of a swarm")
			}
			_, err := cluster.VerifyPeer(ca, raw)
			return err
		},
		GetClientCertificate: func(*tls.CertificateRequestInfo) (*tls.Certificate, error) {
			ca, cert := c.current()
			if ca == nil {
				return &tls.Certificate{}, nil
			}
			return cert, nil
		},
	}
}

// pinnedTLS is the config a joining node dials a manager with: the manager's
// chain must end in a CA whose digest is the one in the join token, before
// the token's secret is sent.
func pinnedTLS(digest string) *tls.Config {
	return &tls.Config{
		MinVersion:         tls.VersionTLS13,
		InsecureSkipVerify: true, // verified below against the pinned CA
		VerifyPeerCertificate: func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) < 2 {
				return errors.New("the manager did not present the swarm's CA certificate")
			}
			caDER := raw[len(raw)-1]
			if cluster.CADigest(caDER) != digest {
				return errors.New("the manager's CA does not match the join token")
			}
			ca, err := x509.ParseCertificate(caDER)
			if err != nil {
				return err
			}
			_, err = cluster.VerifyPeer(ca, raw[:len(raw)-1])
			return err
		},
	}
}

// peerRole returns the OU of the verified client certificate of a gRPC
// call, "" when the peer presented none.
func peerRole(ctx context.Context) string {
	p, ok := peer.FromContext(ctx)
	if !ok {
		return ""
	}
	info, ok := p.AuthInfo.(credentials.TLSInfo)
	if !ok || len(info.State.VerifiedChains) == 0 || len(info.State.VerifiedChains[0]) == 0 {
		return ""
	}
	role, err := cluster.CertRole(info.State.VerifiedChains[0][0])
	if err != nil {
		return ""
	}
	return role
}

// writeCerts stores the node's TLS material where Raft's mutual TLS reads it.
func writeCerts(p paths, caDER, certDER []byte, key *ecdsa.PrivateKey) error {
	keyPEM, err := cluster.EncodeKeyPEM(key)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(p.certs(), 0o700); err != nil {
		return err
	}
	if err := writeFileAtomic(p.caPEM(), cluster.EncodeCertPEM(caDER), 0o644); err != nil {
		return err
	}
	if err := writeFileAtomic(p.keyPEM(), keyPEM, 0o600); err != nil {
		return err
	}
	return writeFileAtomic(p.certPEM(), cluster.EncodeCertPEM(certDER), 0o644)
}

// writeAdmin writes the admin client bundle swarmctl uses over TCP.
func writeAdmin(p paths, ca *cluster.CA, now time.Time) error {
	key, err := cluster.NewKey(rand.Reader)
	if err != nil {
		return err
	}
	der, err := ca.Issue(&key.PublicKey, "admin", cluster.OUAdmin, nil, now, rand.Reader)
	if err != nil {
		return err
	}
	keyPEM, err := cluster.EncodeKeyPEM(key)
	if err != nil {
		return err
	}
	dir := p.admin()
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return err
	}
	for name, data := range map[string][]byte{"ca.pem": cluster.EncodeCertPEM(ca.CertDER), "cert.pem": cluster.EncodeCertPEM(der), "key.pem": keyPEM} {
		if err := writeFileAtomic(filepath.Join(dir, name), data, 0o600); err != nil {
			return err
		}
	}
	return nil
}

// loadCerts reads the node's TLS material back.
func loadCerts(p paths) (caDER, certDER []byte, key *ecdsa.PrivateKey, err error) {
	pair, err := tls.LoadX509KeyPair(p.certPEM(), p.keyPEM())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("node certificate: %w", err)
	}
	k, ok := pair.PrivateKey.(*ecdsa.PrivateKey)
	if !ok {
		return nil, nil, nil, errors.New("node key is not ECDSA")
	}
	caPair, err := os.ReadFile(p.caPEM())
	if err != nil {
		return nil, nil, nil, fmt.Errorf("CA certificate: %w", err)
	}
	ca, err := decodeCertPEM(caPair)
	if err != nil {
		return nil, nil, nil, err
	}
	return ca, pair.Certificate[0], k, nil
}

func decodeCertPEM(data []byte) ([]byte, error) {
	block, _ := pem.Decode(data)
	if block == nil || block.Type != "CERTIFICATE" {
		return nil, errors.New("CA certificate: not a PEM certificate")
	}
	return block.Bytes, nil
}
