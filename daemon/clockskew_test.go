package daemon

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

func TestReadClockSkew(t *testing.T) {
	dir := t.TempDir()
	if d, err := readClockSkew(filepath.Join(dir, "none")); d != 0 || err != nil {
		t.Errorf("missing file: %s, %v; want no skew", d, err)
	}
	for _, c := range []struct {
		text string
		want time.Duration
		err  string
	}{
		{text: "", want: 0},
		{text: "-1h\n", want: -time.Hour},
		{text: " 90s ", want: 90 * time.Second},
		{text: "0", want: 0},
		{text: "an hour", err: "not a duration"},
		{text: "9000h", err: "more than a year"},
		{text: "-9000h", err: "more than a year"},
	} {
		path := filepath.Join(dir, "skew")
		if err := os.WriteFile(path, []byte(c.text), 0o644); err != nil {
			t.Fatal(err)
		}
		d, err := readClockSkew(path)
		switch {
		case c.err != "" && (err == nil || !strings.Contains(err.Error(), c.err)):
			t.Errorf("%q: %s, %v; want an error about %q", c.text, d, err, c.err)
		case c.err == "" && (err != nil || d != c.want):
			t.Errorf("%q: %s, %v; want %s", c.text, d, err, c.want)
		}
	}
}
