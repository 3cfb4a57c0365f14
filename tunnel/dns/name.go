package dns

import (
	"fmt"
	"strings"
)

// parseName reads the uncompressed name at off of a question and returns
// its presentation form and the offset after it.
func parseName(msg []byte, off int) (string, int, error) {
	start := off
	// Each wire octet takes at most 4 bytes escaped (\DDD).
	var arr [4 * maxNameLen]byte
	b := arr[:0]
	for {
		if off >= len(msg) {
			return "", 0, &ParseError{Section: "question", Offset: len(msg), Err: ErrShortMessage}
		}
		l := int(msg[off])
		switch l & 0xC0 {
		case 0xC0:
			return "", 0, &ParseError{Section: "question", Offset: off, Err: ErrCompressed}
		case 0x40, 0x80:
			return "", 0, &ParseError{Section: "question", Offset: off, Err: ErrLabelType}
		}
		if l == 0 {
			off++
			break
		}
		// The name so far, this label and the root octet must fit.
		if off+1+l-start+1 > maxNameLen {
			return "", 0, &ParseError{Section: "question", Offset: off, Err: ErrNameTooLong}
		}
		if len(msg)-off-1 < l {
			return "", 0, &ParseError{Section: "question", Offset: len(msg), Err: ErrShortMessage}
		}
		b = appendLabel(b, msg[off+1:off+1+l])
		b = append(b, '.')
		off += 1 + l
	}
	if len(b) == 0 {
		return ".", off, nil
	}
	return string(b), off, nil
}

// skipName returns the offset after the possibly compressed name at off.
// A compression pointer ends the name and is not followed.
func skipName(msg []byte, off int, section string) (int, error) {
	start := off
	for {
		if off >= len(msg) {
			return 0, &ParseError{Section: section, Offset: len(msg), Err: ErrShortMessage}
		}
		l := int(msg[off])
		switch l & 0xC0 {
		case 0xC0:
			if len(msg)-off < 2 {
				return 0, &ParseError{Section: section, Offset: len(msg), Err: ErrShortMessage}
			}
			return off + 2, nil
		case 0x40, 0x80:
			return 0, &ParseError{Section: section, Offset: off, Err: ErrLabelType}
		}
		if l == 0 {
			return off + 1, nil
		}
		if off+1+l-start+1 > maxNameLen {
			return 0, &ParseError{Section: section, Offset: off, Err: ErrNameTooLong}
		}
		off += 1 + l
	}
}

// appendLabel appends the presentation form of a wire label.
func appendLabel(b, label []byte) []byte {
	for _, c := range label {
		switch {
		case c == '.' || c == '\\':
			b = append(b, '\\', c)
		case c < '!' || c > '~':
			b = append(b, '\\', '0'+c/100, '0'+c/10%10, '0'+c%10)
		default:
			b = append(b, c)
		}
	}
	return b
}

// appendName appends the wire form of a presentation name (trailing dot
// optional, "." is the root), undoing appendLabel's escapes; "\X" stands
// for X.
func appendName(dst []byte, name string) ([]byte, error) {
	if name == "" {
		return dst, fmt.Errorf("name %q: %w", name, ErrEmptyLabel)
	}
	start := len(dst)
	if name != "." {
		lenAt := -1 // where the open label's length octet is
		for i := 0; i < len(name); i++ {
			c := name[i]
			switch c {
			case '.':
				if lenAt < 0 {
					return dst[:start], fmt.Errorf("name %q: %w", name, ErrEmptyLabel)
				}
				if err := closeLabel(dst, lenAt); err != nil {
					return dst[:start], fmt.Errorf("name %q: %w", name, err)
				}
				lenAt = -1
				continue
			case '\\':
				var n int
				var ok bool
				if c, n, ok = unescape(name[i+1:]); !ok {
					return dst[:start], fmt.Errorf("name %q: %w", name, ErrBadEscape)
				}
				i += n
			}
			if lenAt < 0 {
				lenAt = len(dst)
				dst = append(dst, 0)
			}
			dst = append(dst, c)
		}
		if lenAt >= 0 {
			if err := closeLabel(dst, lenAt); err != nil {
				return dst[:start], fmt.Errorf("name %q: %w", name, err)
			}
		}
	}
	dst = append(dst, 0)
	if len(dst)-start > maxNameLen {
		return dst[:start], fmt.Errorf("name %q: %w", name, ErrNameTooLong)
	}
	return dst, nil
}

func closeLabel(dst []byte, lenAt int) error {
	l := len(dst) - lenAt - 1
	if l > maxLabelLen {
		return ErrLabelTooLong
	}
	dst[lenAt] = byte(l)
	return nil
}

// unescape reads what follows a backslash: three decimal digits up to 255,
// or one other byte. It returns the byte and how many bytes it read.
func unescape(s string) (byte, int, bool) {
	if s == "" {
		return 0, 0, false
	}
	if !isDigit(s[0]) {
		return s[0], 1, true
	}
	if len(s) < 3 || !isDigit(s[1]) || !isDigit(s[2]) {
		return 0, 0, false
	}
	v := int(s[0]-'0')*100 + int(s[1]-'0')*10 + int(s[2]-'0')
	if v > 255 {
		return 0, 0, false
	}
	return byte(v), 3, true
}

func isDigit(c byte) bool { return '0' <= c && c <= '9' }

// canonicalName is the form names are looked up in: ASCII lower case, no
// trailing dot, "" for the root.
func canonicalName(name string) string {
	name = strings.TrimSuffix(name, ".")
	for i := 0; i < len(name); i++ {
		if 'A' <= name[i] && name[i] <= 'Z' {
			b := []byte(name)
			for j := i; j < len(b); j++ {
				if 'A' <= b[j] && b[j] <= 'Z' {
					b[j] += 'a' - 'A'
				}
			}
			return string(b)
		}
	}
	return name
}
