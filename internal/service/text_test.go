package service

import (
	"bufio"
	"encoding/base64"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
	"unicode/utf8"
)

func TestPrintable(t *testing.T) {
	for _, tc := range []struct {
		in    string
		limit int
		want  string
	}{
		{"admin", 0, "admin"},
		{"", 0, ""},
		{"héllo wörld ✓ 🙂", 0, "héllo wörld ✓ 🙂"},
		{`a\b`, 0, `a\\b`},
		{`\x41`, 0, `\\x41`}, // an escape-looking input stays distinct from the byte it names
		{"admin\x1b[2J", 0, `admin\x1b[2J`},
		{"a\r\nb\tc\x00\x7f", 0, `a\x0d\x0ab\x09c\x00\x7f`},
		{"bad\xff\xfeutf8", 0, `bad\xff\xfeutf8`},
		{"c1\u0085x", 0, `c1\xc2\x85x`},
		{"bidi\u202eevil", 0, `bidi\xe2\x80\xaeevil`},
		{"sep\u2028x", 0, `sep\xe2\x80\xa8x`},
		{"bom\ufeff", 0, `bom\xef\xbb\xbf`},
		{`quote"and]`, 0, `quote"and]`}, // SD-PARAM escaping is the codec's job, not this one
		// Cuts happen on the input, never inside an escape or a character.
		{"abcdef", 3, "abc"},
		{"abc", 3, "abc"},
		{"abc", -1, "abc"},
		{"\x00\x01\x02\x03", 2, `\x00\x01`},
		{`\\\\`, 3, `\\\\\\`},
		{"aé", 2, "a"},         // é is 2 bytes; the cut would split it
		{"aé", 3, "aé"},        // fits exactly
		{"a🙂b", 4, "a"},        // 4-byte emoji split at any point is left out
		{"a🙂b", 2, "a"},        //
		{"a🙂b", 5, "a🙂"},       //
		{"é", 1, ""},           // nothing whole fits
		{"a\xffb", 2, `a\xff`}, // invalid bytes are cut exactly
		{"a\xe2\x80x", 2, `a\xe2`},
		{"a\x80\x80\x80\x80", 3, `a\x80\x80`}, // stray continuation bytes are cut exactly
	} {
		if got := Printable(tc.in, tc.limit); got != tc.want {
			t.Errorf("Printable(%q, %d) = %q, want %q", tc.in, tc.limit, got, tc.want)
		}
	}
}

func TestSetPrintable(t *testing.T) {
	for _, tc := range []struct {
		raw     string
		limit   int
		want    string
		wantB64 string // decoded; "" means no _b64 field
	}{
		{"root", 0, "root", ""},
		{"root\x00", 0, `root\x00`, "root\x00"},
		{"pa\\ss", 0, `pa\\ss`, "pa\\ss"},
		{"ünïcode", 0, "ünïcode", ""},
		{"abcdef", 4, "abcd", ""},              // only cut: no _b64
		{"ab\x01def", 4, `ab\x01d`, "ab\x01d"}, // _b64 holds the bytes kept
		{"abcd\x01", 4, "abcd", ""},            // the escaped byte was cut away
		{"a\x01é", 3, `a\x01`, "a\x01"},        // cut before the split character
		{"\xff\xfe", 1, `\xff`, "\xff"},        //
		{strings.Repeat("x", 10), 0, strings.Repeat("x", 10), ""},
	} {
		f := map[string]string{}
		if tc.limit == 0 {
			SetPrintable(f, "username", tc.raw)
		} else {
			SetPrintableLimit(f, "username", tc.raw, tc.limit)
		}
		if f["username"] != tc.want {
			t.Errorf("%q cut at %d: username = %q, want %q", tc.raw, tc.limit, f["username"], tc.want)
		}
		b64, ok := f["username_b64"]
		if ok != (tc.wantB64 != "") {
			t.Errorf("%q cut at %d: username_b64 present = %v, want %v", tc.raw, tc.limit, ok, !ok)
			continue
		}
		if ok {
			got, err := base64.StdEncoding.DecodeString(b64)
			if err != nil || string(got) != tc.wantB64 {
				t.Errorf("%q cut at %d: username_b64 = %q (%v), want %q", tc.raw, tc.limit, got, err, tc.wantB64)
			}
		}
		if len(f) > 2 {
			t.Errorf("%q: set unexpected fields %v", tc.raw, f)
		}
	}
}

func TestReadLine(t *testing.T) {
	type res struct {
		line    string
		tooLong bool
		err     error
	}
	for _, tc := range []struct {
		name string
		in   string
		max  int
		want []res
	}{
		{"crlf and lf", "USER a\r\nPASS b\nQUIT\r\n", 100, []res{{"USER a", false, nil}, {"PASS b", false, nil}, {"QUIT", false, nil}, {"", false, io.EOF}}},
		{"only the last CR goes", "a\r\r\n", 100, []res{{"a\r", false, nil}}},
		{"bare CR is kept", "a\rb\n", 100, []res{{"a\rb", false, nil}}},
		{"empty line", "\r\n", 100, []res{{"", false, nil}}},
		{"unterminated", "partial", 100, []res{{"partial", false, io.EOF}}},
		{"exactly max", "abcd\r\n", 6, []res{{"abcd", false, nil}}},
		{"too long is consumed whole", "abcdefgh\r\nnext\r\n", 6, []res{{"abcdef", true, nil}, {"next", false, nil}}},
		{"cut inside CRLF", "abcd\r\n", 5, []res{{"abcd", true, nil}}},
		{"longer than the reader's buffer", strings.Repeat("x", 5000) + "\nok\n", 100, []res{{strings.Repeat("x", 100), true, nil}, {"ok", false, nil}}},
		{"long line within max", strings.Repeat("y", 5000) + "\n", 8000, []res{{strings.Repeat("y", 5000), false, nil}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := bufio.NewReaderSize(strings.NewReader(tc.in), 16)
			for i, w := range tc.want {
				line, tooLong, err := ReadLine(r, tc.max)
				if string(line) != w.line || tooLong != w.tooLong || !errors.Is(err, w.err) {
					t.Fatalf("read %d = %q, %v, %v; want %q, %v, %v", i, line, tooLong, err, w.line, w.tooLong, w.err)
				}
			}
		})
	}
}

// FuzzPrintable checks the properties callers rely on: the result is one line of
// valid UTF-8 without control bytes, a cut keeps a prefix of the input on a
// character boundary, and a cut result is a prefix of the uncut one.
func FuzzPrintable(f *testing.F) {
	for _, s := range []string{"", "root", "a\\b", "\x00\xff", "aé🙂", "\u202e\u2028\ufeff", "\r\n\t"} {
		f.Add(s, 0)
		f.Add(s, 2)
	}
	f.Fuzz(func(t *testing.T, s string, limit int) {
		limit %= 64
		full := Printable(s, 0)
		got := Printable(s, limit)
		if !strings.HasPrefix(full, got) {
			t.Fatalf("Printable(%q, %d) = %q is not a prefix of %q", s, limit, got, full)
		}
		if !utf8.ValidString(got) {
			t.Fatalf("Printable(%q, %d) = %q is not valid UTF-8", s, limit, got)
		}
		for _, r := range got {
			if r < 0x20 || r == 0x7f || (r >= 0x80 && r < 0xa0) || r == 0x2028 || r == 0x2029 {
				t.Fatalf("Printable(%q, %d) = %q holds %U", s, limit, got, r)
			}
		}
		kept := Cut(s, limit)
		if !strings.HasPrefix(s, kept) || (limit > 0 && len(kept) > limit) || (limit <= 0 && kept != s) {
			t.Fatalf("Cut(%q, %d) = %q", s, limit, kept)
		}
		if limit > 0 && len(s) > limit && limit-len(kept) >= utf8.UTFMax {
			t.Fatalf("Cut(%q, %d) = %q dropped more than one character", s, limit, kept)
		}
		if utf8.ValidString(s) && !utf8.ValidString(kept) {
			t.Fatalf("Cut(%q, %d) = %q split a character", s, limit, kept)
		}
	})
}

// FuzzReadLine checks ReadLine's bounds on arbitrary streams: no line is longer
// than max or holds an LF, tooLong is set exactly when the line was longer, and the
// lines with their terminators account for the whole input.
func FuzzReadLine(f *testing.F) {
	f.Add("USER a\r\nPASS b\r\n", 8)
	f.Add(strings.Repeat("x", 40)+"\n", 16)
	f.Add("\n\n\r\n", 1)
	f.Add("no newline", 3)
	f.Fuzz(func(t *testing.T, in string, max int) {
		if max < 1 || max > 256 {
			max = 1 + (max&0xff+256)%256
		}
		r := bufio.NewReaderSize(strings.NewReader(in), 16)
		rest := in
		for {
			line, tooLong, err := ReadLine(r, max)
			if len(line) > max || strings.ContainsRune(string(line), '\n') {
				t.Fatalf("line %q breaks max %d", line, max)
			}
			raw, after, found := strings.Cut(rest, "\n")
			if err != nil {
				if found || !errors.Is(err, io.EOF) {
					t.Fatalf("error %v with %q left", err, rest)
				}
				if tooLong != (len(raw) > max) {
					t.Fatalf("tooLong = %v for %q at max %d", tooLong, raw, max)
				}
				return
			}
			if !found {
				t.Fatalf("line %q returned without an LF in %q", line, rest)
			}
			if tooLong != (len(raw)+1 > max) {
				t.Fatalf("tooLong = %v for %q at max %d", tooLong, raw, max)
			}
			if want := strings.TrimSuffix(raw, "\r"); !tooLong && string(line) != want {
				t.Fatalf("line = %q, want %q", line, want)
			}
			if tooLong && !strings.HasPrefix(raw+"\n", string(line)) {
				t.Fatalf("cut line %q is not a prefix of %q", line, raw)
			}
			rest = after
		}
	})
}

func TestPrintableFields(t *testing.T) {
	b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
	for _, tc := range []struct {
		name   string
		fields map[string]string
		want   map[string]string
	}{
		{"clean text is copied",
			map[string]string{"command": "uname -a", "origin": "pipe"},
			map[string]string{"command": "uname -a", "origin": "pipe"}},
		{"hostile text is escaped with its bytes",
			map[string]string{"command": "echo \x1b[2J", "url": "http://x/\xff", "tool": "wget"},
			map[string]string{"command": `echo \x1b[2J`, "command_b64": b64("echo \x1b[2J"), "url": `http://x/\xff`, "url_b64": b64("http://x/\xff"), "tool": "wget"}},
		{"a field not in keys is left alone",
			map[string]string{"crontab": "* * * * * x\n"},
			map[string]string{"crontab": "* * * * * x\n"}},
		{"a reporter's own _b64 wins",
			map[string]string{"command": "as is\x00", "command_b64": "cHJlc2V0"},
			map[string]string{"command": "as is\x00", "command_b64": "cHJlc2V0"}},
		{"a password gets secret_b64",
			map[string]string{"username": "root", "password": "hunter2\\", "secret_kind": "plaintext"},
			map[string]string{"username": "root", "password": `hunter2\\`, "secret_b64": b64("hunter2\\"), "secret_kind": "plaintext"}},
		{"a reporter's secret_b64 wins",
			map[string]string{"password": "pw", "secret_b64": "c2VjcmV0"},
			map[string]string{"password": "pw", "secret_b64": "c2VjcmV0"}},
	} {
		in := make(map[string]string, len(tc.fields))
		for k, v := range tc.fields {
			in[k] = v
		}
		got := PrintableFields(tc.fields, "command", "username", "url")
		if !reflect.DeepEqual(got, tc.want) {
			t.Errorf("%s: PrintableFields = %q, want %q", tc.name, got, tc.want)
		}
		if !reflect.DeepEqual(tc.fields, in) {
			t.Errorf("%s: PrintableFields changed its input: %q", tc.name, tc.fields)
		}
	}
}
