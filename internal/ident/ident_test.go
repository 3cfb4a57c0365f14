package ident

import (
	"crypto/rand"
	"encoding/binary"
	"testing"
)

// TestBase36x128MatchesBase36: New's fast conversion writes what Base36
// writes, for the extremes and random numbers.
func TestBase36x128MatchesBase36(t *testing.T) {
	cases := [][16]byte{{}, {15: 1}, {0: 0x80}}
	var max [16]byte
	for i := range max {
		max[i] = 0xff
	}
	cases = append(cases, max)
	for range 1000 {
		var b [16]byte
		rand.Read(b[:])
		cases = append(cases, b)
	}
	for _, b := range cases {
		want := Base36(b[:], Len)
		got := base36x128(binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:]))
		if got != want {
			t.Fatalf("base36x128(%x) = %q, want %q", b, got, want)
		}
	}
}

func TestNewIsValid(t *testing.T) {
	seen := make(map[string]bool)
	for range 1000 {
		id := New()
		if !Valid(id) {
			t.Fatalf("New() = %q, not a valid ID", id)
		}
		if seen[id] {
			t.Fatalf("New() gave %q twice", id)
		}
		seen[id] = true
	}
}

func BenchmarkNew(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		New()
	}
}

func BenchmarkNewBigInt(b *testing.B) {
	b.ReportAllocs()
	for b.Loop() {
		var r [16]byte
		rand.Read(r[:])
		Base36(r[:], Len)
	}
}
