package service

import (
	"bufio"
	"bytes"
	"encoding/base64"
	"unicode/utf8"

	"decnet/internal/event"
)

// This file holds the text helpers every service needs for attacker input: one
// rendering of hostile bytes for event fields and echoed replies, and one bounded
// line reader for line-based protocols.

// Printable renders attacker text for an event field, or for a reply that echoes
// it: event.SafeTerminal's escaping, so printable text (non-ASCII letters and
// emoji too) is unchanged, a backslash becomes `\\`, and control bytes, C1
// controls, line and paragraph separators, byte-order marks, bidirectional
// controls and invalid UTF-8 become `\xNN`, one escape per byte. The result is one
// line, and distinct inputs give distinct results.
//
// With limit > 0, s is cut to at most limit bytes before it is escaped, so an
// escape is never split; when the cut would split a valid UTF-8 character, the
// whole character is left out. The escaped result can be up to four times longer
// than the bytes it keeps. A cut is silent: nothing is appended, and a cut result
// is always a prefix of Printable(s, 0). Callers that must show that a value was
// cut say so in a field of their own (truncated=true, a size). With limit <= 0
// nothing is cut.
func Printable(s string, limit int) string {
	return event.SafeTerminal(Cut(s, limit))
}

// Cut returns the first limit bytes of s at most, ending on a UTF-8 character
// boundary: a valid multi-byte character that the limit would split is left out
// whole (invalid bytes are cut exactly at the limit). With limit <= 0, or when s is
// not longer than limit, s is returned unchanged.
func Cut(s string, limit int) string {
	if limit <= 0 || len(s) <= limit {
		return s
	}
	if utf8.RuneStart(s[limit]) {
		return s[:limit]
	}
	// s[limit] continues a character; find where it started.
	for i := limit - 1; i >= 0 && i > limit-utf8.UTFMax; i-- {
		if !utf8.RuneStart(s[i]) {
			continue
		}
		if r, n := utf8.DecodeRuneInString(s[i:]); (r != utf8.RuneError || n > 1) && i+n > limit {
			return s[:i]
		}
		break
	}
	return s[:limit]
}

// SetPrintable sets f[key] to Printable(raw, 0) and, when that is not raw itself
// (something was escaped), f[key+"_b64"] to the exact bytes in standard base64.
// The caller bounds raw.
func SetPrintable(f map[string]string, key, raw string) {
	SetPrintableLimit(f, key, raw, 0)
}

// SetPrintableLimit is SetPrintable for a value cut at limit bytes (see Printable):
// f[key] is Printable(raw, limit), and f[key+"_b64"], set only when escaping changed
// the bytes kept, holds exactly those bytes (raw cut as f[key] is). A value that was
// only cut gets no _b64 field.
func SetPrintableLimit(f map[string]string, key, raw string, limit int) {
	kept := Cut(raw, limit)
	p := event.SafeTerminal(kept)
	f[key] = p
	if p != kept {
		f[key+"_b64"] = base64.StdEncoding.EncodeToString([]byte(kept))
	}
}

// ReadLine reads one line ending in LF from r; the LF and a CR before it are
// dropped. A line longer than max bytes is read to its end, but only its first max
// bytes are returned, with tooLong set, so a client cannot make a session hold more
// than max bytes. When the stream ends or fails before an LF, ReadLine returns the
// bytes read so far with the error (io.EOF at a clean end).
func ReadLine(r *bufio.Reader, max int) (line []byte, tooLong bool, err error) {
	for {
		frag, err := r.ReadSlice('\n')
		if len(line)+len(frag) > max {
			if room := max - len(line); room > 0 {
				line = append(line, frag[:room]...)
			}
			tooLong = true
		} else {
			line = append(line, frag...)
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err != nil {
			return line, tooLong, err
		}
		break
	}
	line = bytes.TrimSuffix(line, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	return line, tooLong, nil
}

// PrintableFields returns a copy of an event's raw fields, as a library such as
// internal/shell reports them, made ready for Emit: each field named in keys gets
// SetPrintable (unless the reporter already set its _b64 field), and a "password"
// field is made printable, with its exact bytes in "secret_b64" unless the reporter
// set that. Other fields are copied as they are.
func PrintableFields(fields map[string]string, keys ...string) map[string]string {
	f := make(map[string]string, len(fields)+len(keys)+1)
	for k, v := range fields {
		f[k] = v
	}
	for _, k := range keys {
		if raw, ok := fields[k]; ok && fields[k+"_b64"] == "" {
			SetPrintable(f, k, raw)
		}
	}
	if pw, ok := fields["password"]; ok {
		f["password"] = Printable(pw, 0)
		if fields["secret_b64"] == "" {
			f["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(pw))
		}
	}
	return f
}
