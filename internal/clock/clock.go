// Package clock is the seam between code that reads time and its tests: the
// real clock for production, a manual one (clocktest) for tests, and a
// process-wide skew of the wall clock (SetSkew) with which a benchmark makes
// one daemon's clock jump without touching the machine's.
package clock

import (
	"sync/atomic"
	"time"
	"unsafe"
)

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Real is the system clock, moved by the process's skew (see Now).
type Real struct{}

// Now returns Now().
func (Real) Now() time.Time { return Now() }

// skew is what Now adds to the wall clock, in nanoseconds: zero but in a
// daemon a benchmark told to jump (swarmd --clock-skew-file).
var skew atomic.Int64

// SetSkew moves the wall clock that Now reads by d from the system's, as if
// the system clock had been set: dates jump, durations measured across the
// change do not (they use the monotonic clock, which no one sets).
func SetSkew(d time.Duration) { skew.Store(int64(d)) }

// Skew returns the skew SetSkew set.
func Skew() time.Duration { return time.Duration(skew.Load()) }

// Now returns the time as this process reads it: time.Now(), its date
// moved by the skew and its monotonic reading left alone, which is what
// time.Now() returns after the system clock was set. Code that stamps or
// compares dates of the cluster reads it, so that a benchmark can make one
// daemon's clock jump.
func Now() time.Time {
	t := time.Now()
	if d := skew.Load(); d != 0 {
		return moveDate(t, time.Duration(d))
	}
	return t
}

// The layout of a time.Time with a monotonic reading (see the time
// package): wall holds a flag, the seconds since 1885 (33 bits) and the
// nanoseconds (30 bits); ext the monotonic reading. TestMoveDate fails if
// the time package changes it.
type timeLayout struct {
	wall uint64
	ext  int64
	loc  *time.Location
}

const (
	hasMonotonic = 1 << 63
	nsecBits     = 30
	secBits      = 33
	wallSec1885  = 59453308800 // seconds from year 1 to 1885, the wall field's epoch
)

// moveDate returns t with its date moved by d and its monotonic reading
// kept. A time without one (or a date the wall field cannot hold) is
// simply moved: with no monotonic reading there is nothing to keep.
func moveDate(t time.Time, d time.Duration) time.Time {
	p := (*timeLayout)(unsafe.Pointer(&t))
	if p.wall&hasMonotonic == 0 {
		return t.Add(d)
	}
	moved := t.Add(d).Round(0) // the date wanted, as seconds and nanoseconds
	sec := moved.Unix() + 62135596800 - wallSec1885
	if sec < 0 || sec >= 1<<secBits {
		return moved
	}
	p.wall = hasMonotonic | uint64(sec)<<nsecBits | uint64(moved.Nanosecond())
	return t
}
