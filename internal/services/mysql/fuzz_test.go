package mysql

import (
	"bytes"
	"io"
	"net/netip"
	"strings"
	"testing"

	"decnet/internal/service/servicetest"
)

func FuzzParseHandshakeResponse(f *testing.F) {
	full := uint32(capProtocol41 | capSecureConnection | capPluginAuth | capPluginAuthLenenc | capConnectWithDB | capConnectAttrs)
	f.Add(response41(full, "root", strings.Repeat("\x01", 20), "shop", pluginNative, "_client_name", "libmariadb"))
	f.Add(response41(capProtocol41|capSecureConnection, "admin", "", "", ""))
	f.Add(append([]byte{0x00, 0x0a, 0, 0}, make([]byte, 28)...))
	f.Add([]byte{0x05, 0x00, 0, 0, 1, 'b', 'o', 'b', 0, 'A', 'B'})
	f.Add([]byte{0x00, 0x02, 0xff, 0xff})
	f.Fuzz(func(t *testing.T, b []byte) {
		h, err := parseHandshakeResponse(b)
		if err != nil {
			return
		}
		// Everything parsed lies within the input.
		if len(h.user)+len(h.auth)+len(h.db)+len(h.plugin) > len(b) || len(h.attrs) > 64 {
			t.Fatalf("parsed more than the input holds: %+v", h)
		}
	})
}

// clientScript feeds a fixed byte stream to serve, standing in for the socket.
type clientScript struct {
	r   io.Reader
	out bytes.Buffer
}

func (c *clientScript) Read(p []byte) (int, error)  { return c.r.Read(p) }
func (c *clientScript) Write(p []byte) (int, error) { return c.out.Write(p) }

// FuzzServe runs the whole connection state machine over arbitrary client bytes:
// it must never panic, and every answer is a well-framed packet.
func FuzzServe(f *testing.F) {
	full := uint32(capProtocol41 | capSecureConnection | capPluginAuth | capPluginAuthLenenc | capConnectWithDB | capConnectAttrs)
	f.Add(packet(1, response41(full, "root", strings.Repeat("\x01", 20), "shop", pluginNative)))
	sha2 := packet(1, response41(full, "root", strings.Repeat("\x02", 32), "", pluginCachingSHA2))
	f.Add(append(sha2, packet(3, bytes.Repeat([]byte{3}, 20))...))
	f.Add(sha2)
	f.Add([]byte("GET / HTTP/1.0\r\n\r\n"))
	f.Add([]byte{0xff, 0xff, 0xff, 0x01})
	s := &server{p: newPersona("8.0.37", "")}
	f.Fuzz(func(t *testing.T, in []byte) {
		c := &clientScript{r: servicetest.Pieces(in)}
		s.serve(c, func(string, map[string]string, string) {}, netip.MustParseAddrPort("10.0.0.1:4000"), func() {})
		r := bytes.NewReader(c.out.Bytes())
		for r.Len() > 0 {
			if _, _, err := readPacket(r); err != nil {
				t.Fatalf("answer is not well framed: %v (%x)", err, c.out.Bytes())
			}
		}
	})
}
