package cli

import (
	"fmt"
	"strconv"
	"strings"
	"time"
	"unicode"
)

// HumanDuration words d the way docker does in "Running 5 minutes ago"
// (go-units' HumanDuration): "Less than a second", "1 second", "N seconds",
// "About a minute", "N minutes", "About an hour", "N hours", "N days",
// "N weeks", "N months", "N years".
func HumanDuration(d time.Duration) string {
	seconds := int(d.Seconds())
	minutes := int(d.Minutes())
	hours := int(d.Hours() + 0.5) // rounded, unlike the units below it
	switch {
	case seconds < 1:
		return "Less than a second"
	case seconds == 1:
		return "1 second"
	case seconds < 60:
		return fmt.Sprintf("%d seconds", seconds)
	case minutes == 1:
		return "About a minute"
	case minutes < 60:
		return fmt.Sprintf("%d minutes", minutes)
	case hours == 1:
		return "About an hour"
	case hours < 48:
		return fmt.Sprintf("%d hours", hours)
	case hours < 24*7*2:
		return fmt.Sprintf("%d days", hours/24)
	case hours < 24*30*2:
		return fmt.Sprintf("%d weeks", hours/24/7)
	case hours < 24*365*2:
		return fmt.Sprintf("%d months", hours/24/30)
	}
	return fmt.Sprintf("%d years", int(d.Hours())/24/365)
}

// Ago words how long before now t was: "5 minutes ago". A t after now
// (clocks of two hosts disagree) is "Less than a second ago".
func Ago(now, t time.Time) string {
	return HumanDuration(now.Sub(t)) + " ago"
}

// TimeFromUnixNano turns a *_unix_nano field into a UTC time; zero stays
// the zero time.
func TimeFromUnixNano(nano int64) time.Time {
	if nano == 0 {
		return time.Time{}
	}
	return time.Unix(0, nano).UTC()
}

// PrettyTime prints t as docker's --pretty output does ("Joined at",
// "Created at"): Go's time format with only the first letter upper-case,
// "2024-03-01 10:20:30.123456789 +0000 utc".
func PrettyTime(t time.Time) string {
	return Capitalize(t.UTC().String())
}

// Capitalize upper-cases the first letter of s and lower-cases the rest, as
// docker's pretty printer does for states and enums ("READY" → "Ready").
func Capitalize(s string) string {
	if s == "" {
		return s
	}
	r := []rune(strings.ToLower(s))
	r[0] = unicode.ToUpper(r[0])
	return string(r)
}

var binarySizeUnits = []string{"B", "KiB", "MiB", "GiB", "TiB", "PiB", "EiB", "ZiB", "YiB"}

// BytesSize prints a size in binary units with four significant digits as
// docker does ("23.47GiB", "512MiB", "1B").
func BytesSize(size float64) string {
	i := 0
	for size >= 1024 && i < len(binarySizeUnits)-1 {
		size /= 1024
		i++
	}
	return fmt.Sprintf("%.4g%s", size, binarySizeUnits[i])
}

// NaturalLess orders strings with their runs of digits compared as
// numbers, so node-2 sorts before node-10 (docker sorts names this way).
func NaturalLess(a, b string) bool {
	for a != "" && b != "" {
		da, db := digitPrefix(a), digitPrefix(b)
		if da == "" || db == "" {
			if a[0] != b[0] {
				return a[0] < b[0]
			}
			a, b = a[1:], b[1:]
			continue
		}
		na, nb := strings.TrimLeft(da, "0"), strings.TrimLeft(db, "0")
		if len(na) != len(nb) {
			return len(na) < len(nb)
		}
		if na != nb {
			return na < nb
		}
		if len(da) != len(db) { // same number, fewer leading zeros first
			return len(da) < len(db)
		}
		a, b = a[len(da):], b[len(db):]
	}
	return len(a) < len(b)
}

func digitPrefix(s string) string {
	i := 0
	for i < len(s) && s[i] >= '0' && s[i] <= '9' {
		i++
	}
	return s[:i]
}

// binaryMultipliers are the units of RAMInBytes, in powers of 1024.
var binaryMultipliers = map[string]float64{"": 1, "k": 1 << 10, "m": 1 << 20, "g": 1 << 30, "t": 1 << 40, "p": 1 << 50}

// RAMInBytes reads a size the way docker's memory flags do: a number,
// possibly with a fraction, then optionally a space and a unit b, k, m,
// g, t or p (powers of 1024, any case), which may be followed by "b" or
// "ib": "512m", "1g", "1.5GiB", "1048576".
func RAMInBytes(s string) (int64, error) {
	number := strings.TrimRightFunc(s, func(r rune) bool { return !unicode.IsDigit(r) })
	unit := strings.ToLower(strings.TrimPrefix(s[len(number):], " "))
	unit = strings.TrimSuffix(strings.TrimSuffix(unit, "b"), "i")
	mul, ok := binaryMultipliers[unit]
	size, err := strconv.ParseFloat(number, 64)
	if !ok || err != nil || strings.Trim(number, "0123456789.") != "" {
		return -1, fmt.Errorf("invalid size: '%s'", s)
	}
	return int64(size * mul), nil
}
