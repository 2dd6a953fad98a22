package ldap

import (
	"encoding/binary"
	"encoding/hex"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"
	"golang.org/x/crypto/md4"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/services/ntlmssp"
	"decnet/internal/testenv"
)

// ldap3's NTLM bind (Debian python3-ldap3, the library BloodHound.py and
// ldapdomaindump use) goes through AD's Sicily exchange. The password is passed as
// its NT hash (ldap3's pass-the-hash form), since Debian's Python has no MD4.
const ldap3NTLM = `
import sys
from ldap3 import Server, Connection, NTLM
host, port, user, pw = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
c = Connection(Server(host, port=port, get_info=None), user=user, password=pw, authentication=NTLM)
print("bind:", c.bind())
print("result:", c.result["result"], c.result["description"], repr(c.result["message"]))
`

func ntHash(pw string) string {
	h := md4.New()
	h.Write(ntlmssp.UTF16LE(pw))
	return hex.EncodeToString(h.Sum(nil))
}

func TestLdap3NTLMCaptured(t *testing.T) {
	h, _ := start(t, service.Config{Distro: "windows2022", Hostname: "WIN-DC7", Persona: map[string]string{"domain": "acme.example"}})
	host, port := splitHostPort(t, h.Addr(Port))
	const password = "Summer2024!"
	out, err := servicetest.Run(t, 60*time.Second, nil, "/usr/bin/python3", "-c", ldap3NTLM, host, port, `ACME\alice`,
		"aad3b435b51404eeaad3b435b51404ee:"+ntHash(password))
	if err != nil && strings.Contains(out, "No module named 'ldap3'") {
		testenv.Missing(t, "python3-ldap3 is not installed (apt-get install python3-ldap3)")
	}
	if !strings.Contains(out, "bind: False") || !strings.Contains(out, "result: 49 invalidCredentials") || !strings.Contains(out, "data 52e, v4f7c") {
		t.Fatalf("ldap3's view (%v):\n%s", err, out)
	}
	e := h.Wait(t, 5*time.Second, "ntlm credential", servicetest.Type(event.Auth, "auth_method=sicily", "secret_kind=ntlmv2"))
	if e.Fields["username"] != "alice" || e.Fields["domain"] != "ACME" || e.AttackerIP != "127.0.0.1" || !e.IsCredential() {
		t.Errorf("event %+v", e.Fields)
	}
	line := e.Fields["hash"]
	if !strings.HasPrefix(line, "alice::ACME:"+e.Fields["server_challenge"]+":") || !ntlmssp.VerifyHash(line, password) {
		t.Errorf("captured line %q does not verify against the password", line)
	}
	h.Wait(t, 5*time.Second, "negotiate", servicetest.Type(event.Request, "sicily=negotiate"))
	if got := servicetest.Hashcat(t, "5600", line, []string{"Winter2023!", "Password1", password, "letmein"}); !strings.HasSuffix(got, password) {
		t.Errorf("hashcat recovered %q", got)
	}
}

func TestChallengeNamesTheDC(t *testing.T) {
	p := persona{domain: "corp.local", netbiosDom: "CORP", host: "DC01", build: 17763}
	tg := p.ntlmTarget()
	if !tg.DomainJoined || tg.NbDomain != "CORP" || tg.DNSComputer != "dc01.corp.local" || tg.Version.Build != 17763 {
		t.Errorf("target %+v", tg)
	}
}

// A Windows-style SASL GSS-SPNEGO bind with bare NTLMSSP tokens: NEGOTIATE gets
// saslBindInProgress with the CHALLENGE in serverSaslCreds, AUTHENTICATE is captured.
func TestSASLSPNEGONTLM(t *testing.T) {
	h, _ := start(t, service.Config{})
	neg := []byte("NTLMSSP\x00\x01\x00\x00\x00\x97\x82\x08\xe2\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x00\x0a\x00\x61\x4a\x00\x00\x00\x0f")
	p, c := rawExchange(t, h, saslBind(1, "GSS-SPNEGO", neg))
	op := p.Children[1]
	if op.Children[0].Value.(int64) != resSASLBindInProgress || len(op.Children) != 4 || !strings.HasPrefix(string(op.Children[3].Data.Bytes()), "NTLMSSP\x00\x02") {
		t.Fatalf("negotiate answered %s", ber.DescribePacket(p))
	}
	chal := op.Children[3].Data.Bytes()[24:32]
	// AUTHENTICATE: user "bob", domain "CORP", a 40-byte NTLMv2 response.
	nt := make([]byte, 40)
	for i := range nt {
		nt[i] = byte(i)
	}
	user, dom := ntlmssp.UTF16LE("bob"), ntlmssp.UTF16LE("CORP")
	auth := make([]byte, 64)
	copy(auth, "NTLMSSP\x00\x03")
	off := 64
	put := func(at int, b []byte) {
		ntlmssp.PutField(auth[at:], len(b), off)
		off += len(b)
	}
	put(12, nil)
	put(20, nt)
	put(28, dom)
	put(36, user)
	put(44, nil)
	put(52, nil)
	binary.LittleEndian.PutUint32(auth[60:], ntlmssp.FlagUnicode)
	auth = append(append(append(auth, nt...), dom...), user...)
	if _, err := c.Write(saslBind(2, "GSS-SPNEGO", auth)); err != nil {
		t.Fatal(err)
	}
	p, err := ber.ReadPacket(c)
	if err != nil || p.Children[1].Children[0].Value.(int64) != resInvalidCredentials {
		t.Fatalf("authenticate answered %v %s", err, ber.DescribePacket(p))
	}
	e := h.Wait(t, 5*time.Second, "spnego credential", servicetest.Type(event.Auth, "sasl_mechanism=GSS-SPNEGO", "secret_kind=ntlmv2"))
	want := "bob::CORP:" + hex.EncodeToString(chal) + ":" + hex.EncodeToString(nt[:16]) + ":" + hex.EncodeToString(nt[16:])
	if e.Fields["hash"] != want {
		t.Errorf("hash %q, want %q", e.Fields["hash"], want)
	}
}

func saslBind(id int64, mech string, creds []byte) []byte {
	msg := ber.NewSequence("")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	b := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opBindRequest, nil, "")
	b.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(3), ""))
	b.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
	sasl := ber.Encode(ber.ClassContext, ber.TypeConstructed, 3, nil, "")
	sasl.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, mech, ""))
	sasl.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, string(creds), ""))
	b.AppendChild(sasl)
	msg.AppendChild(b)
	return msg.Bytes()
}
