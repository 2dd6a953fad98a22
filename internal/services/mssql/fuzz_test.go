package mssql

import (
	"bytes"
	"net"
	"testing"
	"time"

	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

func FuzzMessage(f *testing.F) {
	var b bytes.Buffer
	writeMessage(&b, pktPrelogin, nmapPrelogin)
	f.Add(b.Bytes())
	b.Reset()
	writeMessage(&b, pktLogin7, bytes.Repeat([]byte{1}, 5000))
	f.Add(b.Bytes())
	f.Fuzz(func(t *testing.T, in []byte) {
		_, msg, err := readMessage(servicetest.Pieces(in))
		if err == nil && (len(msg) > maxMessage || len(msg) > len(in)) {
			t.Fatalf("a %d-byte message from %d bytes", len(msg), len(in))
		}
	})
}

func FuzzPrelogin(f *testing.F) {
	f.Add(nmapPrelogin)
	f.Add(preloginResponse([4]byte{15, 0, 7, 0xd0}, encOn, true))
	f.Fuzz(func(t *testing.T, b []byte) {
		p, err := parsePrelogin(b)
		if err != nil {
			return
		}
		if len(p.Options) > maxOptions || len(p.Instance) > len(b) {
			t.Fatalf("%d options, %d-byte instance", len(p.Options), len(p.Instance))
		}
		versionString(p.Version)
	})
}

func FuzzLogin7(f *testing.F) {
	f.Add(login7("KALI", "sa", "Tr0ub4dor&3", "sqlmap", "10.0.0.5", nil))
	f.Add(login7("H", "", "", "", "", []byte("NTLMSSP\x00\x01\x00\x00\x00\x07\x82\x08\xa2")))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parseLogin7(b)
		if err != nil {
			return
		}
		if len(l.SSPI) > len(b) || len(l.User) > 3*len(b) || len(l.Password) > 3*len(b) {
			t.Fatal("a field longer than the message")
		}
	})
}

func FuzzTDS42Login(f *testing.F) {
	f.Add(tds42Login("sa", "Secret1"))
	f.Fuzz(func(t *testing.T, b []byte) {
		l, err := parseTDS42Login(b)
		if err == nil && (len(l.User) > 60 || len(l.Password) > 60 || len(l.Library) > 20) {
			t.Fatalf("%+v", l)
		}
	})
}

// FuzzServer sends arbitrary bytes to a running service: it answers or closes, and
// keeps serving.
func FuzzServer(f *testing.F) {
	var b bytes.Buffer
	writeMessage(&b, pktPrelogin, nmapPrelogin)
	f.Add(b.Bytes())
	b.Reset()
	writeMessage(&b, pktLogin7, login7("KALI", "sa", "x", "a", "s", nil))
	f.Add(b.Bytes())
	b.Reset()
	writeMessage(&b, pktTDS42, tds42Login("sa", "x"))
	f.Add(b.Bytes())
	h := servicetest.Start(f, "mssql", service.Config{Distro: "windows2019", Hostname: "SQL1"})
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", h.Addr(Port))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		c.Write(in)
		c.(*net.TCPConn).CloseWrite()
		for {
			if _, _, _, err := readPacket(c); err != nil {
				break
			}
		}
		c.Close()
		c2, err := net.Dial("tcp", h.Addr(Port))
		if err != nil {
			t.Fatal(err)
		}
		defer c2.Close()
		c2.SetDeadline(time.Now().Add(5 * time.Second))
		writeMessage(c2, pktPrelogin, nmapPrelogin)
		if _, _, err := readMessage(c2); err != nil {
			t.Fatalf("service stopped answering after %x: %v", in, err)
		}
	})
}
