package cluster

import (
	"crypto/rand"
	"errors"
	"strings"
	"testing"

	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

const (
	worker  = swarmv1.NodeRole_NODE_ROLE_WORKER
	manager = swarmv1.NodeRole_NODE_ROLE_MANAGER
)

func testCAKeyDER(t *testing.T) (*CA, []byte) {
	t.Helper()
	ca := newTestCA(t, "c1")
	keyDER, err := ca.KeyDER()
	if err != nil {
		t.Fatal(err)
	}
	return ca, keyDER
}

func TestTokenParseGenerated(t *testing.T) {
	ca, keyDER := testCAKeyDER(t)
	for _, role := range []swarmv1.NodeRole{worker, manager} {
		t.Run(role.String(), func(t *testing.T) {
			stored, secret, err := NewTokenSecret(rand.Reader, keyDER, role)
			if err != nil {
				t.Fatal(err)
			}
			tok := TokenFor(ca.CertDER, keyDER, role, stored)
			for _, in := range []string{tok, " " + tok + "\n"} {
				d, s, err := ParseToken(in)
				if err != nil {
					t.Fatalf("ParseToken(%q): %v", in, err)
				}
				if d != CADigest(ca.CertDER) || s != secret {
					t.Errorf("ParseToken(%q) = %q, %q, want %q, %q", in, d, s, CADigest(ca.CertDER), secret)
				}
			}
		})
	}
}

func TestTokenParseMalformed(t *testing.T) {
	digest := strings.Repeat("a", 50)
	secret := strings.Repeat("0", 25)
	good := "SWMTKN-1-" + digest + "-" + secret
	if _, _, err := ParseToken(good); err != nil {
		t.Fatalf("ParseToken(%q): %v", good, err)
	}
	tests := []struct {
		name string
		in   string
	}{
		{"empty", ""},
		{"only spaces", "   "},
		{"prefix only", "SWMTKN-1-"},
		{"wrong prefix", "SWMTKEN-1-" + digest + "-" + secret},
		{"lower-case prefix", "swmtkn-1-" + digest + "-" + secret},
		{"version 2", "SWMTKN-2-" + digest + "-" + secret},
		{"no secret", "SWMTKN-1-" + digest},
		{"empty secret", "SWMTKN-1-" + digest + "-"},
		{"short digest", "SWMTKN-1-" + digest[1:] + "-" + secret},
		{"long digest", "SWMTKN-1-" + digest + "a-" + secret},
		{"short secret", "SWMTKN-1-" + digest + "-" + secret[1:]},
		{"long secret", "SWMTKN-1-" + digest + "-" + secret + "0"},
		{"upper-case digest", "SWMTKN-1-" + strings.ToUpper(digest) + "-" + secret},
		{"upper-case secret", "SWMTKN-1-" + digest + "-" + strings.Repeat("A", 25)},
		{"extra dash", "SWMTKN-1-" + digest + "-" + secret + "-"},
		{"extra field", "SWMTKN-1-" + digest + "-" + secret + "-" + secret},
		{"dash inside digest", "SWMTKN-1-" + digest[:25] + "-" + digest[25:] + "-" + secret},
		{"trailing junk", good + " x"},
		{"leading junk", "x" + good},
		{"non-ASCII", "SWMTKN-1-" + digest + "-" + secret[:24] + "é"},
		{"space inside", "SWMTKN-1-" + digest + "- " + secret[1:]},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, s, err := ParseToken(tc.in)
			if !errors.Is(err, ErrMalformedToken) {
				t.Fatalf("ParseToken(%q) error = %v, want ErrMalformedToken", tc.in, err)
			}
			if d != "" || s != "" {
				t.Errorf("ParseToken(%q) returned %q, %q with an error", tc.in, d, s)
			}
		})
	}
}

func TestTokenFormat(t *testing.T) {
	got := FormatToken("d", "s")
	if got != "SWMTKN-1-d-s" {
		t.Errorf("FormatToken = %q, want SWMTKN-1-d-s", got)
	}
}

func TestSecretDerive(t *testing.T) {
	_, keyDER := testCAKeyDER(t)
	_, otherKeyDER := testCAKeyDER(t)
	nonce := []byte("0123456789abcdef")
	otherNonce := []byte("fedcba9876543210")
	base := DeriveSecret(keyDER, worker, nonce)

	if len(base) != 25 || !isBase36(base) {
		t.Fatalf("DeriveSecret = %q, want 25 characters of 0-9a-z", base)
	}
	if again := DeriveSecret(keyDER, worker, nonce); again != base {
		t.Errorf("DeriveSecret not deterministic: %q then %q", base, again)
	}
	differ := []struct {
		name  string
		key   []byte
		role  swarmv1.NodeRole
		nonce []byte
	}{
		{"other role", keyDER, manager, nonce},
		{"unspecified role", keyDER, swarmv1.NodeRole_NODE_ROLE_UNSPECIFIED, nonce},
		{"other nonce", keyDER, worker, otherNonce},
		{"no nonce", keyDER, worker, nil},
		{"other CA key", otherKeyDER, worker, nonce},
	}
	for _, tc := range differ {
		t.Run(tc.name, func(t *testing.T) {
			got := DeriveSecret(tc.key, tc.role, tc.nonce)
			if len(got) != 25 || !isBase36(got) {
				t.Errorf("DeriveSecret = %q, want 25 characters of 0-9a-z", got)
			}
			if got == base {
				t.Errorf("DeriveSecret = %q, same as the worker secret", got)
			}
		})
	}
}

func TestSecretNew(t *testing.T) {
	_, keyDER := testCAKeyDER(t)
	stored, secret, err := NewTokenSecret(rand.Reader, keyDER, manager)
	if err != nil {
		t.Fatal(err)
	}
	if len(stored.GetNonce()) != 16 || len(stored.GetHash()) != 32 {
		t.Errorf("stored nonce %d bytes, hash %d bytes, want 16 and 32", len(stored.GetNonce()), len(stored.GetHash()))
	}
	if want := DeriveSecret(keyDER, manager, stored.GetNonce()); secret != want {
		t.Errorf("secret = %q, want the derived %q", secret, want)
	}

	bad := []struct {
		name string
		rand *strings.Reader
		role swarmv1.NodeRole
	}{
		{"unspecified role", strings.NewReader(strings.Repeat("x", 16)), swarmv1.NodeRole_NODE_ROLE_UNSPECIFIED},
		{"short randomness", strings.NewReader("short"), worker},
	}
	for _, tc := range bad {
		t.Run(tc.name, func(t *testing.T) {
			if _, _, err := NewTokenSecret(tc.rand, keyDER, tc.role); err == nil {
				t.Error("NewTokenSecret succeeded")
			}
		})
	}
}

func TestSecretCheck(t *testing.T) {
	_, keyDER := testCAKeyDER(t)
	stored, secret, err := NewTokenSecret(rand.Reader, keyDER, worker)
	if err != nil {
		t.Fatal(err)
	}
	rotated, rotatedSecret, err := NewTokenSecret(rand.Reader, keyDER, worker)
	if err != nil {
		t.Fatal(err)
	}
	managerStored, managerSecret, err := NewTokenSecret(rand.Reader, keyDER, manager)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		name   string
		stored *swarmv1.JoinTokenSecret
		secret string
		want   bool
	}{
		{"right secret", stored, secret, true},
		{"rotated: old secret", rotated, secret, false},
		{"rotated: new secret", rotated, rotatedSecret, true},
		{"manager secret for worker", stored, managerSecret, false},
		{"manager secret for manager", managerStored, managerSecret, true},
		{"empty secret", stored, "", false},
		{"nil stored", nil, secret, false},
		{"empty stored", &swarmv1.JoinTokenSecret{}, secret, false},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if got := CheckSecret(tc.stored, tc.secret); got != tc.want {
				t.Errorf("CheckSecret = %v, want %v", got, tc.want)
			}
		})
	}
}

func TestTokenForRoundTrip(t *testing.T) {
	ca, keyDER := testCAKeyDER(t)
	other := newTestCA(t, "c1")
	workerStored, _, err := NewTokenSecret(rand.Reader, keyDER, worker)
	if err != nil {
		t.Fatal(err)
	}
	managerStored, _, err := NewTokenSecret(rand.Reader, keyDER, manager)
	if err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		role   swarmv1.NodeRole
		stored *swarmv1.JoinTokenSecret
		wrong  *swarmv1.JoinTokenSecret
	}{
		{worker, workerStored, managerStored},
		{manager, managerStored, workerStored},
	}
	for _, tc := range tests {
		t.Run(tc.role.String(), func(t *testing.T) {
			tok := TokenFor(ca.CertDER, keyDER, tc.role, tc.stored)
			if again := TokenFor(ca.CertDER, keyDER, tc.role, tc.stored); again != tok {
				t.Errorf("TokenFor not stable: %q then %q", tok, again)
			}
			digest, secret, err := ParseToken(tok)
			if err != nil {
				t.Fatalf("ParseToken(%q): %v", tok, err)
			}
			if digest != CADigest(ca.CertDER) {
				t.Errorf("digest %q does not pin the CA", digest)
			}
			if digest == CADigest(other.CertDER) {
				t.Errorf("digest %q also pins another CA", digest)
			}
			if !CheckSecret(tc.stored, secret) {
				t.Error("CheckSecret rejects the rebuilt secret")
			}
			if CheckSecret(tc.wrong, secret) {
				t.Error("CheckSecret accepts the secret for the other role")
			}
		})
	}
}
