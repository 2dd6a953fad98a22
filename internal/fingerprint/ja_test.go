package fingerprint

import (
	"testing"
)

// specHello is the example of FoxIO's JA4 specification (technical_details/JA4.md).
func specHello(sigalgs bool) *ClientHello {
	ch := &ClientHello{
		Version:           0x0303,
		CipherSuites:      []uint16{0x1301, 0x1302, 0x1303, 0xc02b, 0xc02f, 0xc02c, 0xc030, 0xcca9, 0xcca8, 0xc013, 0xc014, 0x009c, 0x009d, 0x002f, 0x0035},
		ALPN:              [][]byte{[]byte("h2"), []byte("http/1.1")},
		HasExtensions:     true,
		SupportedVersions: []uint16{0x2a2a, 0x0304, 0x0303},
	}
	for _, e := range []uint16{0x001b, 0x0000, 0x0033, 0x0010, 0x4469, 0x0017, 0x002d, 0x000d, 0x0005, 0x0023, 0x0012, 0x002b, 0xff01, 0x000b, 0x000a, 0x0015} {
		ch.Extensions = append(ch.Extensions, Extension{Type: e})
	}
	if sigalgs {
		ch.SignatureAlgorithms = []uint16{0x0403, 0x0804, 0x0401, 0x0503, 0x0805, 0x0501, 0x0806, 0x0601}
	}
	return ch
}

func TestJA4Spec(t *testing.T) {
	got := JA4(specHello(true), TCP)
	want := JA4Set{
		JA4:   "t13d1516h2_8daaf6152771_e5627efa2ab1",
		Raw:   "t13d1516h2_002f,0035,009c,009d,1301,1302,1303,c013,c014,c02b,c02c,c02f,c030,cca8,cca9_0005,000a,000b,000d,0012,0015,0017,001b,0023,002b,002d,0033,4469,ff01_0403,0804,0401,0503,0805,0501,0806,0601",
		Orig:  "t13d1516h2_acb858a92679_18f69afefd3d",
		RawOr: "t13d1516h2_1301,1302,1303,c02b,c02f,c02c,c030,cca9,cca8,c013,c014,009c,009d,002f,0035_001b,0000,0033,0010,4469,0017,002d,000d,0005,0023,0012,002b,ff01,000b,000a,0015_0403,0804,0401,0503,0805,0501,0806,0601",
	}
	if got != want {
		t.Errorf("JA4 of the specification's example:\n got  %+v\n want %+v", got, want)
	}
	// "If there are no signature algorithms … the string ends without an underscore".
	if got := JA4(specHello(false), TCP).JA4; got != "t13d1516h2_8daaf6152771_6d807ffa2a79" {
		t.Errorf("without signature algorithms: %s", got)
	}
}

func TestJA4Parts(t *testing.T) {
	grease := Extension{Type: 0x3a3a}
	tests := []struct {
		name string
		ch   *ClientHello
		tr   Transport
		want string
	}{
		{"no extensions, no ciphers", &ClientHello{Version: 0x0301}, TCP, "t10i000000_000000000000_000000000000"},
		{"GREASE ignored everywhere", &ClientHello{Version: 0x0303, CipherSuites: []uint16{0x0a0a, 0x002f}, Extensions: []Extension{grease, {Type: ExtSupportedVersions}}, SupportedVersions: []uint16{0xfafa, 0x0303}}, QUIC, "q12i0101" + "00_" + hash12("002f", false) + "_" + hash12("002b", false)},
		{"only SNI and ALPN", &ClientHello{Version: 0x0303, CipherSuites: []uint16{0x002f}, Extensions: []Extension{{Type: ExtServerName}, {Type: ExtALPN}}, ALPN: [][]byte{[]byte("x")}}, TCP, "t12d0102xx_" + hash12("002f", false) + "_000000000000"},
		{"unknown version", &ClientHello{Version: 0x7f1c}, TCP, "t00i000000_000000000000_000000000000"},
		{"SSL 3", &ClientHello{Version: 0x0300}, TCP, "ts3i000000_000000000000_000000000000"},
		{"DTLS 1.2", &ClientHello{Version: 0xfefd, Extensions: []Extension{{Type: ExtSupportedVersions}}, SupportedVersions: []uint16{0xfefd, 0xfeff}}, DTLS, "dd2i000100_000000000000_" + hash12("002b", false)},
		{"supported_versions present but empty", &ClientHello{Version: 0x0303, Extensions: []Extension{{Type: ExtSupportedVersions}}}, TCP, "t00i000100_000000000000_" + hash12("002b", false)},
	}
	for _, tc := range tests {
		if got := JA4(tc.ch, tc.tr).JA4; got != tc.want {
			t.Errorf("%s: %s, want %s", tc.name, got, tc.want)
		}
	}
	many := &ClientHello{}
	for i := range 120 {
		many.CipherSuites = append(many.CipherSuites, uint16(i+1))
		many.Extensions = append(many.Extensions, Extension{Type: uint16(0x100 + i)})
	}
	if got := JA4(many, TCP).JA4[:10]; got != "t00i999900" {
		t.Errorf("counts over 99: %s", got)
	}
}

func TestALPNChars(t *testing.T) {
	tests := []struct {
		alpn [][]byte
		want string
	}{
		{nil, "00"},
		{[][]byte{{}}, "00"},
		{[][]byte{[]byte("h2")}, "h2"},
		{[][]byte{[]byte("http/1.1"), []byte("h2")}, "h1"},
		{[][]byte{[]byte("x")}, "xx"},
		// The specification's examples for non-alphanumeric bytes.
		{[][]byte{{0xab}}, "ab"},
		{[][]byte{{0xab, 0xcd}}, "ad"},
		{[][]byte{{0x30, 0xab}}, "3b"},
		{[][]byte{{0x30, 0x31, 0xab, 0xcd}}, "3d"},
		{[][]byte{{0x30, 0xab, 0xcd, 0x31}}, "01"},
	}
	for _, tc := range tests {
		if got := alpnChars(tc.alpn); got != tc.want {
			t.Errorf("alpnChars(%x) = %q, want %q", tc.alpn, got, tc.want)
		}
	}
}

func TestJA3(t *testing.T) {
	ch := &ClientHello{
		Version:         0x0303,
		CipherSuites:    []uint16{0x1a1a, 0x1301, 0xc02f},
		Extensions:      []Extension{{Type: 0x2a2a}, {Type: 0}, {Type: 10}, {Type: 11}, {Type: 0xfafa}},
		SupportedGroups: []uint16{0xcaca, 29, 23},
		ECPointFormats:  []uint8{0, 1},
	}
	full, hash := JA3(ch)
	if full != "771,4865-49199,0-10-11,29-23,0-1" {
		t.Errorf("JA3 string %q", full)
	}
	if hash != md5hex(full) || len(hash) != 32 {
		t.Errorf("JA3 hash %q", hash)
	}
	if full, _ := JA3(&ClientHello{Version: 0x0301, CipherSuites: []uint16{47}}); full != "769,47,,," {
		t.Errorf("JA3 without extensions %q", full)
	}
	// md5("769,47,,,") computed with md5sum.
	if _, h := JA3(&ClientHello{Version: 0x0301, CipherSuites: []uint16{47}}); h != "b02be259814e870a469a20ce9b2a7900" {
		t.Errorf("JA3 hash %q", h)
	}
}
