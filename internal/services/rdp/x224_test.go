package rdp

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"crypto/x509"
	"encoding/base64"
	"encoding/binary"
	"io"
	"net"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/services/ntlmssp"
)

// nmapCookieProbe is nmap's TerminalServerCookie probe (nmap-service-probes).
var nmapCookieProbe = []byte("\x03\x00\x00\x2a\x25\xe0\x00\x00\x00\x00\x00Cookie: mstshash=nmap\r\n\x01\x00\x08\x00\x03\x00\x00\x00")

// connRequest builds a TPKT-framed X.224 CR (test helper); requested < 0 omits the
// RDP_NEG_REQ.
func connRequest(cookie string, requested int) []byte {
	b := []byte{0, 0xe0, 0, 0, 0, 0, 0}
	if cookie != "" {
		b = append(b, "Cookie: "+cookie+"\r\n"...)
	}
	if requested >= 0 {
		b = append(b, 1, 0, 8, 0, byte(requested), 0, 0, 0)
	}
	b[0] = byte(len(b) - 1)
	return tpkt(b)
}

func TestParseConnReq(t *testing.T) {
	for _, tc := range []struct {
		name      string
		in        []byte
		user      string
		hasNeg    bool
		requested uint32
		bad       bool
	}{
		{"nmap probe", nmapCookieProbe, "nmap", true, 3, false},
		{"mstsc", connRequest("mstshash=Administrator", 0x0b), "Administrator", true, 0x0b, false},
		{"routing token", connRequest("msts=3640205228.15629.0000", 1), "", true, 1, false},
		{"legacy, no negotiation", []byte("\x03\x00\x00\x0b\x06\xe0\x00\x00\x00\x00\x00"), "", false, 0, false},
		{"wrong length indicator", []byte("\x03\x00\x00\x0b\x09\xe0\x00\x00\x00\x00\x00"), "", false, 0, true},
		{"connection confirm, not request", []byte("\x03\x00\x00\x0b\x06\xd0\x00\x00\x12\x34\x00"), "", false, 0, true},
		{"cookie without crlf", connRequest("", -1)[:0], "", false, 0, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			in := tc.in
			if len(in) == 0 {
				b := append([]byte{0, 0xe0, 0, 0, 0, 0, 0}, "Cookie: mstshash=x"...)
				b[0] = byte(len(b) - 1)
				in = tpkt(b)
			}
			tpdu, err := readTPKT(bufio.NewReader(bytes.NewReader(in)))
			if err != nil {
				t.Fatal(err)
			}
			r, err := parseConnReq(tpdu)
			if (err != nil) != tc.bad {
				t.Fatalf("err = %v, want error %v", err, tc.bad)
			}
			if !tc.bad && (r.User != tc.user || r.HasNeg != tc.hasNeg || r.Requested != tc.requested) {
				t.Errorf("got %+v", r)
			}
		})
	}
	for _, bad := range [][]byte{{3, 0, 0, 4}, {4, 0, 0, 11, 6, 0xe0, 0, 0, 0, 0, 0}, {3, 0, 0xff, 0xff}} {
		if _, err := readTPKT(bufio.NewReader(bytes.NewReader(bad))); err == nil {
			t.Errorf("readTPKT(%x) accepted", bad)
		}
	}
}

func TestProtoNames(t *testing.T) {
	for in, want := range map[uint32]string{0: "rdp", 1: "ssl", 3: "ssl,hybrid", 0x0b: "ssl,hybrid,hybrid_ex", 0x40: "0x40"} {
		if got := protoNames(in); got != want {
			t.Errorf("protoNames(%#x) = %q, want %q", in, got, want)
		}
	}
}

// exchange sends one TPKT to a fresh connection and returns the reply and the conn.
func exchange(t *testing.T, h *servicetest.Harness, req []byte) ([]byte, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(req)
	tpdu, err := readTPKT(bufio.NewReader(io.LimitReader(c, 64)))
	if err != nil {
		t.Fatalf("no connection confirm: %v", err)
	}
	return tpkt(tpdu), c
}

func TestNegotiation(t *testing.T) {
	h := servicetest.Start(t, "rdp", service.Config{Distro: "windows10", OSFamily: "windows", Hostname: "DESKTOP-7QK2M1B"})
	for _, tc := range []struct {
		name string
		req  []byte
		want string
	}{
		// What nmap's ms-wbt-server match for Windows expects, byte for byte.
		{"nmap probe selects hybrid", nmapCookieProbe, "\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x1f\x08\x00\x02\x00\x00\x00"},
		{"hybrid_ex offered", connRequest("mstshash=bob", 0x0b), "\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x1f\x08\x00\x08\x00\x00\x00"},
		{"tls only: NLA required", connRequest("mstshash=bob", 1), "\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x03\x00\x08\x00\x05\x00\x00\x00"},
		{"standard security: NLA required", connRequest("", 0), "\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x03\x00\x08\x00\x05\x00\x00\x00"},
		{"no negotiation request", []byte("\x03\x00\x00\x0b\x06\xe0\x00\x00\x00\x00\x00"), "\x03\x00\x00\x0b\x06\xd0\x00\x00\x12\x34\x00"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got, _ := exchange(t, h, tc.req)
			if string(got) != tc.want {
				t.Errorf("reply %x, want %x", got, tc.want)
			}
		})
	}
	h.Wait(t, 5*time.Second, "nmap cookie", servicetest.Type(event.Request, "kind=x224", "username=nmap", "requested_protocols=ssl,hybrid", "selected=hybrid"))
}

// connectInitialPDU builds an MCS Connect Initial whose GCC user data holds a
// Client Core Data and a Client Network Data block (test helper).
func connectInitialPDU(name string, build uint32, channels ...string) []byte {
	core := make([]byte, 4+212)
	binary.LittleEndian.PutUint16(core, 0xc001)
	binary.LittleEndian.PutUint16(core[2:], uint16(len(core)))
	binary.LittleEndian.PutUint32(core[4:], 0x00080004)
	binary.LittleEndian.PutUint16(core[8:], 1920)
	binary.LittleEndian.PutUint16(core[10:], 1080)
	binary.LittleEndian.PutUint32(core[16:], 0x409)
	binary.LittleEndian.PutUint32(core[20:], build)
	copy(core[24:56], ntlmssp.UTF16LE(name))
	netb := make([]byte, 8+12*len(channels))
	binary.LittleEndian.PutUint16(netb, 0xc003)
	binary.LittleEndian.PutUint16(netb[2:], uint16(len(netb)))
	binary.LittleEndian.PutUint32(netb[4:], uint32(len(channels)))
	for i, c := range channels {
		copy(netb[8+12*i:], c)
	}
	blocks := append(core, netb...)
	gcc := append([]byte{0x00, 0x05, 0x00, 0x14, 0x7c, 0x00, 0x01, 0x81, 0x2a, 0x00, 0x08, 0x00, 0x10, 0x00, 0x01, 0xc0, 0x00, 'D', 'u', 'c', 'a'}, appendPERLength(nil, len(blocks))...)
	gcc = append(gcc, blocks...)
	return dataTPDU(append([]byte{0x7f, 0x65, 0x82, 0x01, 0x00}, gcc...))
}

// clientInfoPDU builds a Send Data Request carrying a Client Info PDU (test helper).
func clientInfoPDU(domain, user, pass string) []byte {
	info := make([]byte, 4+18)
	binary.LittleEndian.PutUint16(info, secInfoPkt)
	binary.LittleEndian.PutUint32(info[8:], infoUnicode|0x8) // INFO_AUTOLOGON
	for i, s := range []string{domain, user, pass, "", ""} {
		binary.LittleEndian.PutUint16(info[12+2*i:], uint16(2*len([]rune(s))))
	}
	for _, s := range []string{domain, user, pass, "", ""} {
		info = append(append(info, ntlmssp.UTF16LE(s)...), 0, 0)
	}
	pdu := []byte{0x64, 0x00, 0x06, 0x03, 0xeb, 0x70}
	pdu = appendPERLength(pdu, len(info))
	return dataTPDU(append(pdu, info...))
}

// TestTLSOnlyWithoutNLA: with nla=false a TLS-only client gets TLS with the decky's
// certificate and the MCS sequence up to its Client Info PDU, whose credentials
// are captured byte for byte.
func TestTLSOnlyWithoutNLA(t *testing.T) {
	h := servicetest.Start(t, "rdp", service.Config{Distro: "windows11", OSFamily: "windows", Hostname: "DESKTOP-K1",
		Persona: map[string]string{KeyNLA: "false"}})
	got, c := exchange(t, h, connRequest("mstshash=eve", 1))
	if string(got) != "\x03\x00\x00\x13\x0e\xd0\x00\x00\x12\x34\x00\x02\x1f\x08\x00\x01\x00\x00\x00" {
		t.Fatalf("reply %x", got)
	}
	tc := tls.Client(c, &tls.Config{InsecureSkipVerify: true})
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	if cn := tc.ConnectionState().PeerCertificates[0].Subject.CommonName; cn != "DESKTOP-K1" {
		t.Errorf("certificate CN %q", cn)
	}
	r := bufio.NewReader(tc)
	tc.Write(connectInitialPDU("KALI-BOX", 22621, "rdpdr", "rdpsnd", "cliprdr"))
	resp, err := readTPKT(r)
	if err != nil || !bytes.Contains(resp, []byte("McDn")) {
		t.Fatalf("connect response %x %v", resp, err)
	}
	// Server Network Data: I/O channel 1003, three channels 1004-1006, padded.
	if !bytes.Contains(resp, []byte{0x03, 0x0c, 0x10, 0x00, 0xeb, 0x03, 0x03, 0x00, 0xec, 0x03, 0xed, 0x03, 0xee, 0x03, 0, 0}) {
		t.Errorf("connect response lacks the network data: %x", resp)
	}
	tc.Write(dataTPDU([]byte{0x04, 0x01, 0x00, 0x01, 0x00})) // erect domain
	tc.Write(dataTPDU([]byte{0x28}))                         // attach user
	if resp, err = readTPKT(r); err != nil || !bytes.Equal(resp, []byte{2, 0xf0, 0x80, 0x2e, 0x00, 0x00, 0x06}) {
		t.Fatalf("attach user confirm %x %v", resp, err)
	}
	tc.Write(dataTPDU([]byte{0x38, 0x00, 0x06, 0x03, 0xeb}))
	if resp, err = readTPKT(r); err != nil || !bytes.Equal(resp, []byte{2, 0xf0, 0x80, 0x3e, 0x00, 0x00, 0x06, 0x03, 0xeb, 0x03, 0xeb}) {
		t.Fatalf("channel join confirm %x %v", resp, err)
	}
	user, pass := "eve\x1b[2J", "pa]ss\"w\n"
	tc.Write(clientInfoPDU("WORKGROUP", user, pass))
	h.Wait(t, 5*time.Second, "connect initial", servicetest.Type(event.Request, "kind=mcs_connect_initial", "client_name=KALI-BOX", "client_build=22621",
		"keyboard_layout=0x00000409", "desktop=1920x1080", "channels=rdpdr,rdpsnd,cliprdr"))
	e := h.Wait(t, 5*time.Second, "client info", servicetest.Type(event.Auth, "method=client_info", "domain=WORKGROUP", "cookie_user=eve", "secret_kind=plaintext"))
	for k, want := range map[string]string{"username_b64": user, "password_b64": pass, "secret_b64": pass} {
		if got, _ := base64.StdEncoding.DecodeString(e.Fields[k]); string(got) != want {
			t.Errorf("%s = %q, want %q", k, got, want)
		}
	}
}

func TestParseClientInfo(t *testing.T) {
	pdu := clientInfoPDU("CORP", "bob", "hunter2")
	_, body, _ := parseDomainPDU(pdu[4:])
	_, data, err := parseSendData(body)
	if err != nil {
		t.Fatal(err)
	}
	ci, ok, err := parseClientInfo(data)
	if err != nil || !ok || ci.Domain != "CORP" || ci.User != "bob" || ci.Password != "hunter2" {
		t.Fatalf("%+v %v %v", ci, ok, err)
	}
	if _, ok, _ := parseClientInfo([]byte{0, 0, 0, 0}); ok {
		t.Error("a PDU without SEC_INFO_PKT was taken for client info")
	}
	long := append([]byte(nil), data...)
	binary.LittleEndian.PutUint16(long[4+12:], 400) // user name runs past the packet
	if _, _, err := parseClientInfo(long); err == nil {
		t.Error("an overlong string was accepted")
	}
}

func TestHostileCookieUser(t *testing.T) {
	h := servicetest.Start(t, "rdp", service.Config{Distro: "windows10", OSFamily: "windows", Hostname: "PC1"})
	user := "a]\"\x1b[31mé\\\xff"
	exchange(t, h, connRequest("mstshash="+user, 3))
	e := h.Wait(t, 5*time.Second, "x224", servicetest.Type(event.Request, "kind=x224"))
	if got, _ := base64.StdEncoding.DecodeString(e.Fields["username_b64"]); string(got) != user {
		t.Errorf("username_b64 %q, want %q", got, user)
	}
	if e.Fields["username"] != `a]"\x1b[31mé\\\xff` {
		t.Errorf("printable username %q", e.Fields["username"])
	}
}

func TestCertificate(t *testing.T) {
	sec, err := Secrets(service.Identity{Decky: "d1", Hostname: "dc01"})
	if err != nil {
		t.Fatal(err)
	}
	a, err := certificate(sec, "dc01.corp.local")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := certificate(sec, "dc01.corp.local")
	if !bytes.Equal(a.Certificate[0], b.Certificate[0]) {
		t.Error("the same secrets gave two different certificates")
	}
	c, err := x509.ParseCertificate(a.Certificate[0])
	if err != nil {
		t.Fatal(err)
	}
	if c.Subject.CommonName != "dc01.corp.local" || c.Issuer.CommonName != "dc01.corp.local" || c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature) != nil {
		t.Errorf("subject %s issuer %s", c.Subject, c.Issuer)
	}
	if c.NotAfter.Sub(c.NotBefore) != certLife || c.NotBefore.After(time.Now()) {
		t.Errorf("validity %v to %v", c.NotBefore, c.NotAfter)
	}
	if c.KeyUsage != x509.KeyUsageKeyEncipherment|x509.KeyUsageDataEncipherment || len(c.ExtKeyUsage) != 1 || c.ExtKeyUsage[0] != x509.ExtKeyUsageServerAuth || len(c.DNSNames) != 0 || len(c.Extensions) != 2 {
		t.Errorf("extensions: ku %v eku %v san %v (%d)", c.KeyUsage, c.ExtKeyUsage, c.DNSNames, len(c.Extensions))
	}
	if _, err := certificate(map[string]string{}, "x"); err == nil {
		t.Error("missing secrets accepted")
	}
}
