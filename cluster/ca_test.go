package cluster

import (
	"bytes"
	"crypto/ecdsa"
	"crypto/rand"
	"crypto/sha256"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"slices"
	"testing"
	"time"

	"github.com/actorswarm/swarm/internal/ident"
)

var testNow = time.Date(2025, 3, 1, 12, 0, 0, 0, time.UTC)

func newTestCA(t *testing.T, clusterID string) *CA {
	t.Helper()
	// Certificates are checked by x509.Verify against the wall clock, so the
	// CA is made valid around the real now.
	ca, err := NewCA(clusterID, time.Now(), rand.Reader)
	if err != nil {
		t.Fatalf("NewCA: %v", err)
	}
	return ca
}

func issueTestLeaf(t *testing.T, ca *CA, cn, ou string) []byte {
	t.Helper()
	key, err := NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	der, err := ca.Issue(key.Public(), cn, ou, nil, time.Now(), rand.Reader)
	if err != nil {
		t.Fatalf("Issue: %v", err)
	}
	return der
}

func TestNewCA(t *testing.T) {
	ca, err := NewCA("c1", testNow, rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	c := ca.Cert
	if !c.IsCA || !c.BasicConstraintsValid {
		t.Errorf("IsCA = %v, BasicConstraintsValid = %v, want both true", c.IsCA, c.BasicConstraintsValid)
	}
	if c.Subject.CommonName != "swarm-ca" || !slices.Equal(c.Subject.Organization, []string{"c1"}) {
		t.Errorf("subject = %v, want CN=swarm-ca O=c1", c.Subject)
	}
	if got := ca.ClusterID(); got != "c1" {
		t.Errorf("ClusterID() = %q, want c1", got)
	}
	if want := x509.KeyUsageCertSign | x509.KeyUsageCRLSign; c.KeyUsage != want {
		t.Errorf("KeyUsage = %v, want %v", c.KeyUsage, want)
	}
	if want := testNow.Add(-time.Hour); !c.NotBefore.Equal(want) {
		t.Errorf("NotBefore = %v, want %v", c.NotBefore, want)
	}
	if want := testNow.Add(-time.Hour).AddDate(20, 0, 0); !c.NotAfter.Equal(want) {
		t.Errorf("NotAfter = %v, want %v", c.NotAfter, want)
	}
	if c.SerialNumber.Sign() <= 0 || c.SerialNumber.BitLen() > 128 {
		t.Errorf("serial %v is not a positive 128-bit number", c.SerialNumber)
	}
	if err := c.CheckSignatureFrom(c); err != nil {
		t.Errorf("not self-signed: %v", err)
	}
	if !ca.Key.PublicKey.Equal(c.PublicKey) {
		t.Error("key does not match certificate")
	}
	if _, err := NewCA("", testNow, rand.Reader); err == nil {
		t.Error("NewCA with empty cluster ID succeeded")
	}
}

func TestParseCA(t *testing.T) {
	ca := newTestCA(t, "c1")
	other := newTestCA(t, "c2")
	keyDER, err := ca.KeyDER()
	if err != nil {
		t.Fatal(err)
	}
	otherKeyDER, err := other.KeyDER()
	if err != nil {
		t.Fatal(err)
	}
	leafDER := issueTestLeaf(t, ca, "n1", OUManager)

	got, err := ParseCA(ca.CertDER, keyDER)
	if err != nil {
		t.Fatalf("ParseCA: %v", err)
	}
	if !bytes.Equal(got.CertDER, ca.CertDER) || !got.Key.Equal(ca.Key) {
		t.Error("ParseCA did not round-trip the CA")
	}

	bad := []struct {
		name    string
		cert    []byte
		key     []byte
		wantErr bool
	}{
		{"garbage cert", []byte("nope"), keyDER, true},
		{"garbage key", ca.CertDER, []byte("nope"), true},
		{"key of another CA", ca.CertDER, otherKeyDER, true},
		{"leaf as CA", leafDER, keyDER, true},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ParseCA(tc.cert, tc.key); (err != nil) != tc.wantErr {
				t.Errorf("ParseCA error = %v, want error %v", err, tc.wantErr)
			}
		})
	}
}

func TestCAIssue(t *testing.T) {
	ca := newTestCA(t, "c1")
	ips := []net.IP{net.ParseIP("10.0.0.1").To4(), net.ParseIP("fd00::1")}
	tests := []struct {
		cn string
		ou string
	}{
		{"n1", OUWorker},
		{"n2", OUManager},
		{"admin", OUAdmin},
	}
	for _, tc := range tests {
		t.Run(tc.ou, func(t *testing.T) {
			key, err := NewKey(rand.Reader)
			if err != nil {
				t.Fatal(err)
			}
			der, err := ca.Issue(key.Public(), tc.cn, tc.ou, ips, testNow, rand.Reader)
			if err != nil {
				t.Fatalf("Issue: %v", err)
			}
			c, err := x509.ParseCertificate(der)
			if err != nil {
				t.Fatal(err)
			}
			if c.Subject.CommonName != tc.cn || !slices.Equal(c.Subject.Organization, []string{"c1"}) {
				t.Errorf("subject = %v, want CN=%s O=c1", c.Subject, tc.cn)
			}
			role, err := CertRole(c)
			if err != nil || role != tc.ou {
				t.Errorf("CertRole = %q, %v, want %q", role, err, tc.ou)
			}
			if !slices.Equal(c.DNSNames, []string{tc.cn}) {
				t.Errorf("DNSNames = %v, want [%s]", c.DNSNames, tc.cn)
			}
			if !slices.EqualFunc(c.IPAddresses, ips, net.IP.Equal) {
				t.Errorf("IPAddresses = %v, want %v", c.IPAddresses, ips)
			}
			if c.IsCA {
				t.Error("leaf is a CA")
			}
			if c.KeyUsage != x509.KeyUsageDigitalSignature {
				t.Errorf("KeyUsage = %v, want DigitalSignature", c.KeyUsage)
			}
			wantEKU := []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth, x509.ExtKeyUsageClientAuth}
			if !slices.Equal(c.ExtKeyUsage, wantEKU) {
				t.Errorf("ExtKeyUsage = %v, want %v", c.ExtKeyUsage, wantEKU)
			}
			if want := testNow.Add(-time.Hour); !c.NotBefore.Equal(want) {
				t.Errorf("NotBefore = %v, want %v", c.NotBefore, want)
			}
			if want := testNow.Add(-time.Hour).AddDate(10, 0, 0); !c.NotAfter.Equal(want) {
				t.Errorf("NotAfter = %v, want %v", c.NotAfter, want)
			}
			if err := c.CheckSignatureFrom(ca.Cert); err != nil {
				t.Errorf("not signed by the CA: %v", err)
			}
			if !key.PublicKey.Equal(c.PublicKey) {
				t.Error("leaf does not carry the given public key")
			}
		})
	}
}

func TestCAIssueRejects(t *testing.T) {
	ca := newTestCA(t, "c1")
	key, err := NewKey(rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name string
		pub  any
		cn   string
		ou   string
	}{
		{"unknown role", key.Public(), "n1", "swarm-root"},
		{"empty role", key.Public(), "n1", ""},
		{"empty common name", key.Public(), "", OUWorker},
		{"nil key", nil, "n1", OUWorker},
		{"unsupported key", "not a key", "n1", OUWorker},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if _, err := ca.Issue(tc.pub, tc.cn, tc.ou, nil, testNow, rand.Reader); err == nil {
				t.Error("Issue succeeded")
			}
		})
	}
}

func TestCertRole(t *testing.T) {
	tests := []struct {
		name    string
		ous     []string
		want    string
		wantErr bool
	}{
		{"worker", []string{OUWorker}, OUWorker, false},
		{"manager", []string{OUManager}, OUManager, false},
		{"admin", []string{OUAdmin}, OUAdmin, false},
		{"none", nil, "", true},
		{"two", []string{OUWorker, OUManager}, "", true},
		{"unknown", []string{"swarm-root"}, "", true},
		{"case differs", []string{"Swarm-Worker"}, "", true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			c := &x509.Certificate{Subject: pkix.Name{OrganizationalUnit: tc.ous}}
			got, err := CertRole(c)
			if (err != nil) != tc.wantErr || got != tc.want {
				t.Errorf("CertRole = %q, %v, want %q (error %v)", got, err, tc.want, tc.wantErr)
			}
		})
	}
}

func TestCAVerifyPeer(t *testing.T) {
	ca := newTestCA(t, "c1")
	other := newTestCA(t, "c1") // same cluster ID, different key
	leaf := issueTestLeaf(t, ca, "n1", OUWorker)
	foreign := issueTestLeaf(t, other, "n1", OUWorker)

	tests := []struct {
		name    string
		chain   [][]byte
		wantErr bool
	}{
		{"issued by the CA", [][]byte{leaf}, false},
		{"extra certificates ignored", [][]byte{leaf, foreign}, false},
		{"issued by another CA", [][]byte{foreign}, true},
		{"another CA's leaf first", [][]byte{foreign, leaf}, true},
		{"empty chain", nil, true},
		{"garbage", [][]byte{[]byte("nope")}, true},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := VerifyPeer(ca.Cert, tc.chain)
			if (err != nil) != tc.wantErr {
				t.Fatalf("VerifyPeer error = %v, want error %v", err, tc.wantErr)
			}
			if err == nil && !bytes.Equal(got.Raw, tc.chain[0]) {
				t.Error("VerifyPeer returned a certificate other than the leaf")
			}
		})
	}
}

func TestCAPEMRoundTrip(t *testing.T) {
	ca := newTestCA(t, "c1")

	block, rest := pem.Decode(EncodeCertPEM(ca.CertDER))
	if block == nil || block.Type != "CERTIFICATE" || len(rest) != 0 {
		t.Fatalf("EncodeCertPEM: block %v, %d trailing bytes", block, len(rest))
	}
	if !bytes.Equal(block.Bytes, ca.CertDER) {
		t.Error("certificate PEM did not round-trip")
	}

	keyPEM, err := EncodeKeyPEM(ca.Key)
	if err != nil {
		t.Fatal(err)
	}
	block, rest = pem.Decode(keyPEM)
	if block == nil || block.Type != "PRIVATE KEY" || len(rest) != 0 {
		t.Fatalf("EncodeKeyPEM: block %v, %d trailing bytes", block, len(rest))
	}
	k, err := x509.ParsePKCS8PrivateKey(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if key, ok := k.(*ecdsa.PrivateKey); !ok || !key.Equal(ca.Key) {
		t.Error("key PEM did not round-trip")
	}
}

func TestCADigest(t *testing.T) {
	a := newTestCA(t, "c1")
	b := newTestCA(t, "c1")
	tests := []struct {
		name string
		der  []byte
	}{
		{"empty", nil},
		{"ca a", a.CertDER},
		{"ca b", b.CertDER},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d := CADigest(tc.der)
			if len(d) != 50 || !isBase36(d) {
				t.Fatalf("CADigest = %q, want 50 characters of 0-9a-z", d)
			}
			n, ok := new(big.Int).SetString(d, 36)
			if !ok {
				t.Fatalf("CADigest %q is not base 36", d)
			}
			sum := sha256.Sum256(tc.der)
			if n.Cmp(new(big.Int).SetBytes(sum[:])) != 0 {
				t.Errorf("CADigest %q is not the SHA-256 of the DER", d)
			}
			if again := CADigest(tc.der); again != d {
				t.Errorf("CADigest not deterministic: %q then %q", d, again)
			}
		})
	}
	if CADigest(a.CertDER) == CADigest(b.CertDER) {
		t.Error("two CAs have the same digest")
	}
}

func TestCADigestBase36Padding(t *testing.T) {
	tests := []struct {
		in    []byte
		width int
		want  string
	}{
		{nil, 3, "000"},
		{[]byte{35}, 3, "00z"},
		{[]byte{36}, 3, "010"},
		{[]byte{0xff, 0xff}, 2, "1ekf"},
	}
	for _, tc := range tests {
		if got := ident.Base36(tc.in, tc.width); got != tc.want {
			t.Errorf("Base36(%x, %d) = %q, want %q", tc.in, tc.width, got, tc.want)
		}
	}
}
