package vnc

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

func TestHydraEveryPasswordCaptured(t *testing.T) {
	h := servicetest.Start(t, "vnc", service.Config{})
	host, port, _ := net.SplitHostPort(h.Addr(Port))
	words := []string{"123456", "password", "vnc", "Passw0rd!", "letmein99"}
	dir := t.TempDir()
	pw := filepath.Join(dir, "pw.txt")
	os.WriteFile(pw, []byte(strings.Join(words, "\n")+"\n"), 0o600)
	out, _ := servicetest.Run(t, 2*time.Minute, nil, "hydra", "-P", pw, "-t", "1", "-W", "0", "-s", port, "-I", "-o", filepath.Join(dir, "found.txt"), host, "vnc")
	if !strings.Contains(out, "0 valid password") {
		t.Errorf("hydra should find no valid password:\n%s", out)
	}
	got := map[string]bool{}
	for _, e := range h.Events() {
		if e.Type != event.Auth || e.Fields["secret_kind"] != "vnc_des" {
			continue
		}
		ch, _ := hex.DecodeString(e.Fields["challenge"])
		resp, _ := hex.DecodeString(e.Fields["response"])
		w, ok := Crack(ch, resp, words)
		if !ok {
			t.Errorf("captured response %s matches no attempted password", e.Fields["hash"])
			continue
		}
		if want := HashLine(ch, resp); e.Fields["hash"] != want || !strings.HasPrefix(want, "$vnc$*") {
			t.Errorf("hash line %q, want %q", e.Fields["hash"], want)
		}
		if e.AttackerIP != "127.0.0.1" {
			t.Errorf("attacker ip %q", e.AttackerIP)
		}
		got[w] = true
	}
	for _, w := range words {
		if !got[w] {
			t.Errorf("hydra's attempt %q was not captured:\n%s", w, out)
		}
	}
}

// handshake runs a raw RFB client: it sends clientVersion and, for 3.7+, picks
// VNC authentication, answers the challenge for password and returns what the
// server said after the response.
func handshake(t *testing.T, addr, clientVersion, password string) (banner string, result []byte) {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(10 * time.Second))
	b := make([]byte, 12)
	if _, err := io.ReadFull(c, b); err != nil {
		t.Fatalf("banner: %v", err)
	}
	banner = string(b)
	io.WriteString(c, clientVersion)
	if strings.HasSuffix(clientVersion, "003.003\n") || banner == "RFB 003.003\n" {
		st := make([]byte, 4)
		io.ReadFull(c, st)
		if binary.BigEndian.Uint32(st) != secVNCAuth {
			t.Fatalf("3.3 security type %x", st)
		}
	} else {
		types := make([]byte, 2)
		io.ReadFull(c, types)
		if !bytes.Equal(types, []byte{1, secVNCAuth}) {
			t.Fatalf("security types %x", types)
		}
		c.Write([]byte{secVNCAuth})
	}
	ch := make([]byte, 16)
	if _, err := io.ReadFull(c, ch); err != nil {
		t.Fatalf("challenge: %v", err)
	}
	resp, _ := Response(ch, password)
	c.Write(resp)
	result, _ = io.ReadAll(c)
	return banner, result
}

func TestProtocolVersions(t *testing.T) {
	cases := []struct {
		persona map[string]string
		distro  string
		client  string
		banner  string
		result  string
	}{
		{nil, "", "RFB 003.008\n", "RFB 003.008\n", "\x00\x00\x00\x01\x00\x00\x00\x15Authentication failed"},
		{nil, "windows10", "RFB 003.008\n", "RFB 003.008\n", "\x00\x00\x00\x01\x00\x00\x00\x16Authentication failure"},
		{map[string]string{"product": "libvncserver"}, "", "RFB 003.008\n", "RFB 003.008\n", "\x00\x00\x00\x01\x00\x00\x00\x16password check failed!"},
		{nil, "", "RFB 003.007\n", "RFB 003.008\n", "\x00\x00\x00\x01"},
		{nil, "", "RFB 003.003\n", "RFB 003.008\n", "\x00\x00\x00\x01"},
		{map[string]string{"version": "003.003"}, "", "RFB 003.008\n", "RFB 003.003\n", "\x00\x00\x00\x01"},
		{map[string]string{"version": "005.000", "product": "realvnc"}, "", "RFB 003.008\n", "RFB 005.000\n", "\x00\x00\x00\x01\x00\x00\x00\x16Authentication failure"},
	}
	for _, c := range cases {
		t.Run(strings.TrimSpace(c.client)+"/"+strings.TrimSpace(c.banner)+"/"+c.distro, func(t *testing.T) {
			h := servicetest.Start(t, "vnc", service.Config{Persona: c.persona, Distro: c.distro})
			banner, result := handshake(t, h.Addr(Port), c.client, "hunter2")
			if banner != c.banner || string(result) != c.result {
				t.Errorf("banner %q result %q, want %q %q", banner, result, c.banner, c.result)
			}
			e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "secret_kind=vnc_des", "outcome=failure"))
			ch, _ := hex.DecodeString(e.Fields["challenge"])
			resp, _ := hex.DecodeString(e.Fields["response"])
			if w, ok := Crack(ch, resp, []string{"x", "hunter2"}); !ok || w != "hunter2" {
				t.Errorf("captured exchange does not verify: %+v", e.Fields)
			}
		})
	}
}

// TestResponseKnownAnswer checks VNC's DES against OpenSSL: the challenge
// 00..00 01..08 under password "password", whose bit-reversed key is
// 0e86ceceeef64e26 (`openssl enc -des-ecb -K 0e86ceceeef64e26 -nopad -provider
// legacy -provider default` gives ff97502e9422f089abd26395c6fb36af).
func TestResponseKnownAnswer(t *testing.T) {
	if got := hex.EncodeToString(desKey("password")); got != "0e86ceceeef64e26" {
		t.Errorf("desKey = %s", got)
	}
	if got := hex.EncodeToString(desKey("averylongpassword")); got != hex.EncodeToString(desKey("averylon")) {
		t.Errorf("passwords are cut at 8 bytes")
	}
	ch, _ := hex.DecodeString("00000000000000000102030405060708")
	r, err := Response(ch, "password")
	if err != nil || hex.EncodeToString(r) != "ff97502e9422f089abd26395c6fb36af" {
		t.Errorf("Response = %x, %v", r, err)
	}
	if w, ok := Crack(ch, r, []string{"admin", "password"}); !ok || w != "password" {
		t.Errorf("Crack = %q, %v", w, ok)
	}
}

func TestBadVersionAndSecurityType(t *testing.T) {
	h := servicetest.Start(t, "vnc", service.Config{})
	c, _ := net.Dial("tcp", h.Addr(Port))
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.ReadFull(c, make([]byte, 12))
	io.WriteString(c, "GET / HTTP/1")
	if rest, _ := io.ReadAll(c); len(rest) != 0 {
		t.Errorf("a bad version should end the connection, got %q", rest)
	}
	c.Close()
	h.Wait(t, 5*time.Second, "bad version", servicetest.Type(event.Request, "outcome=bad_version", "client_version=GET / HTTP/1"))

	c, _ = net.Dial("tcp", h.Addr(Port))
	c.SetDeadline(time.Now().Add(5 * time.Second))
	io.ReadFull(c, make([]byte, 12))
	io.WriteString(c, "RFB 003.008\n")
	io.ReadFull(c, make([]byte, 2))
	c.Write([]byte{1}) // None: not offered
	if rest, _ := io.ReadAll(c); string(rest) != "\x00\x00\x00\x01\x00\x00\x00\x1bSecurity type not supported" {
		t.Errorf("unsupported security type answer %q", rest)
	}
	c.Close()
	h.Wait(t, 5*time.Second, "sec type", servicetest.Type(event.Request, "outcome=unsupported_security_type", "security_type=1"))
}

func TestNmapVNCInfo(t *testing.T) {
	if testing.Short() {
		t.Skip("nmap scan skipped in -short mode")
	}
	h := servicetest.Start(t, "vnc", service.Config{})
	host, port, _ := net.SplitHostPort(h.Addr(Port))
	out, err := servicetest.Run(t, 3*time.Minute, nil, "nmap", "-sV", "-Pn", "-n", "-p", port, "--script", "vnc-info", host)
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	for _, want := range []string{"VNC (protocol 3.8)", "Protocol version: 3.8", "VNC Authentication (2)"} {
		if !strings.Contains(out, want) {
			t.Errorf("nmap output lacks %q:\n%s", want, out)
		}
	}
}
