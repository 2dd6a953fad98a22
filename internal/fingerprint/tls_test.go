package fingerprint

import (
	"bytes"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"slices"
	"testing"
	"testing/iotest"
	"time"
)

// goClientHello returns the records a crypto/tls client sends first.
func goClientHello(t testing.TB, cfg *tls.Config) []byte {
	t.Helper()
	a, b := net.Pipe()
	defer a.Close()
	defer b.Close()
	go func() {
		c := tls.Client(a, cfg)
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Handshake() // fails when b closes; only the hello matters
	}()
	b.SetDeadline(time.Now().Add(5 * time.Second))
	raw, ch, err := ReadClientHello(b, 1<<16)
	if err != nil || ch == nil {
		t.Fatalf("read Go client hello: %v", err)
	}
	return raw
}

func TestParseGoClientHello(t *testing.T) {
	raw := goClientHello(t, &tls.Config{ServerName: "example.com", NextProtos: []string{"h2", "http/1.1"}, MinVersion: tls.VersionTLS12})
	ch, err := ParseClientHelloRecords(raw)
	if err != nil {
		t.Fatal(err)
	}
	if ch.ServerName != "example.com" {
		t.Errorf("SNI %q", ch.ServerName)
	}
	if len(ch.ALPN) != 2 || string(ch.ALPN[0]) != "h2" || string(ch.ALPN[1]) != "http/1.1" {
		t.Errorf("ALPN %q", ch.ALPN)
	}
	if ch.Version != tls.VersionTLS12 || ch.RecordVersion != tls.VersionTLS10 {
		t.Errorf("version %#x record %#x", ch.Version, ch.RecordVersion)
	}
	if !slices.Contains(ch.SupportedVersions, tls.VersionTLS13) || !slices.Contains(ch.SupportedVersions, tls.VersionTLS12) {
		t.Errorf("supported versions %x", ch.SupportedVersions)
	}
	if !slices.Contains(ch.CipherSuites, tls.TLS_AES_128_GCM_SHA256) || len(ch.SupportedGroups) == 0 || len(ch.SignatureAlgorithms) == 0 {
		t.Errorf("ciphers %x groups %x sigalgs %x", ch.CipherSuites, ch.SupportedGroups, ch.SignatureAlgorithms)
	}
	if len(ch.Random) != 32 || !bytes.Equal(ch.Compression, []byte{0}) || !ch.HasExtensions {
		t.Errorf("random %d bytes, compression %v, extensions %v", len(ch.Random), ch.Compression, ch.HasExtensions)
	}
	j := JA4(ch, TCP)
	if j.JA4[:4] != "t13d" || j.JA4[8:10] != "h2" {
		t.Errorf("JA4 %s", j.JA4)
	}
}

// TestParseClientHelloMalformed cuts a real hello at every length and flips
// its lengths: the parser must refuse cleanly, never panic or read past the end.
func TestParseClientHelloMalformed(t *testing.T) {
	raw := goClientHello(t, &tls.Config{ServerName: "a.example"})
	msgs, _, err := HandshakeMessages(raw)
	if err != nil || len(msgs) != 1 {
		t.Fatalf("HandshakeMessages: %d messages, %v", len(msgs), err)
	}
	msg := msgs[0]
	for n := range len(msg) {
		if _, err := ParseClientHello(msg[:n]); err == nil {
			t.Fatalf("a hello cut at %d of %d bytes parsed", n, len(msg))
		}
	}
	for n := range len(raw) {
		if _, err := ParseClientHelloRecords(raw[:n]); err == nil {
			t.Fatalf("records cut at %d of %d bytes parsed", n, len(raw))
		} else if n >= recordHeaderLen && !errors.Is(err, ErrIncomplete) {
			t.Fatalf("records cut at %d: %v, want ErrIncomplete", n, err)
		}
	}
	tests := []struct {
		name string
		edit func(b []byte) []byte
	}{
		{"not a ClientHello", func(b []byte) []byte { b[0] = 2; return b }},
		{"session id too long", func(b []byte) []byte { b[4+34] = 33; return b }},
		{"odd cipher list", func(b []byte) []byte {
			off := 4 + 34 + 1 + int(b[4+34])
			b[off+1] |= 1
			return b
		}},
		{"extension longer than its block", func(b []byte) []byte { b[len(b)-1] = 0xff; b[len(b)-3] = 0xff; return b[:len(b)-1] }},
	}
	for _, tc := range tests {
		b := tc.edit(bytes.Clone(msg))
		if _, err := ParseClientHello(b); err == nil {
			t.Errorf("%s: parsed", tc.name)
		}
	}
}

// hello builds a ClientHello message from parts.
func hello(version uint16, suites []uint16, exts []Extension) []byte {
	var body []byte
	body = append(body, byte(version>>8), byte(version))
	body = append(body, make([]byte, 32)...)
	body = append(body, 0) // session id
	body = append(body, byte(len(suites)*2>>8), byte(len(suites)*2))
	for _, s := range suites {
		body = append(body, byte(s>>8), byte(s))
	}
	body = append(body, 1, 0)
	if exts != nil {
		var eb []byte
		for _, e := range exts {
			eb = append(eb, byte(e.Type>>8), byte(e.Type), byte(len(e.Data)>>8), byte(len(e.Data)))
			eb = append(eb, e.Data...)
		}
		body = append(body, byte(len(eb)>>8), byte(len(eb)))
		body = append(body, eb...)
	}
	return append([]byte{1, byte(len(body) >> 16), byte(len(body) >> 8), byte(len(body))}, body...)
}

// records wraps a handshake message in TLS records of at most size bytes each.
func records(msg []byte, size int) []byte {
	var out []byte
	for len(msg) > 0 {
		n := min(size, len(msg))
		out = append(out, 22, 3, 1, byte(n>>8), byte(n))
		out = append(out, msg[:n]...)
		msg = msg[n:]
	}
	return out
}

func u16s(vs ...uint16) []byte {
	var b []byte
	for _, v := range vs {
		b = append(b, byte(v>>8), byte(v))
	}
	return b
}

func TestFragmentedAndSplit(t *testing.T) {
	msg := hello(0x0303, []uint16{0x1301, 0xc02f}, []Extension{{Type: ExtSupportedGroups, Data: append(u16s(4), u16s(0x001d, 0x0017)...)}})
	raw := records(msg, 7) // one message across many records
	ch, err := ParseClientHelloRecords(raw)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(ch.SupportedGroups, []uint16{0x001d, 0x0017}) {
		t.Errorf("groups %x", ch.SupportedGroups)
	}
	// ReadClientHello over a reader returning one byte at a time, with data after
	// the hello that it must not consume.
	r := bytes.NewReader(append(bytes.Clone(raw), 23, 3, 3, 0, 1, 0xff))
	got, ch2, err := ReadClientHello(iotest.OneByteReader(r), 4096)
	if err != nil || !bytes.Equal(got, raw) || !slices.Equal(ch2.CipherSuites, ch.CipherSuites) {
		t.Fatalf("ReadClientHello: %v, read %d of %d bytes", err, len(got), len(raw))
	}
	if r.Len() != 6 {
		t.Errorf("ReadClientHello read past the hello: %d bytes left, want 6", r.Len())
	}
	// Limits and refusals.
	if _, _, err := ReadClientHello(bytes.NewReader(raw), 20); err == nil {
		t.Error("a hello over the limit was accepted")
	}
	for name, in := range map[string][]byte{
		"plain HTTP":     []byte("GET / HTTP/1.1\r\nHost: x\r\n\r\n"),
		"SSLv2 hello":    {0x80, 0x2e, 0x01, 0x00, 0x02},
		"empty record":   {22, 3, 1, 0, 0},
		"server hello":   records(append([]byte{2}, msg[1:]...), 100),
		"huge record":    {22, 3, 1, 0xff, 0xff},
		"closed at once": {},
	} {
		got, _, err := ReadClientHello(bytes.NewReader(in), 4096)
		if err == nil {
			t.Errorf("%s: accepted", name)
		}
		if !bytes.HasPrefix(in, got) {
			t.Errorf("%s: returned bytes that were not read", name)
		}
	}
	_, _, err = ReadClientHello(bytes.NewReader(raw[:len(raw)-1]), 4096)
	if !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("a truncated hello: %v, want unexpected EOF", err)
	}
}

func TestHandshakeMessages(t *testing.T) {
	ch := hello(0x0303, []uint16{0x1301}, nil)
	two := append(bytes.Clone(ch), ch...)
	ccs := []byte{20, 3, 3, 0, 1, 1}
	tests := []struct {
		name     string
		in       []byte
		msgs     int
		consumed int
		err      error
	}{
		{"one record two messages", records(two, 1000), 2, len(two) + 5, nil},
		{"ccs then second hello", append(append(records(ch, 1000), ccs...), records(ch, 1000)...), 2, 2*(len(ch)+5) + 6, nil},
		{"stops at application data", append(records(ch, 1000), 23, 3, 3, 0, 2, 9, 9), 1, len(ch) + 5, nil},
		{"partial record", records(ch, 1000)[:10], 0, 0, ErrIncomplete},
		{"partial message", records(ch[:20], 1000), 0, 0, ErrIncomplete},
		{"not TLS", []byte("SSH-2.0-OpenSSH_9.2\r\n"), 0, 0, nil},
	}
	for _, tc := range tests {
		msgs, consumed, err := HandshakeMessages(tc.in)
		if len(msgs) != tc.msgs || consumed != tc.consumed {
			t.Errorf("%s: %d messages from %d bytes, want %d from %d (err %v)", tc.name, len(msgs), consumed, tc.msgs, tc.consumed, err)
		}
		if tc.err != nil && !errors.Is(err, tc.err) {
			t.Errorf("%s: err %v, want %v", tc.name, err, tc.err)
		}
		if tc.name == "not TLS" && err == nil {
			t.Errorf("%s: no error", tc.name)
		}
	}
}

func TestParseServerHello(t *testing.T) {
	// A TLS 1.3 ServerHello: supported_versions 0x0304, key_share, ALPN h2.
	var body []byte
	body = append(body, 3, 3)
	body = append(body, bytes.Repeat([]byte{7}, 32)...)
	body = append(body, 0, 0x13, 0x01, 0)
	ext := []Extension{
		{Type: ExtSupportedVersions, Data: u16s(0x0304)},
		{Type: 0x0033, Data: append(u16s(0x001d, 32), make([]byte, 32)...)},
		{Type: ExtALPN, Data: []byte{0, 3, 2, 'h', '2'}},
	}
	var eb []byte
	for _, e := range ext {
		eb = append(eb, u16s(e.Type, uint16(len(e.Data)))...)
		eb = append(eb, e.Data...)
	}
	body = append(body, u16s(uint16(len(eb)))...)
	body = append(body, eb...)
	msg := append([]byte{2, 0, byte(len(body) >> 8), byte(len(body))}, body...)
	sh, err := ParseServerHelloRecords(records(msg, 1000))
	if err != nil {
		t.Fatal(err)
	}
	if sh.Version != 0x0303 || sh.CipherSuite != 0x1301 || sh.SupportedVersion != 0x0304 || string(sh.ALPN) != "h2" || len(sh.Extensions) != 3 {
		t.Errorf("%+v", sh)
	}
	full, hash := JA3S(sh)
	if full != "771,4865,43-51-16" || hash != md5hex(full) {
		t.Errorf("JA3S %s %s", full, hash)
	}
	for n := range len(msg) {
		if _, err := ParseServerHello(msg[:n]); err == nil {
			t.Fatalf("a ServerHello cut at %d bytes parsed", n)
		}
	}
	if _, err := ParseServerHello(hello(0x0303, nil, nil)); err == nil {
		t.Error("a ClientHello parsed as a ServerHello")
	}
}

func TestIsGREASE(t *testing.T) {
	for v := range 0x10000 {
		want := v&0x0f0f == 0x0a0a && v>>8 == v&0xff
		if IsGREASE(uint16(v)) != want {
			t.Fatalf("IsGREASE(%#04x) = %v", v, !want)
		}
	}
	for _, v := range []uint16{0x0a0a, 0x1a1a, 0xfafa} {
		if !IsGREASE(v) {
			t.Errorf("%#04x is GREASE", v)
		}
	}
	for _, v := range []uint16{0x0a1a, 0x0000, 0xaaab, 0x1301} {
		if IsGREASE(v) {
			t.Errorf("%#04x is not GREASE", v)
		}
	}
}

// TestRecordsNeedMoreOrNotTLS: a stream cut anywhere inside its first records asks
// for more bytes; bytes that cannot start a TLS record say so from the first byte.
func TestRecordsNeedMoreOrNotTLS(t *testing.T) {
	ch := hello(0x0303, []uint16{0x1301}, []Extension{{Type: ExtServerName, Data: []byte{0, 6, 0, 0, 3, 'a', '.', 'b'}}})
	split := records(ch, 17) // one hello over several small records
	for n := 0; n < len(split); n++ {
		if _, err := ParseClientHelloRecords(split[:n]); !errors.Is(err, ErrIncomplete) {
			t.Fatalf("cut at %d of %d: %v, want ErrIncomplete", n, len(split), err)
		}
	}
	if _, err := ParseClientHelloRecords(split); err != nil {
		t.Fatal(err)
	}
	cases := []struct {
		in   string
		want error
	}{
		{"", ErrIncomplete},
		{"\x16", ErrIncomplete},
		{"\x16\x03", ErrIncomplete},
		{"\x16\x03\x01\x00", ErrIncomplete},
		{"G", ErrNotTLS},
		{"GET / HTTP/1.1\r\n", ErrNotTLS},
		{"SSH-2.0-OpenSSH_9.2\r\n", ErrNotTLS},
		{"\x16\x02", ErrNotTLS},
		{"\x16\x03\x09", ErrNotTLS},
		{"\x16\x03\x01\xff\xff", ErrNotTLS}, // longer than any record
	}
	for _, c := range cases {
		_, err := ParseClientHelloRecords([]byte(c.in))
		if !errors.Is(err, c.want) {
			t.Errorf("%q: %v, want %v", c.in, err, c.want)
		}
		_, err = ParseServerHelloRecords([]byte(c.in))
		if !errors.Is(err, c.want) {
			t.Errorf("ServerHello %q: %v, want %v", c.in, err, c.want)
		}
	}
}
