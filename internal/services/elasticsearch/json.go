package elasticsearch

import (
	"crypto/sha256"
	"encoding/hex"
	"math"
	"strconv"
	"strings"
	"unicode/utf8"
)

// obj is an ordered JSON object: Elasticsearch's documents have a fixed key order
// that clients and scanners see (nmap's match reads the root document by order).
type obj []kv

type kv struct {
	k string
	v any
}

// render writes v as Elasticsearch's XContent does: compact, or pretty-printed the
// Jackson way ES configures (2-space indent, `"key" : value`, arrays one item per
// line, `{ }` and `[ ]` when empty). Floats keep a fractional part (1.0).
func render(v any, pretty bool) []byte {
	var b strings.Builder
	write(&b, v, pretty, 0)
	return []byte(b.String())
}

func indent(b *strings.Builder, n int) {
	b.WriteByte('\n')
	for i := 0; i < n; i++ {
		b.WriteString("  ")
	}
}

func write(b *strings.Builder, v any, pretty bool, depth int) {
	switch x := v.(type) {
	case nil:
		b.WriteString("null")
	case string:
		quote(b, x)
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case int:
		b.WriteString(strconv.Itoa(x))
	case int64:
		b.WriteString(strconv.FormatInt(x, 10))
	case float64:
		b.WriteString(formatFloat(x))
	case obj:
		if len(x) == 0 {
			if pretty {
				b.WriteString("{ }")
			} else {
				b.WriteString("{}")
			}
			return
		}
		b.WriteByte('{')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if pretty {
				indent(b, depth+1)
			}
			quote(b, e.k)
			if pretty {
				b.WriteString(" : ")
			} else {
				b.WriteByte(':')
			}
			write(b, e.v, pretty, depth+1)
		}
		if pretty {
			indent(b, depth)
		}
		b.WriteByte('}')
	case []any:
		if len(x) == 0 {
			if pretty {
				b.WriteString("[ ]")
			} else {
				b.WriteString("[]")
			}
			return
		}
		b.WriteByte('[')
		for i, e := range x {
			if i > 0 {
				b.WriteByte(',')
			}
			if pretty {
				indent(b, depth+1)
			}
			write(b, e, pretty, depth+1)
		}
		if pretty {
			indent(b, depth)
		}
		b.WriteByte(']')
	case []string:
		a := make([]any, len(x))
		for i, s := range x {
			a[i] = s
		}
		write(b, a, pretty, depth)
	default:
		b.WriteString("null")
	}
}

func formatFloat(f float64) string {
	if math.IsNaN(f) || math.IsInf(f, 0) {
		return "null"
	}
	s := strconv.FormatFloat(f, 'f', -1, 64)
	if !strings.ContainsAny(s, ".eE") {
		s += ".0"
	}
	return s
}

// quote writes s as a JSON string the way Jackson escapes it: `"` and `\`,
// control characters as \uXXXX (\n, \t, \r, \b, \f short forms), invalid UTF-8
// as U+FFFD; '/', '<', '>' and '&' stay as they are.
func quote(b *strings.Builder, s string) {
	const hexd = "0123456789ABCDEF"
	b.WriteByte('"')
	for i := 0; i < len(s); {
		r, n := utf8.DecodeRuneInString(s[i:])
		i += n
		switch {
		case r == '"':
			b.WriteString(`\"`)
		case r == '\\':
			b.WriteString(`\\`)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\r':
			b.WriteString(`\r`)
		case r == '\t':
			b.WriteString(`\t`)
		case r == '\b':
			b.WriteString(`\b`)
		case r == '\f':
			b.WriteString(`\f`)
		case r < 0x20:
			b.WriteString(`\u00`)
			b.WriteByte(hexd[r>>4])
			b.WriteByte(hexd[r&0xf])
		default:
			b.WriteRune(r) // RuneError for invalid bytes writes U+FFFD
		}
	}
	b.WriteByte('"')
}

// derivedHex is n hex digits derived from label: stable ids and hashes.
func derivedHex(label string, n int) string {
	var out string
	for i := 0; len(out) < n; i++ {
		sum := sha256.Sum256([]byte(label + "\x00" + strconv.Itoa(i)))
		out += hex.EncodeToString(sum[:])
	}
	return out[:n]
}
