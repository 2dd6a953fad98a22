package ntlmssp

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
	"time"
)

func TestPersonaTarget(t *testing.T) {
	for _, tc := range []struct {
		name                                                       string
		p                                                          Persona
		target, nbDomain, nbComputer, dnsDomain, dnsComputer, tree string
		joined                                                     bool
		version                                                    string
	}{
		{"workgroup", Persona{Hostname: "desktop-7qk2m1b", Domain: "WORKGROUP", Kernel: "10.0.19045"},
			"DESKTOP-7QK2M1B", "DESKTOP-7QK2M1B", "DESKTOP-7QK2M1B", "desktop-7qk2m1b", "desktop-7qk2m1b", "", false, "10.0.19045"},
		{"ad member", Persona{Hostname: "dc01", Domain: "Corp.Local", Kernel: "10.0.20348"},
			"CORP", "CORP", "DC01", "corp.local", "dc01.corp.local", "corp.local", true, "10.0.20348"},
		{"fqdn hostname and overrides", Persona{Hostname: "files.corp.local", Domain: "corp.local", NetBIOSDomain: "CORPNET", NetBIOSName: "FS1", Kernel: "10.0.17763"},
			"CORPNET", "CORPNET", "FS1", "corp.local", "files.corp.local", "corp.local", true, "10.0.17763"},
		{"long name, bad kernel", Persona{Hostname: "averyveryverylonghostname", Kernel: "6.1.0-23-amd64"},
			"AVERYVERYVERYLO", "AVERYVERYVERYLO", "AVERYVERYVERYLO", "averyveryverylonghostname", "averyveryverylonghostname", "", false, "10.0.19045"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			g := tc.p.Target()
			got := []string{g.TargetName, g.NbDomain, g.NbComputer, g.DNSDomain, g.DNSComputer, g.DNSTree, g.Version.String()}
			want := []string{tc.target, tc.nbDomain, tc.nbComputer, tc.dnsDomain, tc.dnsComputer, tc.tree, tc.version}
			if strings.Join(got, "|") != strings.Join(want, "|") || g.DomainJoined != tc.joined {
				t.Errorf("got %q joined=%v, want %q joined=%v", got, g.DomainJoined, want, tc.joined)
			}
		})
	}
}

func TestParseVersion(t *testing.T) {
	for in, want := range map[string]string{
		"10.0.22631": "10.0.22631", "6.3.9600": "6.3.9600", "10.0": "10.0.19045", "10.0.70000": "10.0.19045",
		"a.b.c": "10.0.19045", "": "10.0.19045", "-1.0.1": "10.0.19045", "256.0.1": "10.0.19045",
	} {
		if got := ParseVersion(in).String(); got != want {
			t.Errorf("ParseVersion(%q) = %s, want %s", in, got, want)
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
		b = b[4+l:]
	}
	return out
}

func TestBuildChallenge(t *testing.T) {
	tg := Persona{Hostname: "dc01", Domain: "corp.local", Kernel: "10.0.20348"}.Target()
	tg.Timestamp = func() time.Time { return time.Unix(1700000000, 0) }
	chal := [8]byte{1, 2, 3, 4, 5, 6, 7, 8}
	// Windows 10's NEGOTIATE flags (0xe2088297): unicode, extended session security, ...
	msg := BuildChallenge(ChallengeFlags(0xe2088297, tg), chal, tg)
	if err := Check(msg, TypeChallenge, 56); err != nil {
		t.Fatal(err)
	}
	flags := binary.LittleEndian.Uint32(msg[20:])
	if flags&FlagTargetDomain == 0 || flags&FlagUnicode == 0 || flags&FlagExtendedSession == 0 || flags&FlagTargetInfo == 0 || flags&FlagVersion == 0 {
		t.Errorf("flags %08x", flags)
	}
	if !bytes.Equal(msg[24:32], chal[:]) {
		t.Errorf("challenge %x", msg[24:32])
	}
	name, _ := Field(msg, 12)
	if FromUTF16LE(name) != "CORP" {
		t.Errorf("target name %q", FromUTF16LE(name))
	}
	if v := (Version{Major: msg[48], Minor: msg[49], Build: binary.LittleEndian.Uint16(msg[50:])}); v.String() != "10.0.20348" || msg[55] != 15 {
		t.Errorf("version %s revision %d", v, msg[55])
	}
	info, _ := Field(msg, 40)
	av := avPairs(info)
	for id, want := range map[uint16]string{AvNbDomainName: "CORP", AvNbComputerName: "DC01", AvDNSDomainName: "corp.local", AvDNSComputerName: "dc01.corp.local", AvDNSTreeName: "corp.local"} {
		if got := FromUTF16LE(av[id]); got != want {
			t.Errorf("av pair %d = %q, want %q", id, got, want)
		}
	}
	if binary.LittleEndian.Uint64(av[AvTimestamp]) != Filetime(time.Unix(1700000000, 0)) {
		t.Errorf("timestamp %x", av[AvTimestamp])
	}
	// An OEM client gets OEM strings.
	if f := ChallengeFlags(FlagOEM, tg); f&FlagUnicode != 0 || f&FlagOEM == 0 {
		t.Errorf("oem flags %08x", f)
	}
}

// authMsg builds an AUTHENTICATE message with the given payloads (test helper).
func authMsg(flags uint32, lm, nt []byte, domain, user, ws string) []byte {
	m := make([]byte, 72)
	copy(m, "NTLMSSP\x00\x03\x00\x00\x00")
	binary.LittleEndian.PutUint32(m[60:], flags)
	off := 72
	for _, f := range []struct {
		at   int
		data []byte
	}{{12, lm}, {20, nt}, {28, UTF16LE(domain)}, {36, UTF16LE(user)}, {44, UTF16LE(ws)}} {
		PutField(m[f.at:], len(f.data), off)
		off += len(f.data)
		m = append(m, f.data...)
	}
	return m
}

func TestParseAuthenticate(t *testing.T) {
	nt := bytes.Repeat([]byte{0xab}, 40)
	m := authMsg(FlagUnicode|FlagVersion, make([]byte, 24), nt, "CORP", "alice", "KALI")
	binary.LittleEndian.PutUint16(m[64:], 0) // version bytes are zero: no payload starts at 64
	a, err := ParseAuthenticate(m)
	if err != nil || a.User != "alice" || a.Domain != "CORP" || a.Workstation != "KALI" || !bytes.Equal(a.NT, nt) || a.Anonymous() {
		t.Fatalf("%+v %v", a, err)
	}
	anon, err := ParseAuthenticate(authMsg(FlagUnicode, []byte{0}, nil, "", "", ""))
	if err != nil || !anon.Anonymous() {
		t.Fatalf("anonymous: %+v %v", anon, err)
	}
	bad := authMsg(FlagUnicode, nil, nt, "CORP", "alice", "")
	binary.LittleEndian.PutUint32(bad[24:], uint32(len(bad))) // NT response offset past the end
	if _, err := ParseAuthenticate(bad); err == nil {
		t.Error("an out-of-range field was accepted")
	}
	if _, err := ParseAuthenticate([]byte("NTLMSSP\x00\x01\x00\x00\x00")); err == nil {
		t.Error("a short message was accepted")
	}
	if _, err := ParseNegotiate(append([]byte("NTLMSSP\x00\x03\x00\x00\x00"), make([]byte, 8)...)); err == nil {
		t.Error("an AUTHENTICATE was parsed as a NEGOTIATE")
	}
}

// MS-NLMP 4.2.4: the NTLMv2 test vector (user "User", domain "Domain", password
// "Password", server challenge 0123456789abcdef, client challenge aa…, time 0).
func TestVerifyHashKnownVector(t *testing.T) {
	av := "02000c0044006f006d00610069006e0001000c0053006500720076006500720000000000"
	blob := "0101000000000000" + "0000000000000000" + "aaaaaaaaaaaaaaaa" + "00000000" + av + "00000000"
	bin, _ := hex.DecodeString(blob)
	proof, _ := hex.DecodeString("68cd0ab851e51c96aabc927bebef6a1c")
	line, kind := HashcatLine("User", "Domain", []byte{0x01, 0x23, 0x45, 0x67, 0x89, 0xab, 0xcd, 0xef}, nil, append(proof, bin...))
	if kind != "ntlmv2" || line != "User::Domain:0123456789abcdef:68cd0ab851e51c96aabc927bebef6a1c:"+blob {
		t.Fatalf("%s %q", kind, line)
	}
	if !VerifyHash(line, "Password") {
		t.Error("the MS-NLMP vector does not verify")
	}
	if VerifyHash(line, "password") {
		t.Error("a wrong password verifies")
	}
	if _, kind := HashcatLine("u", "d", make([]byte, 8), nil, nil); kind != "" {
		t.Errorf("no response gave kind %q", kind)
	}
}

func TestParseGSS(t *testing.T) {
	neg := append([]byte("NTLMSSP\x00\x01\x00\x00\x00"), 0x15, 0x82, 0x08, 0x62)
	init := DER(0x60, DEROID(OIDSPNEGO), DER(0xa0, DER(0x30, DER(0xa0, DER(0x30, DEROID(OIDNTLMSSP))), DER(0xa2, DER(0x04, neg)))))
	tok, err := ParseGSS(init)
	if err != nil || tok.Raw || !bytes.Equal(tok.MechToken, neg) || len(tok.Mechs) != 1 {
		t.Fatalf("%+v %v", tok, err)
	}
	if tok, err = ParseGSS(NegTokenResp(NegAcceptIncomplete, OIDNTLMSSP, neg)); err != nil || !bytes.Equal(tok.MechToken, neg) {
		t.Fatalf("negTokenResp: %+v %v", tok, err)
	}
	if tok, err = ParseGSS(neg); err != nil || !tok.Raw {
		t.Fatalf("raw: %+v %v", tok, err)
	}
	for _, bad := range [][]byte{nil, {0x30, 0}, init[:len(init)-1], append(init, 0)} {
		if _, err := ParseGSS(bad); err == nil {
			t.Errorf("ParseGSS(%x) accepted", bad)
		}
	}
}
