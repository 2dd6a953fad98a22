package postgres

import (
	"bytes"
	"encoding/binary"
	"io"
	"testing"

	"decnet/internal/service"
)

// script is a client byte stream standing in for the socket.
type script struct {
	r   io.Reader
	out bytes.Buffer
}

func (s *script) Read(p []byte) (int, error)  { return s.r.Read(p) }
func (s *script) Write(p []byte) (int, error) { return s.out.Write(p) }

func startupPacket(code uint32, params ...string) []byte {
	b := binary.BigEndian.AppendUint32(nil, code)
	for _, p := range params {
		b = append(append(b, p...), 0)
	}
	if len(params) > 0 || code>>16 == 3 {
		b = append(b, 0)
	}
	return append(binary.BigEndian.AppendUint32(nil, uint32(len(b)+4)), b...)
}

type recorded struct {
	typ    string
	fields map[string]string
}

func runScript(s *server, in []byte) ([]byte, []recorded) {
	c := &script{r: bytes.NewReader(in)}
	var evs []recorded
	s.serve(c, func(typ string, f map[string]string, _ string) { evs = append(evs, recorded{typ, f}) }, func() {})
	return c.out.Bytes(), evs
}

func testServer(version, auth string) *server {
	rt, err := service.NewRuntime(service.Config{Decky: "d1", Distro: "debian", Persona: map[string]string{KeyVersion: version, KeyAuth: auth}})
	if err != nil {
		panic(err)
	}
	return newServer(rt)
}

// TestWireMatchesPostgreSQL15 compares answers byte for byte with what a real
// PostgreSQL 15.18 (Debian 15.18-0+deb12u1) sent to the same requests.
func TestWireMatchesPostgreSQL15(t *testing.T) {
	s := testServer("15.18", "")
	smb := append([]byte{0, 0, 0, 0xa4, 0xff, 'S', 'M', 'B', 'r'}, make([]byte, 0xa4-9)...)
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"nmap SMB probe", smb, "E\x00\x00\x00\x8bSFATAL\x00VFATAL\x00C0A000\x00Munsupported frontend protocol 65363.19778: server supports 3.0 to 3.0\x00Fpostmaster.c\x00L2222\x00RProcessStartupPacket\x00\x00"},
		{"SSLRequest then nothing", startupPacket(codeSSL), "N"},
		{"no user", startupPacket(3 << 16), "E\x00\x00\x00ySFATAL\x00VFATAL\x00C28000\x00Mno PostgreSQL user name specified in startup packet\x00Fpostmaster.c\x00L2351\x00RProcessStartupPacket\x00\x00"},
		{"protocol 2", startupPacket(2 << 16), "EFATAL:  unsupported frontend protocol 2.0: server supports 3.0 to 3.0\n\x00"},
		{"scram offer", startupPacket(3<<16, "user", "admin"), "R\x00\x00\x00\x17\x00\x00\x00\nSCRAM-SHA-256\x00\x00"},
		{"invalid length", []byte("GET / HTTP/1.0\r\n\r\n"), ""},
	}
	for _, tc := range tests {
		got, _ := runScript(s, tc.in)
		if string(got) != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func saslInitial(mech, data string) []byte {
	body := append([]byte(mech), 0)
	body = binary.BigEndian.AppendUint32(body, uint32(len(data)))
	body = append(body, data...)
	return append(append([]byte{'p'}, binary.BigEndian.AppendUint32(nil, uint32(len(body)+4))...), body...)
}

func TestSCRAMErrorsMatchPostgreSQL15(t *testing.T) {
	s := testServer("15.18", AuthSCRAM)
	offer := "R\x00\x00\x00\x17\x00\x00\x00\nSCRAM-SHA-256\x00\x00"
	start := startupPacket(3<<16, "user", "admin")
	tests := []struct {
		name string
		in   []byte
		want string
	}{
		{"bad mechanism", append(start, saslInitial("FOO", "abc")...),
			offer + "E\x00\x00\x00sSFATAL\x00VFATAL\x00C08P01\x00Mclient selected an invalid SASL authentication mechanism\x00Fauth-scram.c\x00L256\x00Rscram_init\x00\x00"},
		{"malformed first", append(start, saslInitial("SCRAM-SHA-256", "garbage")...),
			offer + "E\x00\x00\x00\x8aSFATAL\x00VFATAL\x00C08P01\x00Mmalformed SCRAM message\x00DUnexpected channel-binding flag \"'g'\".\x00Fauth-scram.c\x00L1025\x00Rread_client_first_message\x00\x00"},
		{"query instead", append(start, 'Q', 0, 0, 0, 9, 'a', 'b', 'c', 'd', 0),
			offer + "E\x00\x00\x00gSFATAL\x00VFATAL\x00C08P01\x00Mexpected SASL response, got message type 81\x00Fauth-sasl.c\x00L95\x00RCheckSASLAuth\x00\x00"},
	}
	for _, tc := range tests {
		got, _ := runScript(s, tc.in)
		if string(got) != tc.want {
			t.Errorf("%s:\n got %q\nwant %q", tc.name, got, tc.want)
		}
	}
}

func TestProfiles(t *testing.T) {
	for _, tc := range []struct {
		version  string
		line     int32
		earliest string
		auth     string
		v        bool
	}{
		{"15.18", 2222, "3.0", AuthSCRAM, true},
		{"15.4", 2222, "3.0", AuthSCRAM, true},
		{"14.5", 2138, "3.0", AuthSCRAM, true},
		{"13.7", 2133, "1.0", AuthMD5, true},
		{"12.12", 2119, "1.0", AuthMD5, true},
		{"9.2.24", 1755, "1.0", AuthMD5, false},
		{"16.3", 2222, "3.0", AuthSCRAM, true},
	} {
		p := profileFor(tc.version)
		if p.startupLine != tc.line || p.earliest != tc.earliest || p.defaultAuth() != tc.auth || p.hasV() != tc.v || p.version != tc.version {
			t.Errorf("%s: %+v", tc.version, p)
		}
	}
	// SCRAM on a 9.x persona falls back to md5, which is all 9.x has.
	if s := testServer("9.2.24", AuthSCRAM); s.auth != AuthMD5 {
		t.Errorf("9.2 persona kept %s", s.auth)
	}
}

func TestCheckKeys(t *testing.T) {
	for v, ok := range map[string]bool{"15.18": true, "9.2.24": true, "14.5": true, "15": false, "15.1.2": false, "x.y": false, "6.5": false, "15.-1": false, "": false} {
		if err := checkVersion(v); (err == nil) != ok {
			t.Errorf("checkVersion(%q) = %v", v, err)
		}
	}
	for v, ok := range map[string]bool{"md5": true, "scram-sha-256": true, "password": true, "trust": false, "MD5": false} {
		if err := checkAuth(v); (err == nil) != ok {
			t.Errorf("checkAuth(%q) = %v", v, err)
		}
	}
}

func TestSaltStablePerDecky(t *testing.T) {
	a, b := testServer("15.18", ""), testServer("15.18", "")
	if !bytes.Equal(a.saltFor("admin"), b.saltFor("admin")) || bytes.Equal(a.saltFor("admin"), a.saltFor("root")) || len(a.saltFor("x")) != 16 {
		t.Fatal("salts are not stable per user and decky, or not distinct per user")
	}
	secrets, err := Secrets(service.Identity{})
	if err != nil || len(secrets[SecretSCRAMSeed]) != 64 {
		t.Fatalf("secrets %v %v", secrets, err)
	}
}
