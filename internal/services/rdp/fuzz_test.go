package rdp

import (
	"bufio"
	"io"
	"net"
	"testing"
	"time"

	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/services/ntlmssp"
)

func FuzzConnReq(f *testing.F) {
	f.Add(nmapCookieProbe)
	f.Add(connRequest("mstshash=Administrator", 0x0b))
	f.Add(connRequest("msts=3640205228.15629.0000", 1))
	f.Add([]byte("\x03\x00\x00\x0b\x06\xe0\x00\x00\x00\x00\x00"))
	f.Fuzz(func(t *testing.T, b []byte) {
		tpdu, err := readTPKT(bufio.NewReader(servicetest.Pieces(b)))
		if err != nil {
			return
		}
		if len(tpdu) > maxTPKT {
			t.Fatalf("a %d-byte tpdu passed the limit", len(tpdu))
		}
		r, err := parseConnReq(tpdu)
		if err == nil && len(r.Cookie) > maxCookie {
			t.Fatalf("a %d-byte cookie passed the limit", len(r.Cookie))
		}
	})
}

func FuzzTSRequest(f *testing.F) {
	neg := []byte("NTLMSSP\x00\x01\x00\x00\x00\x35\x82\x08\xe2")
	f.Add(marshalTSRequest(tsRequest{Version: 6, NegoTokens: []negoData{{Token: neg}}}))
	f.Add(marshalTSRequest(tsRequest{Version: 2, NegoTokens: []negoData{{Token: ntlmssp.NegTokenResp(ntlmssp.NegAcceptIncomplete, ntlmssp.OIDNTLMSSP, neg)}}, PubKeyAuth: []byte{1, 2, 3}, ClientNonce: make([]byte, 32)}))
	f.Add(failureReply(statusLogonFailure))
	f.Add([]byte{0x30, 0x84, 0xff, 0xff, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		msg, err := readDER(bufio.NewReader(servicetest.Pieces(b)), maxTSRequest)
		if err != nil {
			return
		}
		if len(msg) > maxTSRequest || len(msg) > len(b) {
			t.Fatalf("a %d-byte message from %d bytes", len(msg), len(b))
		}
		req, err := parseTSRequest(msg)
		if err != nil {
			return
		}
		for _, tok := range req.NegoTokens {
			if len(tok.Token) > len(msg) {
				t.Fatal("a token longer than its message")
			}
			ntlmssp.ParseGSS(tok.Token)
		}
	})
}

func FuzzConnectInitial(f *testing.F) {
	f.Add(connectInitialPDU("KALI", 22621, "rdpdr", "cliprdr")[4:])
	f.Add(connectInitialPDU("", 0)[4:])
	f.Fuzz(func(t *testing.T, b []byte) {
		ci, err := parseConnectInitial(b)
		if err != nil {
			return
		}
		if len(ci.Core.Name) > 64 || len(ci.Channels) > maxChannels {
			t.Fatalf("name of %d bytes, %d channels", len(ci.Core.Name), len(ci.Channels))
		}
		connectResponse(19045, protoSSL, len(ci.Channels))
	})
}

func FuzzMCS(f *testing.F) {
	f.Add(clientInfoPDU("CORP", "bob", "hunter2")[4:])
	f.Add(dataTPDU([]byte{0x38, 0x00, 0x06, 0x03, 0xeb})[4:])
	f.Fuzz(func(t *testing.T, b []byte) {
		typ, body, err := parseDomainPDU(b)
		if err != nil || typ != mcsSendDataRequest {
			return
		}
		_, data, err := parseSendData(body)
		if err != nil {
			return
		}
		if ci, ok, err := parseClientInfo(data); ok && err == nil && (len(ci.User) > 3*maxInfoString || len(ci.Password) > 3*maxInfoString) {
			t.Fatalf("%+v", ci)
		}
	})
}

// FuzzServer sends arbitrary bytes to a running service (first a Connection
// Request, so the TLS and CredSSP stages are reachable too): it answers or closes,
// and keeps serving.
func FuzzServer(f *testing.F) {
	f.Add(nmapCookieProbe)
	f.Add(append(connRequest("mstshash=x", 3), 0x16, 0x03, 0x01, 0x00, 0x05, 1, 2, 3, 4, 5))
	f.Add(connRequest("", -1))
	h := servicetest.Start(f, "rdp", service.Config{Distro: "windows10", OSFamily: "windows", Hostname: "PC1", Persona: map[string]string{KeyNLA: "false"}})
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", h.Addr(Port))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(in)
		c.(*net.TCPConn).CloseWrite()
		io.Copy(io.Discard, c)
		c.Close()
		c2, err := net.Dial("tcp", h.Addr(Port))
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		c2.SetDeadline(time.Now().Add(5 * time.Second))
		c2.Write(nmapCookieProbe)
		if _, err := readTPKT(bufio.NewReader(c2)); err != nil {
			t.Fatalf("service stopped answering after %x: %v", in, err)
		}
	})
}
