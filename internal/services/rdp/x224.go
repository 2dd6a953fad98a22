package rdp

// TPKT (RFC 1006) and X.224 (ISO 8073 class 0) framing with the RDP negotiation
// structures of MS-RDPBCGR 2.2.1.1 and 2.2.1.2. Hand-written: no Go library serves
// them; every length is checked against the bytes read.

import (
	"bufio"
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"strings"
)

// maxTPKT bounds one TPKT: the Connection Request is tens of bytes, an MCS Connect
// Initial a few hundred to a few thousand.
const maxTPKT = 16 << 10

// readTPKT reads one TPKT and returns its payload (the X.224 TPDU).
func readTPKT(r *bufio.Reader) ([]byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, err
	}
	if h[0] != 3 {
		return nil, fmt.Errorf("tpkt version is %d, not 3", h[0])
	}
	n := int(binary.BigEndian.Uint16(h[2:]))
	if n < 7 || n > maxTPKT {
		return nil, fmt.Errorf("tpkt length %d is outside 7..%d", n, maxTPKT)
	}
	b := make([]byte, n-4)
	if _, err := io.ReadFull(r, b); err != nil {
		return nil, fmt.Errorf("tpkt body: %w", err)
	}
	return b, nil
}

// tpkt frames a TPDU.
func tpkt(tpdu []byte) []byte {
	b := make([]byte, 4, 4+len(tpdu))
	b[0] = 3
	binary.BigEndian.PutUint16(b[2:], uint16(4+len(tpdu)))
	return append(b, tpdu...)
}

// Security protocols (MS-RDPBCGR 2.2.1.1.1 requestedProtocols).
const (
	protoRDP      = 0x0
	protoSSL      = 0x1
	protoHybrid   = 0x2
	protoRDSTLS   = 0x4
	protoHybridEx = 0x8
	protoRDSAAD   = 0x10
)

// protoNames renders a protocol bit set for an event.
func protoNames(p uint32) string {
	if p == 0 {
		return "rdp"
	}
	var out []string
	for _, n := range []struct {
		bit  uint32
		name string
	}{{protoSSL, "ssl"}, {protoHybrid, "hybrid"}, {protoRDSTLS, "rdstls"}, {protoHybridEx, "hybrid_ex"}, {protoRDSAAD, "rdsaad"}} {
		if p&n.bit != 0 {
			out = append(out, n.name)
			p &^= n.bit
		}
	}
	if p != 0 {
		out = append(out, fmt.Sprintf("0x%x", p))
	}
	return strings.Join(out, ",")
}

// connReq is a parsed X.224 Connection Request.
type connReq struct {
	Cookie    string // the whole cookie or routing token line, without "Cookie: " and CRLF
	User      string // the mstshash identifier (what mstsc and most tools put there: the user name)
	HasNeg    bool   // an RDP_NEG_REQ follows
	NegFlags  byte
	Requested uint32 // requestedProtocols
}

const maxCookie = 1024

// parseConnReq parses an X.224 CR TPDU (the TPKT payload).
func parseConnReq(b []byte) (connReq, error) {
	var r connReq
	if len(b) < 7 {
		return r, fmt.Errorf("x.224 tpdu of %d bytes is too short", len(b))
	}
	li := int(b[0])
	if li+1 != len(b) || li < 6 {
		return r, fmt.Errorf("x.224 length indicator %d does not match the %d-byte tpdu", li, len(b))
	}
	if b[1]&0xf0 != 0xe0 {
		return r, fmt.Errorf("x.224 tpdu code 0x%02x is not a connection request", b[1])
	}
	rest := b[7:]
	if bytes.HasPrefix(rest, []byte("Cookie: ")) {
		end := bytes.Index(rest, []byte("\r\n"))
		if end < 0 || end > maxCookie {
			return r, errors.New("x.224 cookie has no CRLF within 1024 bytes")
		}
		r.Cookie = string(rest[len("Cookie: "):end])
		if u, ok := strings.CutPrefix(r.Cookie, "mstshash="); ok {
			r.User = u
		}
		rest = rest[end+2:]
	}
	if len(rest) >= 8 && rest[0] == 1 {
		if l := binary.LittleEndian.Uint16(rest[2:]); l != 8 {
			return r, fmt.Errorf("rdp_neg_req length is %d, not 8", l)
		}
		r.HasNeg, r.NegFlags = true, rest[1]
		r.Requested = binary.LittleEndian.Uint32(rest[4:])
	}
	return r, nil
}

// Negotiation response flags Windows 10 and later set (MS-RDPBCGR 2.2.1.2.1):
// EXTENDED_CLIENT_DATA_SUPPORTED, DYNVC_GFX_PROTOCOL_SUPPORTED, the reserved bit,
// RESTRICTED_ADMIN_MODE_SUPPORTED, REDIRECTED_AUTHENTICATION_MODE_SUPPORTED.
const windowsNegFlags = 0x1f

// Failure codes (MS-RDPBCGR 2.2.1.2.2).
const (
	sslRequiredByServer    = 1
	hybridRequiredByServer = 5
)

// srcRef is the source reference Windows puts in every Connection Confirm.
const srcRef = 0x1234

// connConfirm is an X.224 CC TPDU; neg is the 8-byte RDP_NEG_RSP or RDP_NEG_FAILURE,
// or nil for a client that sent no RDP_NEG_REQ.
func connConfirm(neg []byte) []byte {
	b := []byte{byte(6 + len(neg)), 0xd0, 0, 0, srcRef >> 8, srcRef & 0xff, 0}
	return tpkt(append(b, neg...))
}

func negResponse(selected uint32) []byte {
	b := []byte{2, windowsNegFlags, 8, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[4:], selected)
	return b
}

func negFailure(code uint32) []byte {
	b := []byte{3, 0, 8, 0, 0, 0, 0, 0}
	binary.LittleEndian.PutUint32(b[4:], code)
	return b
}
