package fingerprint

import (
	"bytes"
	"crypto/tls"
	"testing"
)

// Fuzz targets for the hand-written parsers. Seeds: a real crypto/tls hello, the
// hellos built in the tests, and the committed corpus under testdata/fuzz.

func fuzzSeeds(f *testing.F) [][]byte {
	raw := goClientHello(f, &tls.Config{ServerName: "fuzz.example", NextProtos: []string{"h2"}})
	msg := hello(0x0303, []uint16{0x1301, 0x0a0a}, []Extension{
		{Type: ExtServerName, Data: []byte{0, 6, 0, 0, 3, 'a', '.', 'b'}},
		{Type: ExtALPN, Data: []byte{0, 3, 2, 'h', '2'}},
		{Type: ExtSupportedVersions, Data: []byte{4, 0x03, 0x04, 0x03, 0x03}},
		{Type: ExtSignatureAlgorithms, Data: []byte{0, 2, 4, 3}},
		{Type: ExtECPointFormats, Data: []byte{1, 0}},
	})
	return [][]byte{raw, records(msg, 9), msg, {22, 3, 1, 0, 4, 1, 0, 0, 0}}
}

func FuzzParseClientHello(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		ch, err := ParseClientHelloRecords(b)
		if err == nil {
			JA3(ch)
			j := JA4(ch, TCP)
			if len(j.JA4) != 36 {
				t.Fatalf("JA4 %q is not 36 characters", j.JA4)
			}
		}
		if ch, err := ParseClientHello(b); err == nil {
			JA4(ch, QUIC)
		}
		if sh, err := ParseServerHello(b); err == nil {
			JA3S(sh)
		}
	})
}

func FuzzReadClientHello(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		raw, ch, err := ReadClientHello(bytes.NewReader(b), 4096)
		if len(raw) > 4096 || !bytes.HasPrefix(b, raw) {
			t.Fatalf("returned %d bytes that are not a prefix of the input", len(raw))
		}
		if err == nil && ch == nil {
			t.Fatal("no error and no hello")
		}
	})
}

func FuzzHandshakeMessages(f *testing.F) {
	for _, s := range fuzzSeeds(f) {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, b []byte) {
		msgs, consumed, _ := HandshakeMessages(b)
		if consumed > len(b) {
			t.Fatalf("consumed %d of %d bytes", consumed, len(b))
		}
		for _, m := range msgs {
			if len(m) < 4 || len(m) != 4+(int(m[1])<<16|int(m[2])<<8|int(m[3])) {
				t.Fatalf("message of %d bytes with a wrong header", len(m))
			}
		}
	})
}
