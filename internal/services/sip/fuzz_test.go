package sip

import (
	"bufio"
	"bytes"
	"net/netip"
	"strings"
	"testing"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

var seedMessages = []string{
	"OPTIONS sip:nm SIP/2.0\r\nVia: SIP/2.0/UDP nm;branch=foo;rport\r\nFrom: <sip:nm@nm>;tag=root\r\nTo: <sip:nm2@nm2>\r\nCall-ID: 50000\r\nCSeq: 42 OPTIONS\r\nMax-Forwards: 70\r\nContent-Length: 0\r\nContact: <sip:nm@nm>\r\nAccept: application/sdp\r\n\r\n",
	"REGISTER sip:127.0.0.1 SIP/2.0\r\nAuthorization: Digest username=\"100\", uri=\"sip:127.0.0.1\", algorithm=MD5, realm=\"asterisk\", nonce=\"1/abc\", qop=auth, nc=00000001, cnonce=\"e8664f0\", response=\"fc9394beb59418f6854c8338b32dcfa5\"\r\nv: SIP/2.0/UDP 1.2.3.4;branch=z9hG4bK.1;rport\r\nf: sip:100@x;tag=1\r\nt: sip:100@x\r\ni: 1@x\r\nCSeq: 2 REGISTER\r\nl: 0\r\n\r\n",
	"INVITE sip:200@pbx SIP/2.0\r\nVia: SIP/2.0/TCP h\r\nContent-Type: application/sdp\r\nContent-Length: 10\r\n\r\nv=0\r\no=- 1\r\n",
	"\r\n\r\n",
	"SIP/2.0 200 OK\r\nVia: x\r\n\r\n",
}

func FuzzReadMessage(f *testing.F) {
	for _, s := range seedMessages {
		f.Add([]byte(s), false)
		f.Add([]byte(s), true)
	}
	f.Fuzz(func(t *testing.T, b []byte, stream bool) {
		m, _, err := readMessage(bufio.NewReader(servicetest.Pieces(b)), stream)
		if err != nil || m == nil {
			return
		}
		if len(m.headers) > maxHeaders || len(m.body) > maxBody {
			t.Fatalf("bounds exceeded: %d headers, %d body bytes", len(m.headers), len(m.body))
		}
	})
}

func FuzzParseDigest(f *testing.F) {
	f.Add(`Digest username="100", realm="asterisk", nonce="1/2", uri="sip:x", response="0123", qop=auth, nc=00000001, cnonce="abc"`)
	f.Add(`Digest username="a\"b", realm=`)
	f.Add(`Basic dXNlcjpwYXNz`)
	f.Fuzz(func(t *testing.T, h string) {
		params, ok := parseDigest(h)
		if !ok {
			return
		}
		if len(params) > maxParams {
			t.Fatalf("%d params kept", len(params))
		}
		if line, ok := HashcatLine("192.0.2.1", "REGISTER", params); ok {
			if n := strings.Count(line, "*"); n != 14 {
				t.Fatalf("hash line with %d separators: %q", n, line)
			}
		}
	})
}

// FuzzPBX sends arbitrary datagrams to the PBX: no panic, every event survives the
// codec, and an answer never carries a header line the attacker injected.
func FuzzPBX(f *testing.F) {
	for _, s := range seedMessages {
		f.Add([]byte(s))
	}
	rt, err := service.NewRuntime(service.Config{Decky: "d", Hostname: "h", Distro: "debian", Service: "sip",
		Persona: map[string]string{"users": "100:pw"}})
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
	p := newPBX(rt)
	peer := netip.MustParseAddrPort("192.0.2.7:5062")
	f.Fuzz(func(t *testing.T, b []byte) {
		resp := p.datagram(peer, b)
		if resp == nil {
			return
		}
		head, _, ok := bytes.Cut(resp, []byte("\r\n\r\n"))
		if !ok || !bytes.HasPrefix(resp, []byte("SIP/2.0 ")) {
			t.Fatalf("answer is not a SIP response: %q", resp)
		}
		for _, l := range bytes.Split(head, []byte("\r\n")) {
			if bytes.ContainsAny(l, "\r\n") {
				t.Fatalf("bare CR or LF in answer line %q", l)
			}
		}
	})
}
