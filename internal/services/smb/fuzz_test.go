package smb

import (
	"bufio"
	"encoding/binary"
	"net"
	"testing"
	"time"

	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

// smb2NegotiateMsg builds an SMB2 NEGOTIATE request (header + body) with 3.1.1 contexts.
func smb2NegotiateMsg(dialects ...uint16) []byte {
	m := make([]byte, 64)
	copy(m, "\xfeSMB")
	binary.LittleEndian.PutUint16(m[4:], 64)
	body := make([]byte, 36)
	binary.LittleEndian.PutUint16(body, 36)
	binary.LittleEndian.PutUint16(body[2:], uint16(len(dialects)))
	for _, d := range dialects {
		body = binary.LittleEndian.AppendUint16(body, d)
	}
	m = append(m, body...)
	for len(m)%8 != 0 {
		m = append(m, 0)
	}
	binary.LittleEndian.PutUint32(m[64+28:], uint32(len(m)))
	binary.LittleEndian.PutUint16(m[64+32:], 2)
	m = append(m, negContext(1, append([]byte{1, 0, 32, 0, 1, 0}, make([]byte, 32)...))...)
	for len(m)%8 != 0 {
		m = append(m, 0)
	}
	m = append(m, negContext(2, []byte{2, 0, 2, 0, 1, 0})...)
	return m
}

func FuzzSMB2Negotiate(f *testing.F) {
	f.Add(smb2NegotiateMsg(0x0202, 0x0210, 0x0300, 0x0302, 0x0311))
	f.Add(smb2NegotiateMsg(0x0311))
	f.Add(smb2NegotiateMsg(0x0202))
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseSMB2Header(b)
		if err != nil {
			return
		}
		_ = h
		r, err := parseNegotiateReq(b)
		if err != nil {
			return
		}
		if len(r.Dialects) == 0 || len(r.Dialects) > 64 {
			t.Fatalf("%d dialects accepted", len(r.Dialects))
		}
	})
}

func FuzzSMB1(f *testing.F) {
	f.Add(smb1NegotiateFrame(0xc853, "NT LM 0.12", "SMB 2.002")[4:])
	f.Add(smb1NegotiateFrame(0x4001, "PC NETWORK PROGRAM 1.0", "NT LM 0.12")[4:])
	f.Fuzz(func(t *testing.T, b []byte) {
		m, err := parseSMB1(b)
		if err != nil {
			return
		}
		smb1Dialects(m.Bytes)
		rest := m.Bytes
		for i := 0; i < 4; i++ {
			_, rest = readSMB1String(rest, i%2 == 0)
		}
	})
}

// FuzzServer sends arbitrary frames to a running service (Windows persona with SMB1
// on, so every code path is reachable): it answers or closes, and keeps serving.
func FuzzServer(f *testing.F) {
	frame := func(m []byte) []byte { return append([]byte{0, 0, byte(len(m) >> 8), byte(len(m))}, m...) }
	f.Add(frame(smb2NegotiateMsg(0x0202, 0x0311)))
	f.Add(smb1NegotiateFrame(0x4001, "NT LM 0.12"))
	f.Add(smb1NegotiateFrame(0xc853, "NT LM 0.12", "SMB 2.???"))
	f.Add([]byte{0x85, 0, 0, 0, 0x81, 0, 0, 4, 1, 2, 3, 4})
	h := servicetest.Start(f, "smb", service.Config{Distro: "windows10", Hostname: "PC1", Persona: map[string]string{KeySMB1: "true"}})
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", h.Addr(Port))
		if err != nil {
			t.Fatal(err)
		}
		c.SetDeadline(time.Now().Add(5 * time.Second))
		servicetest.WritePieces(c, in)
		c.(*net.TCPConn).CloseWrite()
		r := bufio.NewReader(c)
		for {
			if _, _, err := readFrame(r, nil); err != nil {
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
		c2.Write(frame(smb2NegotiateMsg(0x0202, 0x0311)))
		if _, _, err := readFrame(bufio.NewReader(c2), nil); err != nil {
			t.Fatalf("service stopped answering after %x: %v", in, err)
		}
	})
}
