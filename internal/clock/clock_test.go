package clock

import (
	"strings"
	"testing"
	"time"
)

// TestMoveDate: a moved time has the date moved and the monotonic reading
// kept, as time.Now() after the system clock was set; the test fails if
// the time package changes the layout moveDate relies on.
func TestMoveDate(t *testing.T) {
	for _, d := range []time.Duration{time.Hour, -time.Hour, 90 * time.Second, -24 * time.Hour * 365} {
		now := time.Now()
		m := moveDate(now, d)
		if got := m.UnixNano() - now.UnixNano(); got != int64(d) {
			t.Errorf("%s: date moved by %s", d, time.Duration(got))
		}
		if got := m.Sub(now); got != 0 {
			t.Errorf("%s: monotonic reading moved by %s", d, got)
		}
		if !strings.Contains(m.String(), " m=") {
			t.Errorf("%s: the monotonic reading is gone: %s", d, m)
		}
		if since := time.Since(m); since < 0 || since > time.Minute {
			t.Errorf("%s: time.Since of the moved time is %s", d, since)
		}
		if got := m.Round(0).Sub(now.Round(0)); got != d {
			t.Errorf("%s: dates are %s apart", d, got)
		}
	}
	plain := time.Unix(1_700_000_000, 5)
	if got := moveDate(plain, time.Hour); !got.Equal(plain.Add(time.Hour)) {
		t.Errorf("a time without a monotonic reading moved to %s, want %s", got, plain.Add(time.Hour))
	}
}

func TestSkew(t *testing.T) {
	defer SetSkew(0)
	SetSkew(-time.Hour)
	before := time.Now()
	n := Now()
	if off := n.UnixNano() - before.UnixNano(); off > int64(-time.Hour+time.Second) || off < int64(-time.Hour) {
		t.Errorf("Now is %s from the system clock, want -1h", time.Duration(off))
	}
	if d := n.Sub(before); d < 0 || d > time.Second {
		t.Errorf("the skew moved durations: %s between two readings", d)
	}
	if got := (Real{}).Now(); got.Round(0).Before(before.Add(-time.Hour-time.Second).Round(0)) || got.Round(0).After(before.Add(-time.Hour+time.Second).Round(0)) {
		t.Errorf("Real.Now() = %s, not skewed", got)
	}
	SetSkew(0)
	if off := Now().Sub(time.Now()); off > 0 || off < -time.Second {
		t.Errorf("after SetSkew(0) Now is %s off", off)
	}
}
