package mysql

// The MySQL client/server packets are written and parsed by hand here. The only
// server-side Go library with a handshake (github.com/go-mysql-org/go-mysql/server)
// is not in our dependency set, and it fixes what a honeypot must control byte by
// byte: capability words, MariaDB's extended capabilities in the reserved bytes,
// the scramble alphabet, the "5.5.5-" prefix, and the exact error packets. The
// packets needed before authentication ends are few and small; the parser is
// bounded and fuzzed (fuzz_test.go).

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// maxPacket bounds any packet a client may send before authentication. Real
// clients send a few hundred bytes (connection attributes are at most 64 KiB in
// MySQL; we keep less).
const maxPacket = 16 << 10

var (
	errTooLarge  = errors.New("packet larger than the pre-authentication limit")
	errMalformed = errors.New("malformed packet")
)

// readPacket reads one packet: a 3-byte little-endian length, a sequence id and
// the payload.
func readPacket(r io.Reader) (seq byte, payload []byte, err error) {
	var hdr [4]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		return 0, nil, err
	}
	n := int(hdr[0]) | int(hdr[1])<<8 | int(hdr[2])<<16
	if n > maxPacket {
		return hdr[3], nil, errTooLarge
	}
	payload = make([]byte, n)
	if _, err := io.ReadFull(r, payload); err != nil {
		return hdr[3], nil, err
	}
	return hdr[3], payload, nil
}

// packet frames a payload with its length and sequence id.
func packet(seq byte, payload []byte) []byte {
	out := make([]byte, 4, 4+len(payload))
	n := len(payload)
	out[0], out[1], out[2], out[3] = byte(n), byte(n>>8), byte(n>>16), seq
	return append(out, payload...)
}

// greeting is the Protocol::HandshakeV10 payload.
func greeting(p persona, threadID uint32, salt []byte) []byte {
	var b bytes.Buffer
	b.WriteByte(10) // protocol version
	b.WriteString(p.wireVersion)
	b.WriteByte(0)
	binary.Write(&b, binary.LittleEndian, threadID)
	b.Write(salt[:8])
	b.WriteByte(0)
	binary.Write(&b, binary.LittleEndian, uint16(p.caps))
	b.WriteByte(p.charset)
	binary.Write(&b, binary.LittleEndian, uint16(0x0002)) // SERVER_STATUS_AUTOCOMMIT
	binary.Write(&b, binary.LittleEndian, uint16(p.caps>>16))
	b.WriteByte(byte(len(salt) + 1)) // auth-plugin-data length, with the NUL
	reserved := make([]byte, 10)
	if p.mariaDB {
		binary.LittleEndian.PutUint32(reserved[6:], p.mariaCaps)
	}
	b.Write(reserved)
	b.Write(salt[8:])
	b.WriteByte(0)
	b.WriteString(p.plugin)
	b.WriteByte(0)
	return b.Bytes()
}

// errPacket is an ERR_Packet with a SQL state.
func errPacket(code uint16, state, msg string) []byte {
	b := []byte{0xff, byte(code), byte(code >> 8), '#'}
	b = append(b, state...)
	return append(b, msg...)
}

// authSwitch is a Protocol::AuthSwitchRequest asking for plugin with a new scramble.
func authSwitch(plugin string, salt []byte) []byte {
	b := []byte{0xfe}
	b = append(b, plugin...)
	b = append(b, 0)
	b = append(b, salt...)
	return append(b, 0)
}

// handshakeResponse is what a client answers to the greeting.
type handshakeResponse struct {
	caps      uint32
	maxPacket uint32
	charset   byte
	user      []byte
	auth      []byte
	db        []byte
	plugin    string
	attrs     [][2]string
	ssl       bool // an SSLRequest: the client wants TLS before it says more
	old       bool // Protocol::HandshakeResponse320 (pre-4.1 client)
}

// parseHandshakeResponse parses Protocol::HandshakeResponse41, its SSLRequest
// prefix, or the pre-4.1 Protocol::HandshakeResponse320.
func parseHandshakeResponse(b []byte) (*handshakeResponse, error) {
	if len(b) < 2 {
		return nil, errMalformed
	}
	caps := uint32(binary.LittleEndian.Uint16(b))
	if caps&capProtocol41 == 0 {
		return parseResponse320(b)
	}
	if len(b) < 32 {
		return nil, errMalformed
	}
	h := &handshakeResponse{
		caps:      binary.LittleEndian.Uint32(b),
		maxPacket: binary.LittleEndian.Uint32(b[4:]),
		charset:   b[8],
	}
	r := &reader{b: b[32:]}
	if len(r.b) == 0 && h.caps&capSSL != 0 {
		h.ssl = true
		return h, nil
	}
	var ok bool
	if h.user, ok = r.nulString(); !ok {
		return nil, fmt.Errorf("%w: user name not terminated", errMalformed)
	}
	switch {
	case h.caps&capPluginAuthLenenc != 0:
		h.auth, ok = r.lenencString()
	case h.caps&capSecureConnection != 0:
		var n byte
		if n, ok = r.byte1(); ok {
			h.auth, ok = r.take(int(n))
		}
	default:
		h.auth, ok = r.nulString()
	}
	if !ok {
		return nil, fmt.Errorf("%w: truncated auth response", errMalformed)
	}
	if h.caps&capConnectWithDB != 0 && len(r.b) > 0 {
		if h.db, ok = r.nulString(); !ok {
			return nil, fmt.Errorf("%w: database not terminated", errMalformed)
		}
	}
	if h.caps&capPluginAuth != 0 && len(r.b) > 0 {
		p, ok := r.nulString()
		if !ok {
			// Some clients leave the plugin name unterminated at the end.
			p, r.b = r.b, nil
		}
		h.plugin = string(p)
	}
	if h.caps&capConnectAttrs != 0 && len(r.b) > 0 {
		all, ok := r.lenencString()
		if !ok {
			return nil, fmt.Errorf("%w: truncated connection attributes", errMalformed)
		}
		ar := &reader{b: all}
		for len(ar.b) > 0 && len(h.attrs) < 64 {
			k, ok1 := ar.lenencString()
			v, ok2 := ar.lenencString()
			if !ok1 || !ok2 {
				return nil, fmt.Errorf("%w: bad connection attribute", errMalformed)
			}
			h.attrs = append(h.attrs, [2]string{string(k), string(v)})
		}
	}
	return h, nil
}

func parseResponse320(b []byte) (*handshakeResponse, error) {
	if len(b) < 5 {
		return nil, errMalformed
	}
	h := &handshakeResponse{
		old:       true,
		caps:      uint32(binary.LittleEndian.Uint16(b)),
		maxPacket: uint32(b[2]) | uint32(b[3])<<8 | uint32(b[4])<<16,
	}
	r := &reader{b: b[5:]}
	var ok bool
	if h.user, ok = r.nulString(); !ok {
		return nil, fmt.Errorf("%w: user name not terminated", errMalformed)
	}
	if h.caps&capConnectWithDB != 0 {
		if h.auth, ok = r.nulString(); ok {
			h.db, _ = r.nulString()
		}
	} else {
		h.auth = bytes.TrimRight(r.b, "\x00")
	}
	return h, nil
}

// reader walks a payload; every method reports false instead of reading past it.
type reader struct{ b []byte }

func (r *reader) byte1() (byte, bool) {
	if len(r.b) < 1 {
		return 0, false
	}
	c := r.b[0]
	r.b = r.b[1:]
	return c, true
}

func (r *reader) take(n int) ([]byte, bool) {
	if n < 0 || n > len(r.b) {
		return nil, false
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v, true
}

func (r *reader) nulString() ([]byte, bool) {
	i := bytes.IndexByte(r.b, 0)
	if i < 0 {
		return nil, false
	}
	v := r.b[:i]
	r.b = r.b[i+1:]
	return v, true
}

// lenenc reads a length-encoded integer.
func (r *reader) lenenc() (uint64, bool) {
	c, ok := r.byte1()
	if !ok {
		return 0, false
	}
	var n int
	switch c {
	case 0xfc:
		n = 2
	case 0xfd:
		n = 3
	case 0xfe:
		n = 8
	case 0xfb, 0xff:
		return 0, false
	default:
		return uint64(c), true
	}
	b, ok := r.take(n)
	if !ok {
		return 0, false
	}
	var v uint64
	for i := n - 1; i >= 0; i-- {
		v = v<<8 | uint64(b[i])
	}
	return v, true
}

func (r *reader) lenencString() ([]byte, bool) {
	n, ok := r.lenenc()
	if !ok || n > uint64(len(r.b)) {
		return nil, false
	}
	return r.take(int(n))
}
