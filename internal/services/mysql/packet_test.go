package mysql

import (
	"bytes"
	"encoding/hex"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

// realMariaDBGreeting is the handshake a real MariaDB 10.11.19 (Debian 12 package,
// default configuration) sent on this machine; thread id 9.
const realMariaDBGreeting = "640000000a352e352e352d31302e31312e31392d4d6172696144422d302b64656231327531000900000052673261723c7145" +
	"00fef72d0200ff81150000000000001d00000044644e37672270303d212c5a006d7973716c5f6e61746976655f70617373776f726400"

func TestGreetingMatchesRealMariaDB(t *testing.T) {
	want, err := hex.DecodeString(strings.ReplaceAll(realMariaDBGreeting, " ", ""))
	if err != nil {
		t.Fatal(err)
	}
	p := newPersona("10.11.19-MariaDB-0+deb12u1", "")
	// The real scramble: 8 bytes in the first part, 12 in the second.
	salt := append(append([]byte{}, want[4+1+33+4:4+1+33+4+8]...), want[len(want)-22-13:len(want)-22-1]...)
	got := packet(0, greeting(p, 9, salt))
	if !bytes.Equal(got, want) {
		t.Fatalf("greeting differs from the real server's:\n got %x\nwant %x", got, want)
	}
}

func TestGreetingMySQL8(t *testing.T) {
	p := newPersona("8.0.37-0ubuntu0.22.04.3", "")
	salt := bytes.Repeat([]byte{'a'}, 20)
	g := greeting(p, 77, salt)
	want := "0a" + hex.EncodeToString([]byte("8.0.37-0ubuntu0.22.04.3")) + "00" + "4d000000" + "6161616161616161" + "00" +
		"fff7" + "ff" + "0200" + "ffdf" + "15" + "00000000000000000000" + "616161616161616161616161" + "00" +
		hex.EncodeToString([]byte("caching_sha2_password")) + "00"
	if hex.EncodeToString(g) != want {
		t.Fatalf("MySQL 8 greeting\n got %x\nwant %s", g, want)
	}
}

func TestPersonas(t *testing.T) {
	for _, tc := range []struct {
		version, wire, plugin string
		maria                 bool
		charset               byte
	}{
		{"8.0.37-0ubuntu0.22.04.3", "8.0.37-0ubuntu0.22.04.3", pluginCachingSHA2, false, 255},
		{"5.7.44-log", "5.7.44-log", pluginNative, false, 8},
		{"10.11.6-MariaDB-0+deb12u1", "5.5.5-10.11.6-MariaDB-0+deb12u1", pluginNative, true, 45},
		{"5.5.5-10.5.22-MariaDB", "5.5.5-10.5.22-MariaDB", pluginNative, true, 45},
		{"5.5.68-MariaDB", "5.5.68-MariaDB", pluginNative, true, 8},
		{"11.4.3-MariaDB", "11.4.3-MariaDB", pluginNative, true, 45},
	} {
		p := newPersona(tc.version, "")
		if p.wireVersion != tc.wire || p.plugin != tc.plugin || p.mariaDB != tc.maria || p.charset != tc.charset {
			t.Errorf("%s: got %+v", tc.version, p)
		}
		if p.caps&capSSL != 0 || p.caps&capProtocol41 == 0 {
			t.Errorf("%s: capabilities %#x", tc.version, p.caps)
		}
	}
	if p := newPersona("8.0.37", pluginNative); p.plugin != pluginNative {
		t.Errorf("explicit plugin ignored: %+v", p)
	}
}

func TestCheckVersion(t *testing.T) {
	for v, ok := range map[string]bool{
		"8.0.37": true, "10.11.6-MariaDB-0+deb12u1": true, "5.5.5-10.5.22-MariaDB": true,
		"": false, "mysql": false, "8.0 37": false, "8.0.37\n": false, strings.Repeat("8", 61): false, "2.1": false,
	} {
		if err := checkVersion(v); (err == nil) != ok {
			t.Errorf("checkVersion(%q) = %v", v, err)
		}
	}
}

func TestAccessDeniedPacket(t *testing.T) {
	msg := "Access denied for user 'root'@'localhost' (using password: YES)"
	got := packet(2, errPacket(1045, "28000", msg))
	want := "480000" + "02" + "ff" + "1504" + "23" + hex.EncodeToString([]byte("28000")) + hex.EncodeToString([]byte(msg))
	if hex.EncodeToString(got) != want {
		t.Fatalf("error packet\n got %x\nwant %s", got, want)
	}
}

// response41 builds a HandshakeResponse41 the way libmariadb does.
func response41(caps uint32, user, auth, db, plugin string, attrs ...string) []byte {
	b := []byte{byte(caps), byte(caps >> 8), byte(caps >> 16), byte(caps >> 24), 0, 0, 0, 1, 45}
	b = append(b, make([]byte, 23)...)
	b = append(append(b, user...), 0)
	b = append(b, byte(len(auth))) // lenenc and 1-byte lengths agree below 251
	b = append(b, auth...)
	if caps&capConnectWithDB != 0 {
		b = append(append(b, db...), 0)
	}
	if caps&capPluginAuth != 0 {
		b = append(append(b, plugin...), 0)
	}
	if caps&capConnectAttrs != 0 {
		var a []byte
		for _, s := range attrs {
			a = append(append(a, byte(len(s))), s...)
		}
		b = append(append(b, byte(len(a))), a...)
	}
	return b
}

func TestParseHandshakeResponse(t *testing.T) {
	full := uint32(capProtocol41 | capSecureConnection | capPluginAuth | capPluginAuthLenenc | capConnectWithDB | capConnectAttrs | capLongPassword)
	auth := strings.Repeat("\x01", 20)
	tests := []struct {
		name    string
		in      []byte
		wantErr bool
		check   func(*handshakeResponse) bool
	}{
		{"full", response41(full, "root", auth, "shop", pluginNative, "_client_name", "libmariadb", "_client_version", "3.3.8"), false,
			func(h *handshakeResponse) bool {
				return string(h.user) == "root" && string(h.auth) == auth && string(h.db) == "shop" && h.plugin == pluginNative &&
					len(h.attrs) == 2 && h.attrs[1] == [2]string{"_client_version", "3.3.8"}
			}},
		{"no db, no attrs", response41(capProtocol41|capSecureConnection|capPluginAuth, "admin", "", "", pluginCachingSHA2), false,
			func(h *handshakeResponse) bool {
				return string(h.user) == "admin" && len(h.auth) == 0 && h.db == nil && h.plugin == pluginCachingSHA2
			}},
		{"ssl request", append([]byte{0x00, 0x0a, 0, 0}, make([]byte, 28)...), false,
			func(h *handshakeResponse) bool { return h.ssl }},
		{"pre-4.1", []byte{0x05, 0x00, 0, 0, 1, 'b', 'o', 'b', 0, 'A', 'B', 'C', 'D', 'E', 'F', 'G', 'H'}, false,
			func(h *handshakeResponse) bool {
				return h.old && string(h.user) == "bob" && string(h.auth) == "ABCDEFGH"
			}},
		{"empty", nil, true, nil},
		{"short 41", []byte{0x00, 0x02, 0, 0, 0}, true, nil},
		{"user unterminated", append(append([]byte{0x00, 0x82, 0, 0}, make([]byte, 28)...), "root"...), true, nil},
		{"auth truncated", append(append(append([]byte{0x00, 0x82, 0, 0}, make([]byte, 28)...), "root\x00"...), 20, 1, 2), true, nil},
		{"bad attrs", append(response41(full&^capConnectAttrs, "root", auth, "db", pluginNative), 10, 3, 'a'), false,
			func(h *handshakeResponse) bool { return len(h.attrs) == 0 }},
	}
	for _, tc := range tests {
		h, err := parseHandshakeResponse(tc.in)
		if (err != nil) != tc.wantErr {
			t.Errorf("%s: err %v", tc.name, err)
			continue
		}
		if err == nil && !tc.check(h) {
			t.Errorf("%s: parsed %+v", tc.name, h)
		}
	}
	// Attributes whose lengths overrun are an error.
	bad := append(response41(full&^capConnectAttrs, "root", auth, "db", pluginNative), 5, 9, 'k')
	bad[2] |= byte(capConnectAttrs >> 16)
	if _, err := parseHandshakeResponse(bad); !errors.Is(err, errMalformed) {
		t.Errorf("overrunning attributes: err %v", err)
	}
}

func TestReadPacketBounds(t *testing.T) {
	if _, _, err := readPacket(bytes.NewReader([]byte{0xff, 0xff, 0xff, 0x01})); !errors.Is(err, errTooLarge) {
		t.Errorf("16 MiB packet: %v", err)
	}
	seq, p, err := readPacket(bytes.NewReader([]byte{3, 0, 0, 7, 'a', 'b', 'c', 'd'}))
	if err != nil || seq != 7 || string(p) != "abc" {
		t.Errorf("got %d %q %v", seq, p, err)
	}
	if _, _, err := readPacket(bytes.NewReader([]byte{3, 0, 0, 7, 'a'})); err == nil {
		t.Errorf("truncated packet accepted")
	}
}

func TestNativeScrambleKnownAnswer(t *testing.T) {
	// hashcat's own example for mode 11200 (password "hashcat").
	const ex = "$mysqlna$2576670568531371763643101056213751754328*5e4be686a3149a12847caa9898247dcc05739601"
	salt, _ := hex.DecodeString("2576670568531371763643101056213751754328")
	if got := NativeHash(salt, NativeScramble("hashcat", salt)); got != ex {
		t.Fatalf("got %s, want hashcat's example %s", got, ex)
	}
}

func TestSaltAlphabet(t *testing.T) {
	for i := 0; i < 200; i++ {
		for _, b := range newSalt(false) {
			if b == 0 || b == '$' || b > 0x7f {
				t.Fatalf("MySQL scramble byte %#x", b)
			}
		}
		for _, b := range newSalt(true) {
			if b < 33 || b > 126 {
				t.Fatalf("MariaDB scramble byte %#x", b)
			}
		}
	}
}

func TestHostOf(t *testing.T) {
	for in, want := range map[string]string{"127.0.0.1:5": "localhost", "[::1]:5": "localhost", "10.0.0.7:9": "10.0.0.7", "[::ffff:10.1.2.3]:1": "10.1.2.3"} {
		if got := hostOf(netip.MustParseAddrPort(in)); got != want {
			t.Errorf("hostOf(%s) = %s, want %s", in, got, want)
		}
	}
}
