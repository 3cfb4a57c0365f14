// Package clock is the seam between code that reads time and its tests: the
// real clock for production, a manual one (clocktest) for tests. It holds no
// state of its own.
package clock

import "time"

// Clock tells the time.
type Clock interface {
	Now() time.Time
}

// Real is the system clock.
type Real struct{}

// Now returns time.Now().
func (Real) Now() time.Time { return time.Now() }
