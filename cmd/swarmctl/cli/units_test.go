package cli_test

import (
	"fmt"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/actorswarm/swarm/cmd/swarmctl/cli"
	"github.com/actorswarm/swarm/cmd/swarmctl/cli/clitest"
)

// TestHumanDuration holds docker's wording at and around every threshold.
func TestHumanDuration(t *testing.T) {
	const day = 24 * time.Hour
	durations := []time.Duration{
		-5 * time.Second, 0, 999 * time.Millisecond,
		time.Second, 1999 * time.Millisecond, 2 * time.Second, 59 * time.Second,
		time.Minute, 119 * time.Second, 2 * time.Minute, 59*time.Minute + 59*time.Second,
		time.Hour, 89 * time.Minute, 90 * time.Minute, 2 * time.Hour, 47 * time.Hour, 47*time.Hour + 29*time.Minute, 47*time.Hour + 30*time.Minute,
		2 * day, 13 * day, 14 * day, 59 * day, 60 * day, 364 * day, 729 * day, 730 * day, 3 * 365 * day,
	}
	var b strings.Builder
	for _, d := range durations {
		fmt.Fprintf(&b, "%-14s %s\n", d, cli.HumanDuration(d))
	}
	clitest.Golden(t, "human-durations", b.String())
}

func TestAgo(t *testing.T) {
	now := clitest.Now()
	tests := []struct {
		t    time.Time
		want string
	}{
		{now.Add(-11 * time.Second), "11 seconds ago"},
		{now.Add(-5 * time.Minute), "5 minutes ago"},
		{now.Add(3 * time.Second), "Less than a second ago"}, // another host's clock runs ahead
	}
	for _, tt := range tests {
		if got := cli.Ago(now, tt.t); got != tt.want {
			t.Errorf("Ago(now, now%+v) = %q, want %q", tt.t.Sub(now), got, tt.want)
		}
	}
}

func TestBytesSize(t *testing.T) {
	tests := []struct {
		in   float64
		want string
	}{
		{0, "0B"},
		{1, "1B"},
		{1023, "1023B"},
		{1024, "1KiB"},
		{1536, "1.5KiB"},
		{512 * 1024 * 1024, "512MiB"},
		{25_200_000_000, "23.47GiB"},
		{3 << 40, "3TiB"},
	}
	for _, tt := range tests {
		if got := cli.BytesSize(tt.in); got != tt.want {
			t.Errorf("BytesSize(%v) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestPrettyTime(t *testing.T) {
	tests := []struct {
		nano int64
		want string
	}{
		{0, "0001-01-01 00:00:00 +0000 utc"},
		{time.Date(2024, 2, 28, 9, 30, 15, 123456789, time.UTC).UnixNano(), "2024-02-28 09:30:15.123456789 +0000 utc"},
		{time.Date(2024, 2, 28, 9, 30, 15, 0, time.FixedZone("CET", 3600)).UnixNano(), "2024-02-28 08:30:15 +0000 utc"},
	}
	for _, tt := range tests {
		if got := cli.PrettyTime(cli.TimeFromUnixNano(tt.nano)); got != tt.want {
			t.Errorf("PrettyTime(%d) = %q, want %q", tt.nano, got, tt.want)
		}
	}
}

func TestNaturalLess(t *testing.T) {
	names := []string{"node-10", "node-2", "b", "node-1", "node-02", "a10", "a9", "node-1b", "node-1a", "", "node"}
	want := []string{"", "a9", "a10", "b", "node", "node-1", "node-1a", "node-1b", "node-2", "node-02", "node-10"}
	slices.SortFunc(names, func(a, b string) int {
		switch {
		case cli.NaturalLess(a, b):
			return -1
		case cli.NaturalLess(b, a):
			return 1
		}
		return 0
	})
	if !slices.Equal(names, want) {
		t.Errorf("sorted %q, want %q", names, want)
	}
}

func TestRAMInBytes(t *testing.T) {
	good := map[string]int64{
		"0": 0, "1048576": 1 << 20, "512m": 512 << 20, "512M": 512 << 20, "1g": 1 << 30, "1G": 1 << 30,
		"1.5g": 3 << 29, "2k": 2048, "2kb": 2048, "2KiB": 2048, "1 gb": 1 << 30, "10b": 10, "1t": 1 << 40,
	}
	for s, want := range good {
		if got, err := cli.RAMInBytes(s); err != nil || got != want {
			t.Errorf("RAMInBytes(%q) = %d, %v; want %d", s, got, err, want)
		}
	}
	for _, s := range []string{"", "m", "-1m", "1x", "1.2.3g", "0x10", "1e3", "Inf", "1gg", "12 34"} {
		if got, err := cli.RAMInBytes(s); err == nil || err.Error() != "invalid size: '"+s+"'" {
			t.Errorf("RAMInBytes(%q) = %d, %v; want invalid size", s, got, err)
		}
	}
}
