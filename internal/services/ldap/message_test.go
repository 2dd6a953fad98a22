package ldap

import (
	"bufio"
	"bytes"
	"encoding/hex"
	"net"
	"strings"
	"testing"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

// nmapSearchProbe is nmap's LDAPSearchReq probe (nmap-service-probes).
var nmapSearchProbe = []byte("\x30\x84\x00\x00\x00\x2d\x02\x01\x07\x63\x84\x00\x00\x00\x24\x04\x00\x0a\x01\x00\x0a\x01\x00\x02\x01\x00\x02\x01\x64\x01\x01\x00\x87\x0b\x6f\x62\x6a\x65\x63\x74\x43\x6c\x61\x73\x73\x30\x84\x00\x00\x00\x00")

func TestReadMessage(t *testing.T) {
	tests := []struct {
		name, in string
		max      int
		want     string // hex of the message, or "" for an error
	}{
		{"short form", "300302010a", 100, "300302010a"},
		{"long form 0x84", string(nmapSearchProbe), 100, hex.EncodeToString(nmapSearchProbe)},
		{"not a sequence", "0403616263", 100, ""},
		{"indefinite", "3080020101", 100, ""},
		{"too long", "3084000100000201", 100, ""},
		{"huge length bytes", "3089ffffffffffffffffff", 100, ""},
		{"truncated body", "30050201", 100, ""},
		{"exactly max", "3003020101", 3, "3003020101"},
		{"one over max", "3004020101ff", 3, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			in := []byte(tt.in)
			if b, err := hex.DecodeString(tt.in); err == nil {
				in = b
			}
			got, err := readMessage(bufio.NewReader(bytes.NewReader(in)), tt.max)
			if tt.want == "" {
				if err == nil {
					t.Errorf("readMessage = %x, want an error", got)
				}
				return
			}
			if err != nil || hex.EncodeToString(got) != tt.want {
				t.Errorf("readMessage = %x, %v; want %s", got, err, tt.want)
			}
		})
	}
}

func TestParseNmapProbe(t *testing.T) {
	rq, err := parseRequest(nmapSearchProbe)
	if err != nil {
		t.Fatal(err)
	}
	if rq.ID != 7 || rq.Op != opSearchRequest || rq.Base != "" || rq.Scope != 0 || rq.TimeLimit != 100 || rq.Filter != "(objectClass=*)" || len(rq.Attributes) != 0 {
		t.Errorf("parsed %+v", rq)
	}
}

// ava builds an attribute value assertion filter element.
func ava(tag ber.Tag, a, v string) *ber.Packet {
	p := ber.Encode(ber.ClassContext, ber.TypeConstructed, tag, nil, "")
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a, ""))
	p.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, ""))
	return p
}

func set(tag ber.Tag, kids ...*ber.Packet) *ber.Packet {
	p := ber.Encode(ber.ClassContext, ber.TypeConstructed, tag, nil, "")
	for _, k := range kids {
		p.AppendChild(k)
	}
	return p
}

func TestRenderFilter(t *testing.T) {
	present := ber.NewString(ber.ClassContext, ber.TypePrimitive, 7, "objectClass", "")
	subs := ber.Encode(ber.ClassContext, ber.TypeConstructed, 4, nil, "")
	subs.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "cn", ""))
	ss := ber.NewSequence("")
	ss.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, "ad", ""))
	ss.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 1, "mi", ""))
	ss.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 2, "n", ""))
	subs.AppendChild(ss)
	ext := ber.Encode(ber.ClassContext, ber.TypeConstructed, 9, nil, "")
	ext.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 1, "1.2.840.113556.1.4.803", ""))
	ext.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 2, "userAccountControl", ""))
	ext.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 3, "2", ""))
	tests := []struct {
		name string
		f    *ber.Packet
		want string
	}{
		{"present", present, "(objectClass=*)"},
		{"equality escaped", ava(3, "cn", "a*(b)\\\x00\xff"), `(cn=a\2a\28b\29\5c\00\ff)`},
		{">= <= ~=", set(0, ava(5, "n", "1"), ava(6, "n", "9"), ava(8, "sn", "smyth")), "(&(n>=1)(n<=9)(sn~=smyth))"},
		{"or not", set(1, set(2, present), ava(3, "x", "y")), "(|(!(objectClass=*))(x=y))"},
		{"substrings", subs, "(cn=ad*mi*n)"},
		{"extensible", ext, "(userAccountControl:1.2.840.113556.1.4.803:=2)"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			// Round-trip through the wire form so the decoder's view is what is rendered.
			p, err := ber.DecodePacketErr(tt.f.Bytes())
			if err != nil {
				t.Fatal(err)
			}
			var b strings.Builder
			if err := renderFilter(&b, p, 0); err != nil || b.String() != tt.want {
				t.Errorf("renderFilter = %q, %v; want %q", b.String(), err, tt.want)
			}
		})
	}
	// A filter nested past maxDepth is refused, not recursed into.
	deep := present
	for i := 0; i < maxDepth+2; i++ {
		deep = set(2, deep)
	}
	p, _ := ber.DecodePacketErr(deep.Bytes())
	var b strings.Builder
	if err := renderFilter(&b, p, 0); err == nil {
		t.Error("a filter nested too deep was rendered")
	}
}

func TestEncodeADLongForm(t *testing.T) {
	resp := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opBindResponse, nil, "")
	appendResult(resp, 0, "", "")
	msg := ber.NewSequence("")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(1), ""))
	msg.AppendChild(resp)
	// AD's bind success, byte for byte.
	want := "3084000000100201016184000000070a010004000400"
	if got := hex.EncodeToString(encodeAD(msg)); got != want {
		t.Errorf("encodeAD = %s, want %s", got, want)
	}
	// A long primitive value uses a minimal long-form length, and decodes back.
	long := ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, strings.Repeat("x", 300), "")
	b := encodeAD(long)
	if hex.EncodeToString(b[:4]) != "0482012c" {
		t.Errorf("long string header %x", b[:4])
	}
	if p, err := ber.DecodePacketErr(encodeAD(msg)); err != nil || len(p.Children) != 2 {
		t.Errorf("AD encoding does not decode: %v", err)
	}
	// High tag numbers.
	if got := appendIdentifier(nil, ber.Identifier{ClassType: ber.ClassContext, TagType: ber.TypePrimitive, Tag: 200}); hex.EncodeToString(got) != "9f8148" {
		t.Errorf("high tag = %x", got)
	}
}

// rawExchange sends one message and returns the first response message.
func rawExchange(t *testing.T, h *servicetest.Harness, msg []byte) (*ber.Packet, net.Conn) {
	t.Helper()
	c, err := net.Dial("tcp", h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write(msg); err != nil {
		t.Fatal(err)
	}
	p, err := ber.ReadPacket(c)
	if err != nil {
		t.Fatalf("no response: %v", err)
	}
	return p, c
}

func TestNmapProbeAnswerMatchesFingerprint(t *testing.T) {
	h := servicetest.Start(t, "ldap", service.Config{Distro: "windows2022", Hostname: "WIN-DC7"})
	c, err := net.Dial("tcp", h.Addr(Port))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	c.Write(nmapSearchProbe)
	buf := make([]byte, 8192)
	n, _ := c.Read(buf)
	got := buf[:n]
	// nmap: ^0\x84\0\0..\x02\x01.*dsServiceName1\x84\0\0\0.\x04.CN=NTDS\x20Settings,CN=([^,]+),CN=Servers,...
	if !bytes.HasPrefix(got, []byte("0\x84\x00\x00")) || got[6] != 0x02 || got[7] != 0x01 {
		t.Errorf("entry header %x", got[:8])
	}
	want := "dsServiceName1\x84\x00\x00\x00"
	i := bytes.Index(got, []byte(want))
	if i < 0 || got[i+len(want)+1] != 0x04 || !bytes.HasPrefix(got[i+len(want)+3:], []byte("CN=NTDS Settings,CN=WIN-DC7,CN=Servers,CN=Default-First-Site-Name,CN=Sites,CN=Configuration,DC=corp,DC=local0\x84\x00")) {
		t.Errorf("dsServiceName not in nmap's form: %q", got)
	}
}

func TestOtherOperations(t *testing.T) {
	h := servicetest.Start(t, "ldap", service.Config{Distro: "windows2019"})
	// delRequest [APPLICATION 10] "cn=x,dc=corp,dc=local", message 5
	del := ber.NewSequence("")
	del.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(5), ""))
	del.AppendChild(ber.NewString(ber.ClassApplication, ber.TypePrimitive, opDelRequest, "cn=x,dc=corp,dc=local", ""))
	p, _ := rawExchange(t, h, del.Bytes())
	if len(p.Children) != 2 || p.Children[1].Tag != opDelResponse || p.Children[1].Children[0].Value.(int64) != resOperationsError {
		t.Errorf("delete answered %s", ber.DescribePacket(p))
	}
	h.Wait(t, 5*time.Second, "delete", servicetest.Type(event.Request, "operation=delete", "dn=cn=x,dc=corp,dc=local"))

	// StartTLS: unavailable, the connection stays usable.
	ext := ber.NewSequence("")
	ext.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, int64(6), ""))
	eop := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opExtendedRequest, nil, "")
	eop.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 0, oidStartTLS, ""))
	ext.AppendChild(eop)
	p, _ = rawExchange(t, h, ext.Bytes())
	if p.Children[1].Tag != opExtendedResp || p.Children[1].Children[0].Value.(int64) != resUnavailable {
		t.Errorf("StartTLS answered %s", ber.DescribePacket(p))
	}

	// Garbage: a notice of disconnection (message 0) and the connection closes.
	p, c := rawExchange(t, h, []byte("\x30\x03\x02\x01"+"\x05"))
	if p.Children[0].Value.(int64) != 0 || p.Children[1].Tag != opExtendedResp || p.Children[1].Children[0].Value.(int64) != resProtocolError {
		t.Errorf("garbage answered %s", ber.DescribePacket(p))
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Error("connection still open after a protocol error")
	}
	h.Wait(t, 5*time.Second, "decode error", servicetest.Type(event.Error))
}
