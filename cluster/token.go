package cluster

import (
	"crypto/hmac"
	"crypto/sha256"
	"crypto/subtle"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/actorswarm/swarm/internal/ident"
	swarmv1 "github.com/actorswarm/swarm/messages/actorswarm/v1"
)

// tokenPrefix starts every join token; the 1 is the format version.
const tokenPrefix = "SWMTKN-1-"

// Secret sizes: secretLen base-36 characters hold the first secretBytes bytes
// of the MAC (36^25 > 2^128).
const (
	secretLen   = 25
	secretBytes = 16
	nonceBytes  = 16
)

// secretKeyLabel separates the join-token key derived from the CA key from
// any other use of that key material.
const secretKeyLabel = "actorswarm join token"

// ErrMalformedToken is wrapped by every ParseToken error.
var ErrMalformedToken = errors.New("invalid join token")

// ParseToken splits a join token SWMTKN-1-<digest>-<secret> into the CA
// digest (50 characters) and the secret (25 characters), both of 0-9a-z.
// Surrounding white space is ignored; anything else that does not fit is an
// error wrapping ErrMalformedToken.
func ParseToken(s string) (digest, secret string, err error) {
	s = strings.TrimSpace(s)
	if s == "" {
		return "", "", fmt.Errorf("%w: empty", ErrMalformedToken)
	}
	rest, ok := strings.CutPrefix(s, tokenPrefix)
	if !ok {
		return "", "", fmt.Errorf("%w: does not start with %s", ErrMalformedToken, tokenPrefix)
	}
	parts := strings.Split(rest, "-")
	if len(parts) != 2 {
		return "", "", fmt.Errorf("%w: want %s<digest>-<secret>", ErrMalformedToken, tokenPrefix)
	}
	digest, secret = parts[0], parts[1]
	if len(digest) != digestLen || !isBase36(digest) {
		return "", "", fmt.Errorf("%w: CA digest must be %d characters of 0-9a-z", ErrMalformedToken, digestLen)
	}
	if len(secret) != secretLen || !isBase36(secret) {
		return "", "", fmt.Errorf("%w: secret must be %d characters of 0-9a-z", ErrMalformedToken, secretLen)
	}
	return digest, secret, nil
}

// FormatToken builds a join token from a CA digest and a secret.
func FormatToken(digest, secret string) string {
	return tokenPrefix + digest + "-" + secret
}

// DeriveSecret computes a role's join-token secret from the CA key and the
// stored nonce, so that any manager can show the token again while only its
// hash is stored. It is HMAC-SHA256 keyed with
// sha256("actorswarm join token" || caKeyDER) over the role name ("worker" or
// "manager") followed by the nonce, truncated to 16 bytes and written as 25
// base-36 characters.
func DeriveSecret(caKeyDER []byte, role swarmv1.NodeRole, nonce []byte) string {
	h := sha256.New()
	h.Write([]byte(secretKeyLabel))
	h.Write(caKeyDER)
	mac := hmac.New(sha256.New, h.Sum(nil))
	mac.Write([]byte(roleName(role)))
	mac.Write(nonce)
	return ident.Base36(mac.Sum(nil)[:secretBytes], secretLen)
}

// NewTokenSecret draws a fresh nonce for role and returns what to store (the
// nonce and the hash of the secret) and the secret itself. role must be
// worker or manager.
func NewTokenSecret(rand io.Reader, caKeyDER []byte, role swarmv1.NodeRole) (*swarmv1.JoinTokenSecret, string, error) {
	if role != swarmv1.NodeRole_NODE_ROLE_WORKER && role != swarmv1.NodeRole_NODE_ROLE_MANAGER {
		return nil, "", fmt.Errorf("new join token secret: role %s has no token", role)
	}
	nonce := make([]byte, nonceBytes)
	if _, err := io.ReadFull(rand, nonce); err != nil {
		return nil, "", fmt.Errorf("new join token secret: %w", err)
	}
	secret := DeriveSecret(caKeyDER, role, nonce)
	sum := sha256.Sum256([]byte(secret))
	return &swarmv1.JoinTokenSecret{Nonce: nonce, Hash: sum[:]}, secret, nil
}

// CheckSecret reports whether secret hashes to stored.Hash, in constant time.
// It is false for a nil stored secret.
func CheckSecret(stored *swarmv1.JoinTokenSecret, secret string) bool {
	if stored == nil || len(stored.GetHash()) != sha256.Size {
		return false
	}
	sum := sha256.Sum256([]byte(secret))
	return subtle.ConstantTimeCompare(sum[:], stored.GetHash()) == 1
}

// TokenFor rebuilds the full join token of role from the CA and the stored
// nonce.
func TokenFor(caCertDER, caKeyDER []byte, role swarmv1.NodeRole, stored *swarmv1.JoinTokenSecret) string {
	return FormatToken(CADigest(caCertDER), DeriveSecret(caKeyDER, role, stored.GetNonce()))
}

// roleName is the name mixed into a secret; roles without a token keep the
// enum name so they still never collide with worker or manager.
func roleName(role swarmv1.NodeRole) string {
	switch role {
	case swarmv1.NodeRole_NODE_ROLE_WORKER:
		return "worker"
	case swarmv1.NodeRole_NODE_ROLE_MANAGER:
		return "manager"
	}
	return role.String()
}

func isBase36(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if (c < '0' || c > '9') && (c < 'a' || c > 'z') {
			return false
		}
	}
	return true
}
