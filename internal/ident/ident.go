// Package ident makes the random identifiers of the cluster: 25-character
// base-36 object IDs in the style of Docker Swarm (node, service, task and
// cluster IDs). It holds no state; every function is safe for concurrent use.
package ident

import (
	"crypto/rand"
	"encoding/binary"
	"math/big"
	"math/bits"
	"strings"
)

// Len is the length of an ID.
const Len = 25

// New returns a fresh random ID: 128 random bits written in base 36,
// left-padded to 25 characters.
func New() string {
	var b [16]byte
	if _, err := rand.Read(b[:]); err != nil {
		panic("ident: crypto/rand failed: " + err.Error())
	}
	return base36x128(binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]))
}

// base36x128 is Base36 of the 128-bit number hi·2⁶⁴+lo at width Len
// (which holds any such number) without a big.Int: New runs for every
// task, a million times when a big swarm starts.
func base36x128(hi, lo uint64) string {
	const digits = "0123456789abcdefghijklmnopqrstuvwxyz"
	var out [Len]byte
	for i := Len - 1; i >= 0; i-- {
		var r uint64
		hi, r = hi/36, hi%36
		lo, r = bits.Div64(r, lo, 36)
		out[i] = digits[r]
	}
	return string(out[:])
}

// Base36 writes b as a big-endian number in base 36, left-padded with '0'
// to width characters.
func Base36(b []byte, width int) string {
	s := new(big.Int).SetBytes(b).Text(36)
	if len(s) >= width {
		return s
	}
	return strings.Repeat("0", width-len(s)) + s
}

// Valid reports whether s looks like an ID (for validating user input).
func Valid(s string) bool {
	if len(s) != Len {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= '0' && c <= '9' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}
