package snmp

import (
	"encoding/hex"
	"net/netip"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
)

// Seeds: a v1 GET, a v2c GETBULK, a v3 discovery and a v3 authNoPriv GET as real
// clients send them.
var seedHex = []string{
	"302902010004067075626c6963a01c0204deadbeef020100020100300e300c06082b060102010105000500",
	"302c020101040670756" + "26c6963a51f02041a2b3c4d020100020119301130 0f060b2b060102010202010201000500",
	"303e020103301102043b9a1b5c020300ffe30401040201030410300e0400020100020100040004000400301404000400a00e02042c5a6e5d0201000201003000",
	"30818002010330110204571efa5a020300ffe3040105020103042f302d041180001f888001020304050607081122334402010302022710040561" +
		"6c696365040c000000000000000000000000040030370411800" + "01f8880010203040506070811223344" + "0400a020020445d7d2a7020100020100301230100" + "60c2b06010201010500",
}

func seeds(f *testing.F) {
	for _, h := range seedHex {
		b, err := hex.DecodeString(strings.ReplaceAll(h, " ", ""))
		if err != nil {
			f.Fatalf("seed %q: %v", h, err)
		}
		f.Add(b)
	}
}

func FuzzParseV3(f *testing.F) {
	seeds(f)
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseV3(b)
		if err != nil {
			return
		}
		if m.AuthOffset >= 0 && (m.AuthOffset+len(m.AuthParams) > len(b) || string(b[m.AuthOffset:m.AuthOffset+len(m.AuthParams)]) != string(m.AuthParams)) {
			t.Fatalf("auth offset %d does not point at the MAC", m.AuthOffset)
		}
		if line, _, ok := hashcatLine(b, m); ok && !strings.HasPrefix(line, "$SNMPv3$") {
			t.Fatalf("bad hash line %q", line)
		}
		if len(m.OIDs) > maxLoggedOIDs {
			t.Fatalf("%d OIDs kept", len(m.OIDs))
		}
	})
}

// FuzzAgent feeds arbitrary datagrams to the agent: it must never panic, every
// event must survive the RFC 5424 codec, and an answer must fit a datagram.
func FuzzAgent(f *testing.F) {
	seeds(f)
	rt, err := service.NewRuntime(service.Config{Decky: "d", Hostname: "h", Distro: "debian", Service: "snmp",
		Persona: map[string]string{"communities": "public"}})
	if err != nil {
		f.Fatal(err)
	}
	rt.Sink = func(e event.Event) {
		line, err := event.Format(e)
		if err != nil {
			panic("event does not format: " + err.Error())
		}
		if _, err := event.Parse(line); err != nil {
			panic("event does not parse: " + err.Error())
		}
	}
	a := newAgent(rt, time.Now())
	peer := netip.MustParseAddrPort("192.0.2.7:40000")
	f.Fuzz(func(t *testing.T, b []byte) {
		if resp := a.process(peer, b); len(resp) > 65507 {
			t.Fatalf("answer of %d bytes", len(resp))
		}
	})
}
