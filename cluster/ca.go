package cluster

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	cryptorand "crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"time"

	"github.com/actorswarm/swarm/internal/ident"
)

// Roles a certificate can carry, as its single Organizational Unit.
const (
	OUWorker  = "swarm-worker"
	OUManager = "swarm-manager"
	OUAdmin   = "swarm-admin"
)

// caCommonName is the subject CN of every cluster root CA.
const caCommonName = "swarm-ca"

// Validity periods. Leaves live as long as they do because certificates are
// not renewed yet; backdating by clockSkew tolerates hosts whose clocks lag.
const (
	clockSkew      = time.Hour
	caValidYears   = 20
	leafValidYears = 10
)

// digestLen is the length of CADigest's output: 36^50 > 2^256.
const digestLen = 50

// CA is a cluster root certificate authority. It holds no mutable state after
// construction and is safe for concurrent use.
type CA struct {
	Cert    *x509.Certificate
	CertDER []byte
	Key     *ecdsa.PrivateKey
}

// NewCA creates a self-signed ECDSA P-256 root for the cluster clusterID,
// valid from an hour before now for 20 years. rand supplies key material and
// the serial number.
func NewCA(clusterID string, now time.Time, rand io.Reader) (*CA, error) {
	if clusterID == "" {
		return nil, errors.New("new CA: empty cluster ID")
	}
	key, err := NewKey(rand)
	if err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	serial, err := newSerial(rand)
	if err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	notBefore := now.Add(-clockSkew)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:   caCommonName,
			Organization: []string{clusterID},
		},
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(caValidYears, 0, 0),
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
		// The root signs leaves only, never intermediates.
		MaxPathLenZero: true,
	}
	der, err := x509.CreateCertificate(rand, tmpl, tmpl, key.Public(), key)
	if err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("new CA: %w", err)
	}
	return &CA{Cert: cert, CertDER: der, Key: key}, nil
}

// ParseCA rebuilds a CA from its certificate DER and its PKCS#8 key DER. It
// fails if the certificate is not a CA with a cluster ID or the key does not
// belong to it.
func ParseCA(certDER, keyDER []byte) (*CA, error) {
	cert, err := x509.ParseCertificate(certDER)
	if err != nil {
		return nil, fmt.Errorf("parse CA certificate: %w", err)
	}
	if !cert.IsCA {
		return nil, errors.New("parse CA certificate: not a CA")
	}
	if len(cert.Subject.Organization) != 1 || cert.Subject.Organization[0] == "" {
		return nil, errors.New("parse CA certificate: no cluster ID")
	}
	k, err := x509.ParsePKCS8PrivateKey(keyDER)
	if err != nil {
		return nil, fmt.Errorf("parse CA key: %w", err)
	}
	key, ok := k.(*ecdsa.PrivateKey)
	if !ok {
		return nil, fmt.Errorf("parse CA key: %T is not an ECDSA key", k)
	}
	if !key.PublicKey.Equal(cert.PublicKey) {
		return nil, errors.New("parse CA: key does not match certificate")
	}
	return &CA{Cert: cert, CertDER: certDER, Key: key}, nil
}

// KeyDER returns the CA's private key in PKCS#8 DER.
func (ca *CA) KeyDER() ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(ca.Key)
	if err != nil {
		return nil, fmt.Errorf("marshal CA key: %w", err)
	}
	return der, nil
}

// ClusterID is the cluster the CA belongs to (its subject O).
func (ca *CA) ClusterID() string {
	if len(ca.Cert.Subject.Organization) == 0 {
		return ""
	}
	return ca.Cert.Subject.Organization[0]
}

// Issue signs a leaf certificate for pub and returns its DER. cn is a node ID
// (or "admin") and becomes the CN and the only DNS SAN; ou is one of the OU
// constants and carries the role; ips become IP SANs. The leaf is valid for
// TLS server and client use from an hour before now for 10 years.
func (ca *CA) Issue(pub crypto.PublicKey, cn string, ou string, ips []net.IP, now time.Time, rand io.Reader) ([]byte, error) {
	if cn == "" {
		return nil, errors.New("issue certificate: empty common name")
	}
	if !knownOU(ou) {
		return nil, fmt.Errorf("issue certificate for %s: unknown role %q", cn, ou)
	}
	if pub == nil {
		return nil, fmt.Errorf("issue certificate for %s: no public key", cn)
	}
	clusterID := ca.ClusterID()
	if clusterID == "" {
		return nil, fmt.Errorf("issue certificate for %s: CA has no cluster ID", cn)
	}
	serial, err := newSerial(rand)
	if err != nil {
		return nil, fmt.Errorf("issue certificate for %s: %w", cn, err)
	}
	notBefore := now.Add(-clockSkew)
	tmpl := &x509.Certificate{
		SerialNumber: serial,
		Subject: pkix.Name{
			CommonName:         cn,
			OrganizationalUnit: []string{ou},
			Organization:       []string{clusterID},
		},
		DNSNames:              []string{cn},
		IPAddresses:           ips,
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(leafValidYears, 0, 0),
		KeyUsage:              x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth},
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand, tmpl, ca.Cert, pub, ca.Key)
	if err != nil {
		return nil, fmt.Errorf("issue certificate for %s: %w", cn, err)
	}
	return der, nil
}

// CertRole returns the role OU of a certificate issued by Issue. It fails
// unless the certificate has exactly one OU and that OU is a known role.
func CertRole(cert *x509.Certificate) (string, error) {
	ous := cert.Subject.OrganizationalUnit
	switch {
	case len(ous) == 0:
		return "", errors.New("certificate role: no OU")
	case len(ous) > 1:
		return "", fmt.Errorf("certificate role: %d OUs, want 1", len(ous))
	case !knownOU(ous[0]):
		return "", fmt.Errorf("certificate role: unknown OU %q", ous[0])
	}
	return ous[0], nil
}

// VerifyPeer checks that the first certificate of a peer's raw chain was
// signed by caCert, for any extended key usage and with no host name check,
// and returns it. Other certificates of the chain are ignored: the cluster
// has no intermediates.
func VerifyPeer(caCert *x509.Certificate, chain [][]byte) (*x509.Certificate, error) {
	if len(chain) == 0 {
		return nil, errors.New("peer certificate: none presented")
	}
	leaf, err := x509.ParseCertificate(chain[0])
	if err != nil {
		return nil, fmt.Errorf("peer certificate: %w", err)
	}
	roots := x509.NewCertPool()
	roots.AddCert(caCert)
	opts := x509.VerifyOptions{
		Roots:     roots,
		KeyUsages: []x509.ExtKeyUsage{x509.ExtKeyUsageAny},
	}
	if _, err := leaf.Verify(opts); err != nil {
		return nil, fmt.Errorf("peer certificate: %w", err)
	}
	return leaf, nil
}

// CADigest is the digest of a CA certificate as a join token carries it, in
// Docker's form: the SHA-256 of the DER as a lower-case base-36 number,
// left-padded with '0' to 50 characters.
func CADigest(certDER []byte) string {
	sum := sha256.Sum256(certDER)
	return ident.Base36(sum[:], digestLen)
}

// EncodeCertPEM wraps a certificate DER in a "CERTIFICATE" PEM block.
func EncodeCertPEM(der []byte) []byte {
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
}

// EncodeKeyPEM encodes key as PKCS#8 in a "PRIVATE KEY" PEM block.
func EncodeKeyPEM(key *ecdsa.PrivateKey) ([]byte, error) {
	der, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode key: %w", err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: der}), nil
}

// NewKey generates an ECDSA P-256 key.
func NewKey(rand io.Reader) (*ecdsa.PrivateKey, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand)
	if err != nil {
		return nil, fmt.Errorf("generate key: %w", err)
	}
	return key, nil
}

func knownOU(ou string) bool {
	switch ou {
	case OUWorker, OUManager, OUAdmin:
		return true
	}
	return false
}

// newSerial returns a random positive serial number of at most 128 bits.
func newSerial(rand io.Reader) (*big.Int, error) {
	n, err := cryptorand.Int(rand, new(big.Int).Lsh(big.NewInt(1), 128))
	if err != nil {
		return nil, fmt.Errorf("serial number: %w", err)
	}
	if n.Sign() == 0 {
		// x509 rejects a zero serial; one in 2^128 draws lands here.
		n.SetInt64(1)
	}
	return n, nil
}
