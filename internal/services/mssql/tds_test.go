package mssql

import (
	"bytes"
	"encoding/base64"
	"encoding/binary"
	"net"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/services/ntlmssp"
)

// nmapPrelogin is the payload of nmap's ms-sql-s probe (nmap-service-probes).
var nmapPrelogin = []byte("\x00\x00\x15\x00\x06\x01\x00\x1b\x00\x01\x02\x00\x1c\x00\x0c\x03\x00\x28\x00\x04\xff\x08\x00\x01\x55\x00\x00\x00\x4d\x53\x53\x51\x4c\x53\x65\x72\x76\x65\x72\x00\x48\x0f\x00\x00")

func TestParsePrelogin(t *testing.T) {
	p, err := parsePrelogin(nmapPrelogin)
	if err != nil {
		t.Fatal(err)
	}
	if versionString(p.Version) != "8.0.341.0" || !p.HasEnc || p.Encryption != encOff || p.Instance != "MSSQLServer" || p.ThreadID != 0x480f0000 || p.HasMARS {
		t.Errorf("%+v", p)
	}
	for _, bad := range [][]byte{
		nil,
		{0x00, 0x00, 0x05},                   // cut header
		{0x00, 0x00, 0x06, 0x00, 0x06, 0xff}, // data past the end
		{0x00, 0x00, 0x05, 0x00, 0x00},       // no terminator
		bytes.Repeat([]byte{0x04, 0x00, 0x00, 0x00, 0x00}, maxOptions+1),
	} {
		if _, err := parsePrelogin(bad); err == nil {
			t.Errorf("parsePrelogin(%x) accepted", bad)
		}
	}
}

// TestPreloginResponseMatchesNmap: what nmap's "Microsoft SQL Server 2019" match
// line expects, byte for byte up to the build number.
func TestPreloginResponseMatchesNmap(t *testing.T) {
	var b bytes.Buffer
	writeMessage(&b, pktReply, preloginResponse([4]byte{15, 0, 0x07, 0xd0}, encOff, false))
	want := "\x04\x01\x00\x25\x00\x00\x01\x00\x00\x00\x15\x00\x06\x01\x00\x1b\x00\x01\x02\x00\x1c\x00\x01\x03\x00\x1d\x00\x00\xff\x0f\x00\x07\xd0"
	if !strings.HasPrefix(b.String(), want) || b.Len() != 0x25 {
		t.Errorf("got %x", b.Bytes())
	}
	p, err := parsePrelogin(preloginResponse([4]byte{16, 0, 0x03, 0xe8}, encReq, true))
	if err != nil || versionString(p.Version) != "16.0.1000.0" || p.Encryption != encReq || !p.HasMARS {
		t.Errorf("%+v %v", p, err)
	}
}

func TestNegotiate(t *testing.T) {
	for _, tc := range []struct {
		client byte
		hasEnc bool
		force  bool
		want   byte
	}{
		{encOff, true, false, encOff}, {encOn, true, false, encOn}, {encNotSup, true, false, encNotSup}, {encReq, true, false, encOn},
		{encOff, false, false, encOff}, {encOff, true, true, encReq}, {encNotSup, true, true, encReq}, {encOn, true, true, encOn}, {0x7f, true, false, encOff},
	} {
		if got := negotiate(tc.client, tc.hasEnc, tc.force); got != tc.want {
			t.Errorf("negotiate(%d, %v, force %v) = %d, want %d", tc.client, tc.hasEnc, tc.force, got, tc.want)
		}
	}
}

func TestObfuscation(t *testing.T) {
	// 'a' = 0x61: nibbles swapped 0x16, XOR 0xA5 = 0xB3 (MS-TDS 2.2.6.4).
	if got := obfuscate([]byte{0x61, 0x00}); !bytes.Equal(got, []byte{0xb3, 0xa5}) {
		t.Errorf("obfuscate(a) = %x", got)
	}
	for _, s := range []string{"", "P@ssw0rd", "é€\x00\xff"} {
		if got := deobfuscate(obfuscate([]byte(s))); string(got) != s {
			t.Errorf("round trip of %q gave %q", s, got)
		}
	}
}

func TestParseVersionKey(t *testing.T) {
	for in, want := range map[string]string{"2019": "15.0.2000.5", "2022": "16.0.1000.6", "15.0.4335.1": "15.0.4335.1", "2018": "", "15.0.2000": "", "300.0.1.1": "", "15.0.70000.1": ""} {
		_, _, _, got, ok := parseVersion(in)
		if (want == "") == ok || got != want {
			t.Errorf("parseVersion(%q) = %q %v, want %q", in, got, ok, want)
		}
	}
}

// login7 builds a LOGIN7 payload like a TDS 7.4 client (test helper).
func login7(host, user, pass, app, server string, sspi []byte) []byte {
	b := make([]byte, login7Fixed)
	binary.LittleEndian.PutUint32(b[4:], 0x74000004)
	binary.LittleEndian.PutUint32(b[8:], 4096)
	binary.LittleEndian.PutUint32(b[16:], 4242)
	if sspi != nil {
		b[25] |= 0x80
	}
	put := func(at int, data []byte, chars bool) {
		n := len(data)
		if chars {
			n /= 2
		}
		binary.LittleEndian.PutUint16(b[at:], uint16(len(b)))
		binary.LittleEndian.PutUint16(b[at+2:], uint16(n))
		b = append(b, data...)
	}
	put(36, ntlmssp.UTF16LE(host), true)
	put(40, ntlmssp.UTF16LE(user), true)
	put(44, obfuscate(ntlmssp.UTF16LE(pass)), true)
	put(48, ntlmssp.UTF16LE(app), true)
	put(52, ntlmssp.UTF16LE(server), true)
	put(60, ntlmssp.UTF16LE("ODBC"), true)
	copy(b[72:78], []byte{0x00, 0x0c, 0x29, 0x11, 0x22, 0x33})
	put(78, sspi, false)
	binary.LittleEndian.PutUint32(b, uint32(len(b)))
	return b
}

func TestParseLogin7(t *testing.T) {
	l, err := parseLogin7(login7("KALI", "sa", "Tr0ub4dor&3", "sqlmap", "10.0.0.5", nil))
	if err != nil {
		t.Fatal(err)
	}
	if l.Host != "KALI" || l.User != "sa" || l.Password != "Tr0ub4dor&3" || l.App != "sqlmap" || l.Server != "10.0.0.5" || l.Library != "ODBC" ||
		l.ClientPID != 4242 || l.ClientMAC != "00:0c:29:11:22:33" || tdsVersionName(l.TDSVersion) != "7.4" || l.SSPI != nil {
		t.Errorf("%+v", l)
	}
	neg := []byte("NTLMSSP\x00\x01\x00\x00\x00\x07\x82\x08\xa2")
	if l, err = parseLogin7(login7("H", "", "", "", "", neg)); err != nil || !bytes.Equal(l.SSPI, neg) || !l.IntSec {
		t.Errorf("sspi: %+v %v", l, err)
	}
	bad := login7("KALI", "sa", "x", "a", "s", nil)
	binary.LittleEndian.PutUint16(bad[42:], 500) // user name length past the end
	if _, err := parseLogin7(bad); err == nil {
		t.Error("an out-of-range user name was accepted")
	}
	short := login7("KALI", "sa", "x", "a", "s", nil)
	binary.LittleEndian.PutUint32(short, uint32(len(short)+1))
	if _, err := parseLogin7(short); err == nil {
		t.Error("a length field past the message was accepted")
	}
}

// tds42Login builds a pre-7.0 LOGINREC as hydra's mssql module sends it (test helper).
func tds42Login(user, pass string) []byte {
	b := make([]byte, 512+0x3f)
	set := func(off int, s string) { copy(b[off:off+30], s); b[off+30] = byte(len(s)) }
	set(31, user)
	set(62, pass)
	set(93, "000000a0")
	set(140, "squelda 1.0")
	copy(b[458:], []byte{4, 2, 0, 0})
	copy(b[462:], "MSDBLIB")
	b[471] = 7
	return b
}

func TestParseTDS42Login(t *testing.T) {
	l, err := parseTDS42Login(tds42Login("sa", "Secret1"))
	if err != nil || l.User != "sa" || l.Password != "Secret1" || l.App != "squelda 1.0" || l.Library != "MSDBLIB" || tdsVersionName(l.TDSVersion) != "4.2" {
		t.Errorf("%+v %v", l, err)
	}
	over := tds42Login("sa", "x")
	over[61] = 200 // a length byte beyond the 30-byte field
	if l, err := parseTDS42Login(over); err != nil || len(l.User) != 30 {
		t.Errorf("overlong length: %q %v", l.User, err)
	}
	if _, err := parseTDS42Login(make([]byte, 100)); err == nil {
		t.Error("a short login was accepted")
	}
}

func TestReadMessage(t *testing.T) {
	var b bytes.Buffer
	payload := bytes.Repeat([]byte("x"), 10000) // three packets of 4096
	writeMessage(&b, pktLogin7, payload)
	typ, got, err := readMessage(&b)
	if err != nil || typ != pktLogin7 || !bytes.Equal(got, payload) {
		t.Fatalf("type %x, %d bytes, %v", typ, len(got), err)
	}
	for _, bad := range [][]byte{
		{0x12, 0x01, 0x00, 0x07, 0, 0, 0, 0},                                        // length under the header
		{0x12, 0x00, 0x00, 0x09, 0, 0, 0, 0, 0, 0x10, 0x01, 0x00, 0x08, 0, 0, 0, 0}, // type changes mid-message
		bytes.Repeat([]byte{0x12, 0x00, 0x00, 0x08, 0, 0, 0, 0}, maxPackets+1),      // no end of message
	} {
		if _, _, err := readMessage(bytes.NewReader(bad)); err == nil {
			t.Errorf("readMessage(%x…) accepted", bad[:min(len(bad), 16)])
		}
	}
}

func TestErrorTokens(t *testing.T) {
	msg := "Login failed for user 'sa'."
	e74, e71 := errorToken(18456, 1, 14, msg, "SQL01", 0x74000004), errorToken(18456, 1, 14, msg, "SQL01", 0x71000001)
	if len(e74) != len(e71)+2 || e74[0] != tokError || binary.LittleEndian.Uint16(e74[1:]) != uint16(len(e74)-3) || binary.LittleEndian.Uint32(e74[3:]) != 18456 || e74[7] != 1 || e74[8] != 14 {
		t.Errorf("error tokens %x / %x", e74, e71)
	}
	if len(doneError(0x74000004)) != 13 || len(doneError(0x70000000)) != 9 || len(doneError(0x42000000)) != 9 {
		t.Error("done token sizes")
	}
}

// TestHostileLoginInClear sends a LOGIN7 with hostile names over a connection that
// negotiated no encryption and checks the reply and the event, byte for byte.
func TestHostileLoginInClear(t *testing.T) {
	h := servicetest.Start(t, "mssql", service.Config{Distro: "debian", Hostname: "db1"})
	c, err := net.Dial("tcp", h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	pre := []byte{0x00, 0x00, 0x0b, 0x00, 0x06, 0x01, 0x00, 0x11, 0x00, 0x01, 0xff, 15, 0, 0, 0, 0, 0, encNotSup}
	writeMessage(c, pktPrelogin, pre)
	typ, resp, err := readMessage(c)
	if err != nil || typ != pktReply {
		t.Fatalf("prelogin reply %x %v", typ, err)
	}
	if p, _ := parsePrelogin(resp); p.Encryption != encNotSup || versionString(p.Version) != "15.0.2000.0" {
		t.Fatalf("prelogin reply %+v", p)
	}
	user, pass := "a]\"\n\x1b[31mé\\", "p\x00w]\"\n"
	writeMessage(c, pktLogin7, login7("h\x1b]0;x\x07", user, pass, "app", "srv", nil))
	typ, resp, err = readMessage(c)
	if err != nil || typ != pktReply || resp[0] != tokError {
		t.Fatalf("login reply %x %x %v", typ, resp, err)
	}
	n := int(binary.LittleEndian.Uint16(resp[9:]))
	if got := ntlmssp.FromUTF16LE(resp[11 : 11+2*n]); got != "Login failed for user '"+user+"'." {
		t.Errorf("error text %q", got)
	}
	e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "method=sql", "secret_kind=plaintext"))
	for k, want := range map[string]string{"username_b64": user, "password_b64": pass, "client_host_b64": "h\x1b]0;x\x07"} {
		if got, _ := base64.StdEncoding.DecodeString(e.Fields[k]); string(got) != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
	if got, _ := base64.StdEncoding.DecodeString(e.Fields["secret_b64"]); string(got) != pass {
		t.Errorf("secret_b64 %q", got)
	}
	if e.AttackerIP != "127.0.0.1" || e.Fields["app"] != "app" || e.Fields["tds_version"] != "7.4" {
		t.Errorf("fields %v", e.Fields)
	}
}
