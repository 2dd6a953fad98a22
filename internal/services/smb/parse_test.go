package smb

import (
	"bufio"
	"bytes"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/services/ntlmssp"
)

// Windows 10's ntlmssp.NegTokenInit2 in its NEGOTIATE response, byte for byte.
const windowsNegTokenInit2 = "607606062b0601050502a06c306aa03c303a060a2b06010401823702021e06092a864882f71201020206092a864886f712010202060a2a864886f71201020203060a2b06010401823702020aa32a3028a0261b246e6f745f646566696e65645f696e5f5246433431373840706c656173655f69676e6f7265"

func TestNegTokenInit2MatchesWindows(t *testing.T) {
	got := hex.EncodeToString(ntlmssp.NegTokenInit2([]asn1.ObjectIdentifier{ntlmssp.OIDNegoEx, ntlmssp.OIDMSKRB5, ntlmssp.OIDKRB5, ntlmssp.OIDKRB5U2U, ntlmssp.OIDNTLMSSP}))
	if got != windowsNegTokenInit2 {
		t.Errorf("ntlmssp.NegTokenInit2:\n got %s\nwant %s", got, windowsNegTokenInit2)
	}
}

func TestParseGSS(t *testing.T) {
	ntlmNeg := append([]byte("NTLMSSP\x00\x01\x00\x00\x00"), 0x15, 0x82, 0x08, 0x62)
	// A client negTokenInit carrying an NTLM NEGOTIATE, built with our own DER helpers.
	init := ntlmssp.DER(0x60, ntlmssp.DEROID(ntlmssp.OIDSPNEGO), ntlmssp.DER(0xa0, ntlmssp.DER(0x30,
		ntlmssp.DER(0xa0, ntlmssp.DER(0x30, ntlmssp.DEROID(ntlmssp.OIDNTLMSSP))),
		ntlmssp.DER(0xa2, ntlmssp.DER(0x04, ntlmNeg)))))
	tok, err := ntlmssp.ParseGSS(init)
	if err != nil || !bytes.Equal(tok.MechToken, ntlmNeg) || len(tok.Mechs) != 1 || !tok.Mechs[0].Equal(ntlmssp.OIDNTLMSSP) || tok.Raw {
		t.Fatalf("negTokenInit: %+v %v", tok, err)
	}
	resp := ntlmssp.NegTokenResp(ntlmssp.NegAcceptIncomplete, ntlmssp.OIDNTLMSSP, ntlmNeg)
	if tok, err = ntlmssp.ParseGSS(resp); err != nil || !bytes.Equal(tok.MechToken, ntlmNeg) {
		t.Fatalf("negTokenResp: %+v %v", tok, err)
	}
	if tok, err = ntlmssp.ParseGSS(ntlmNeg); err != nil || !tok.Raw {
		t.Fatalf("raw ntlmssp: %+v %v", tok, err)
	}
	for _, bad := range [][]byte{nil, {0x30, 0x00}, {0x60, 0x03, 0x06, 0x01, 0x00}, init[:len(init)-1], append(init, 0)} {
		if _, err := ntlmssp.ParseGSS(bad); err == nil {
			t.Errorf("ntlmssp.ParseGSS(%x) accepted", bad)
		}
	}
}

// avPairs parses a target info list (test helper).
func avPairs(b []byte) map[uint16][]byte {
	out := map[uint16][]byte{}
	for len(b) >= 4 {
		id, l := binary.LittleEndian.Uint16(b), int(binary.LittleEndian.Uint16(b[2:]))
		if 4+l > len(b) {
			break
		}
		out[id] = b[4 : 4+l]
		if id == ntlmssp.AvEOL {
			break
		}
		b = b[4+l:]
	}
	return out
}

func TestChallengeMessage(t *testing.T) {
	for _, tc := range []struct {
		name                        string
		cfg                         service.Config
		target, nbDomain, dnsDomain string
		dnsComputer, tree, version  string
		flagsType                   uint32
	}{
		{"windows workgroup", service.Config{Distro: "windows10", Hostname: "DESKTOP-7QK2M1B"},
			"DESKTOP-7QK2M1B", "DESKTOP-7QK2M1B", "desktop-7qk2m1b", "desktop-7qk2m1b", "", "10.0.19045", ntlmssp.FlagTargetServer},
		{"windows domain", service.Config{Distro: "windows2022", Hostname: "dc01", Persona: map[string]string{KeyDomain: "corp.local"}},
			"CORP", "CORP", "corp.local", "dc01.corp.local", "corp.local", "10.0.20348", ntlmssp.FlagTargetDomain},
		{"samba", service.Config{Distro: "debian", Hostname: "files01"},
			"FILES01", "WORKGROUP", "", "files01", "", "6.1.0", ntlmssp.FlagTargetServer},
	} {
		t.Run(tc.name, func(t *testing.T) {
			spec, _ := service.Lookup("smb")
			cfg := tc.cfg
			cfg.Decky, cfg.Service = "d", "smb"
			var err error
			if cfg.Persona, err = spec.Resolve(cfg.Persona); err != nil {
				t.Fatal(err)
			}
			cfg.Secrets, _ = Secrets(service.Identity{Decky: "d"})
			rt, err := service.NewRuntime(cfg)
			if err != nil {
				t.Fatal(err)
			}
			p, err := newPersona(rt)
			if err != nil {
				t.Fatal(err)
			}
			chal := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
			flags := ntlmssp.ChallengeFlags(0xe2088297, p.target)
			msg := ntlmssp.BuildChallenge(flags, chal, p.target)
			if err := ntlmssp.Check(msg, ntlmssp.TypeChallenge, 56); err != nil {
				t.Fatal(err)
			}
			if !bytes.Equal(msg[24:32], chal[:]) {
				t.Error("server challenge not at offset 24")
			}
			if f := binary.LittleEndian.Uint32(msg[20:]); f&(ntlmssp.FlagTargetServer|ntlmssp.FlagTargetDomain) != tc.flagsType || f&ntlmssp.FlagUnicode == 0 || f&ntlmssp.FlagExtendedSession == 0 || f&ntlmssp.FlagTargetInfo == 0 {
				t.Errorf("flags %08x", f)
			}
			name, _ := ntlmssp.Field(msg, 12)
			if got := ntlmssp.FromUTF16LE(name); got != tc.target {
				t.Errorf("target name %q, want %q", got, tc.target)
			}
			v := ntlmssp.Version{Major: msg[48], Minor: msg[49], Build: binary.LittleEndian.Uint16(msg[50:])}
			if v.String() != tc.version || msg[55] != 15 {
				t.Errorf("version %s rev %d, want %s", v, msg[55], tc.version)
			}
			info, _ := ntlmssp.Field(msg, 40)
			av := avPairs(info)
			for id, want := range map[uint16]string{ntlmssp.AvNbDomainName: tc.nbDomain, ntlmssp.AvNbComputerName: strings.ToUpper(strings.Split(tc.dnsComputer, ".")[0]), ntlmssp.AvDNSDomainName: tc.dnsDomain, ntlmssp.AvDNSComputerName: tc.dnsComputer, ntlmssp.AvDNSTreeName: tc.tree} {
				if got := ntlmssp.FromUTF16LE(av[id]); got != want {
					t.Errorf("av pair %d = %q, want %q", id, got, want)
				}
			}
			if len(av[ntlmssp.AvTimestamp]) != 8 {
				t.Error("no timestamp av pair")
			}
		})
	}
}

func TestHashcatLine(t *testing.T) {
	chal := []byte{0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88}
	nt2 := bytes.Repeat([]byte{0xab}, 40)
	line, kind := ntlmssp.HashcatLine("bob", "CORP", chal, nil, nt2)
	if kind != "ntlmv2" || line != "bob::CORP:1122334455667788:"+strings.Repeat("ab", 16)+":"+strings.Repeat("ab", 24) {
		t.Errorf("v2: %s %s", kind, line)
	}
	nt1, lm := bytes.Repeat([]byte{0xcd}, 24), bytes.Repeat([]byte{0xef}, 24)
	line, kind = ntlmssp.HashcatLine("bob", "", chal, lm, nt1)
	if kind != "ntlmv1" || line != "bob:::"+strings.Repeat("ef", 24)+":"+strings.Repeat("cd", 24)+":1122334455667788" {
		t.Errorf("v1: %s %s", kind, line)
	}
	if _, kind := ntlmssp.HashcatLine("bob", "", chal, lm, nil); kind != "" {
		t.Errorf("LM only gave %s", kind)
	}
}

func TestParseAuthenticateBounds(t *testing.T) {
	m := make([]byte, 72)
	copy(m, "NTLMSSP\x00\x03\x00\x00\x00")
	binary.LittleEndian.PutUint16(m[20:], 100) // NT response longer than the message
	binary.LittleEndian.PutUint32(m[24:], 64)
	if _, err := ntlmssp.ParseAuthenticate(m); err == nil {
		t.Error("an out-of-bounds field was accepted")
	}
	binary.LittleEndian.PutUint16(m[20:], 0xffff)
	binary.LittleEndian.PutUint32(m[24:], 0xfffffff0)
	if _, err := ntlmssp.ParseAuthenticate(m); err == nil {
		t.Error("an overflowing offset was accepted")
	}
}

func TestSMB1Dialects(t *testing.T) {
	got := smb1Dialects([]byte("\x02NT LM 0.12\x00\x02SMB 2.002\x00\x02SMB 2.???\x00"))
	if strings.Join(got, "|") != "NT LM 0.12|SMB 2.002|SMB 2.???" {
		t.Errorf("%q", got)
	}
	if got := smb1Dialects([]byte("\x02unterminated")); len(got) != 0 {
		t.Errorf("%q", got)
	}
}

// smb1Negotiate builds an SMB1 NEGOTIATE frame offering dialects.
func smb1NegotiateFrame(flags2 uint16, dialects ...string) []byte {
	var data []byte
	for _, d := range dialects {
		data = append(append(append(data, 2), d...), 0)
	}
	m := make([]byte, 32)
	copy(m, "\xffSMBr")
	m[9] = 0x18
	binary.LittleEndian.PutUint16(m[10:], flags2)
	m = append(m, 0)
	m = binary.LittleEndian.AppendUint16(m, uint16(len(data)))
	m = append(m, data...)
	return append([]byte{0, 0, byte(len(m) >> 8), byte(len(m))}, m...)
}

func readReply(t *testing.T, r io.Reader) []byte {
	t.Helper()
	msg, _, err := readFrame(r, nil)
	if err != nil {
		t.Fatalf("no reply: %v", err)
	}
	return msg
}

// An SMB1 negotiate offering SMB2 gets an SMB2 answer (wildcard 2.??? or 2.0.2); one
// offering only SMB1 is dropped by a Windows persona without SMB1.
func TestMultiProtocolNegotiate(t *testing.T) {
	h := servicetest.Start(t, "smb", service.Config{Distro: "windows10", Hostname: "PC1"})
	for _, tc := range []struct {
		dialects []string
		want     uint16
	}{
		{[]string{"NT LM 0.12", "SMB 2.002", "SMB 2.???"}, 0x02ff},
		{[]string{"NT LM 0.12", "SMB 2.002"}, 0x0202},
		{[]string{"NT LM 0.12"}, 0},
	} {
		c, err := net.Dial("tcp", h.Addr(Port))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(smb1NegotiateFrame(0xc853, tc.dialects...))
		r := bufio.NewReader(c)
		if tc.want == 0 {
			if _, _, err := readFrame(r, nil); err == nil {
				t.Errorf("%v: answered, want the connection dropped", tc.dialects)
			}
			c.Close()
			continue
		}
		msg := readReply(t, r)
		hd, err := parseSMB2Header(msg)
		if err != nil || hd.Command != smb2Negotiate || binary.LittleEndian.Uint32(msg[8:]) != 0 {
			t.Fatalf("%v: %v %x", tc.dialects, err, msg)
		}
		if d := binary.LittleEndian.Uint16(msg[64+4:]); d != tc.want {
			t.Errorf("%v: dialect %04x, want %04x", tc.dialects, d, tc.want)
		}
		c.Close()
	}
	h.Wait(t, 5*time.Second, "smb1 fingerprint", servicetest.Type(event.Fingerprint, "smb_version=smb1", "smb1_dialects=NT LM 0.12", "dialect=none"))
}

func TestOversizedFrame(t *testing.T) {
	h := servicetest.Start(t, "smb", service.Config{Distro: "windows10", Hostname: "PC1"})
	c, err := net.Dial("tcp", h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write([]byte{0, 0xff, 0xff, 0xff})
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("a 16 MiB frame header was not refused")
	}
	h.Wait(t, 5*time.Second, "error", servicetest.Type(event.Error))
}

func TestKeysValidate(t *testing.T) {
	spec, _ := service.Lookup("smb")
	for _, tc := range []struct {
		key, val string
		ok       bool
	}{
		{KeyDomain, "corp.local", true}, {KeyDomain, "", false},
		{KeyNetBIOSName, "FILESRV01", true}, {KeyNetBIOSName, "WAY-TOO-LONG-NAME1", false}, {KeyNetBIOSName, "A B", false},
		{KeyDialects, "2.1,3.1.1", true}, {KeyDialects, "1.0", false}, {KeyDialects, "", false},
		{KeySMB1, "yes", true}, {KeySMB1, "maybe", false},
	} {
		if _, err := spec.ValidateKey(tc.key, tc.val); (err == nil) != tc.ok {
			t.Errorf("%s=%q: err %v", tc.key, tc.val, err)
		}
	}
}

// smb2Msg builds an SMB2 request: header with command, message id and session id, then body.
func smb2Msg(cmd uint16, mid, sid uint64, body []byte) []byte {
	m := make([]byte, 64)
	copy(m, "\xfeSMB")
	binary.LittleEndian.PutUint16(m[4:], 64)
	binary.LittleEndian.PutUint16(m[12:], cmd)
	binary.LittleEndian.PutUint16(m[14:], 31)
	binary.LittleEndian.PutUint64(m[24:], mid)
	binary.LittleEndian.PutUint64(m[40:], sid)
	return append(m, body...)
}

func sessionSetupBody(blob []byte) []byte {
	b := make([]byte, 24)
	binary.LittleEndian.PutUint16(b, 25)
	binary.LittleEndian.PutUint16(b[12:], 64+24)
	binary.LittleEndian.PutUint16(b[14:], uint16(len(blob)))
	return append(b, blob...)
}

// A raw SMB2 client with a hostile user name: the full negotiate → challenge →
// authenticate path, and the name arrives in the event byte for byte.
func TestRawSMB2HostileUser(t *testing.T) {
	h := servicetest.Start(t, "smb", service.Config{Distro: "windows2022", Hostname: "SRV22"})
	c, err := net.Dial("tcp", h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r := bufio.NewReader(c)
	send := func(m []byte) []byte {
		t.Helper()
		if err := writeFrame(c, m); err != nil {
			t.Fatal(err)
		}
		return readReply(t, r)
	}
	resp := send(smb2NegotiateMsgWithID(1))
	if d := binary.LittleEndian.Uint16(resp[64+4:]); d != 0x0311 {
		t.Fatalf("dialect %04x", d)
	}
	neg := append([]byte("NTLMSSP\x00\x01\x00\x00\x00"), 0x97, 0x82, 0x08, 0xe2)
	neg = append(neg, make([]byte, 16)...)
	resp = send(smb2Msg(smb2SessionSetup, 2, 0, sessionSetupBody(ntlmssp.NegTokenResp(ntlmssp.NegAcceptIncomplete, nil, neg))))
	if st := binary.LittleEndian.Uint32(resp[8:]); st != statusMoreProcessingRequired {
		t.Fatalf("status %08x", st)
	}
	sid := binary.LittleEndian.Uint64(resp[40:])
	off, l := binary.LittleEndian.Uint16(resp[64+4:]), binary.LittleEndian.Uint16(resp[64+6:])
	tok, err := ntlmssp.ParseGSS(resp[off : off+l])
	if err != nil || ntlmssp.Check(tok.MechToken, ntlmssp.TypeChallenge, 56) != nil {
		t.Fatalf("no NTLM challenge: %v", err)
	}
	chal := tok.MechToken[24:32]

	user := "a]\"\n\x1b[31mé\\"
	u, d := ntlmssp.UTF16LE(user), ntlmssp.UTF16LE("WORK")
	nt := append(bytes.Repeat([]byte{0x42}, 16), bytes.Repeat([]byte{0x01}, 32)...)
	auth := make([]byte, 72)
	copy(auth, "NTLMSSP\x00\x03\x00\x00\x00")
	binary.LittleEndian.PutUint32(auth[60:], ntlmssp.FlagUnicode|ntlmssp.FlagExtendedSession)
	payload := 72
	for _, f := range []struct {
		off  int
		data []byte
	}{{20, nt}, {28, d}, {36, u}} {
		ntlmssp.PutField(auth[f.off:], len(f.data), payload)
		payload += len(f.data)
	}
	auth = append(append(append(auth, nt...), d...), u...)
	resp = send(smb2Msg(smb2SessionSetup, 3, sid, sessionSetupBody(ntlmssp.NegTokenResp(ntlmssp.NegAcceptIncomplete, nil, auth))))
	if st := binary.LittleEndian.Uint32(resp[8:]); st != statusLogonFailure {
		t.Fatalf("status %08x, want logon failure", st)
	}
	e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "secret_kind=ntlmv2", "domain=WORK"))
	if got, _ := base64.StdEncoding.DecodeString(e.Fields["username_b64"]); string(got) != user {
		t.Errorf("username_b64 = %q, want %q", got, user)
	}
	if e.Fields["username"] != `a]"\x0a\x1b[31mé\\` {
		t.Errorf("printable username %q", e.Fields["username"])
	}
	if want := user + "::WORK:" + hex.EncodeToString(chal) + ":" + strings.Repeat("42", 16) + ":" + strings.Repeat("01", 32); e.Fields["hash"] != want {
		t.Errorf("hash %q, want %q", e.Fields["hash"], want)
	}
}

func smb2NegotiateMsgWithID(mid uint64) []byte {
	m := smb2NegotiateMsg(0x0202, 0x0210, 0x0300, 0x0302, 0x0311)
	binary.LittleEndian.PutUint64(m[24:], mid)
	return m
}
