// Package fingerprint owns DECNET's client and server fingerprints: pure functions
// that turn the bytes a peer sent into the public fingerprints threat-intel lists use
// (JA3 and JA3S from Salesforce, JA4 from FoxIO, HASSH and HASSHServer from
// Salesforce, JARM from Salesforce), and the hand-written parsers they need (the TLS
// ClientHello and ServerHello, the SSH identification line and KEXINIT).
//
// Why hand-written: crypto/tls parses the ClientHello but exposes only a digest of
// it (tls.ClientHelloInfo has no extension order, no GREASE values, no compression
// methods, no legacy version, no point formats), and every fingerprint depends on
// exactly those raw details. So the messages are parsed here, from the handshake
// record bytes, with every length checked against its enclosing length.
//
// Nothing in this package does I/O except ReadClientHello, which reads from a
// reader the caller bounds, and JARM, which runs Salesforce's ten active TLS probes
// through a dial function the caller supplies.
package fingerprint

import (
	"encoding/binary"
	"errors"
	"fmt"
	"io"
)

// TLS record and handshake constants.
const (
	recordHandshake        = 22
	recordChangeCipherSpec = 20
	recordHeaderLen        = 5
	handshakeHeaderLen     = 4
	// maxRecordLen is the largest record fragment accepted: 2^14 plus the
	// 2048 bytes of expansion TLS 1.2 allows for a protected record.
	maxRecordLen = 1<<14 + 2048

	// HandshakeClientHello and HandshakeServerHello are the handshake message types.
	HandshakeClientHello = 1
	HandshakeServerHello = 2
)

// Extension type codes the fingerprints look at.
const (
	ExtServerName          = 0x0000
	ExtSupportedGroups     = 0x000a
	ExtECPointFormats      = 0x000b
	ExtSignatureAlgorithms = 0x000d
	ExtALPN                = 0x0010
	ExtSupportedVersions   = 0x002b
)

// ErrIncomplete says the bytes end before the message does: they are a valid
// prefix, so read more and parse again (TLS records and SSH packets split across
// TCP segments). It is distinct from "these bytes are not this protocol".
var ErrIncomplete = errors.New("message incomplete: more bytes are needed")

// ErrNotTLS says the bytes do not start with TLS records: stop buffering them.
var ErrNotTLS = errors.New("not a TLS stream")

// Extension is one hello extension as sent: its type and raw body.
type Extension struct {
	Type uint16
	Data []byte
}

// ClientHello is a parsed TLS ClientHello, every list in the order the client sent
// it, GREASE values included (the fingerprints drop them).
type ClientHello struct {
	RecordVersion uint16 // version in the first record header (0 when parsed from a bare message)
	Version       uint16 // legacy_version of the hello
	Random        []byte
	SessionID     []byte
	CipherSuites  []uint16
	Compression   []uint8
	// HasExtensions is false when the hello ends after the compression methods.
	HasExtensions bool
	Extensions    []Extension

	// Decoded from the extensions (first occurrence of each).
	ServerName          string   // SNI host_name
	ALPN                [][]byte // protocol names, raw bytes
	SupportedGroups     []uint16
	ECPointFormats      []uint8
	SignatureAlgorithms []uint16
	SupportedVersions   []uint16
}

// ServerHello is a parsed TLS ServerHello (also a HelloRetryRequest).
type ServerHello struct {
	RecordVersion    uint16
	Version          uint16 // legacy_version
	Random           []byte
	SessionID        []byte
	CipherSuite      uint16
	Compression      uint8
	HasExtensions    bool
	Extensions       []Extension
	SupportedVersion uint16 // version selected in supported_versions, 0 if absent
	ALPN             []byte // selected protocol
	HasALPN          bool   // the ALPN extension carried a protocol
}

// IsGREASE reports whether v is one of the GREASE values (RFC 8701): 0x0a0a,
// 0x1a1a, …, 0xfafa.
func IsGREASE(v uint16) bool { return v&0x0f0f == 0x0a0a && v>>8 == v&0xff }

// reader is a bounds-checked cursor over a byte slice.
type reader struct {
	b   []byte
	err error
}

func (r *reader) fail(what string) {
	if r.err == nil {
		r.err = fmt.Errorf("truncated or malformed %s", what)
	}
}

func (r *reader) u8(what string) uint8 {
	if r.err != nil || len(r.b) < 1 {
		r.fail(what)
		return 0
	}
	v := r.b[0]
	r.b = r.b[1:]
	return v
}

func (r *reader) u16(what string) uint16 {
	if r.err != nil || len(r.b) < 2 {
		r.fail(what)
		return 0
	}
	v := binary.BigEndian.Uint16(r.b)
	r.b = r.b[2:]
	return v
}

func (r *reader) bytes(n int, what string) []byte {
	if r.err != nil || n < 0 || len(r.b) < n {
		r.fail(what)
		return nil
	}
	v := r.b[:n:n]
	r.b = r.b[n:]
	return v
}

// vec8 and vec16 read a vector with a 1- or 2-byte length prefix.
func (r *reader) vec8(what string) []byte  { return r.bytes(int(r.u8(what)), what) }
func (r *reader) vec16(what string) []byte { return r.bytes(int(r.u16(what)), what) }

func u16list(b []byte, what string) ([]uint16, error) {
	if len(b)%2 != 0 {
		return nil, fmt.Errorf("%s has an odd length %d", what, len(b))
	}
	out := make([]uint16, len(b)/2)
	for i := range out {
		out[i] = binary.BigEndian.Uint16(b[2*i:])
	}
	return out, nil
}

// HandshakeMessages splits the TLS records at the start of b into the handshake
// messages they carry (each with its 4-byte header). A message may span records
// and a record may hold several messages. It stops at the first record that is
// neither handshake nor ChangeCipherSpec, and returns the complete messages found
// and how many bytes of b they came from. Handshake bytes after a ChangeCipherSpec
// are kept apart from those before it (in TLS 1.2 they are encrypted; in TLS 1.3
// a second ClientHello after a HelloRetryRequest follows one in plaintext).
// err is ErrIncomplete when b ends inside a record or a message (b is empty, or a
// valid prefix: read more), or wraps ErrNotTLS when the first bytes cannot start
// a TLS record (a stream split across TCP segments gets ErrIncomplete until the
// record is whole, and ErrNotTLS as early as its first byte when it is not TLS).
func HandshakeMessages(b []byte) (msgs [][]byte, consumed int, err error) {
	if !tlsRecordPrefix(b) {
		return nil, 0, fmt.Errorf("%w: the first bytes %q are not a TLS record header", ErrNotTLS, b[:min(len(b), recordHeaderLen)])
	}
	if len(b) == 0 {
		return nil, 0, ErrIncomplete
	}
	var hs []byte
	flush := func() {
		for len(hs) >= handshakeHeaderLen {
			n := handshakeHeaderLen + (int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3]))
			if len(hs) < n {
				return
			}
			msgs = append(msgs, hs[:n:n])
			hs = hs[n:]
		}
	}
	off := 0
	for off < len(b) {
		if len(b)-off < recordHeaderLen {
			return msgs, consumed, ErrIncomplete
		}
		typ := b[off]
		if b[off+1] != 3 {
			if len(msgs) == 0 {
				return nil, 0, fmt.Errorf("%w: record version %#04x is not TLS", ErrNotTLS, binary.BigEndian.Uint16(b[off+1:]))
			}
			return msgs, consumed, nil
		}
		n := int(binary.BigEndian.Uint16(b[off+3:]))
		if n > maxRecordLen {
			return msgs, consumed, fmt.Errorf("%w: record of %d bytes exceeds the TLS maximum", ErrNotTLS, n)
		}
		if typ != recordHandshake && typ != recordChangeCipherSpec {
			return msgs, consumed, nil
		}
		if len(b)-off-recordHeaderLen < n {
			return msgs, consumed, ErrIncomplete
		}
		frag := b[off+recordHeaderLen : off+recordHeaderLen+n]
		off += recordHeaderLen + n
		if typ == recordChangeCipherSpec {
			hs = nil // a partial message before CCS can never complete
			consumed = off
			continue
		}
		hs = append(hs, frag...)
		flush()
		if len(hs) == 0 {
			consumed = off
		}
	}
	if len(hs) > 0 {
		return msgs, consumed, ErrIncomplete
	}
	return msgs, consumed, nil
}

// tlsRecordPrefix reports whether b could start with a TLS record header: a
// content type 20–23, then major version 3, then minor version 0–4 (SSL 3.0 to the
// TLS 1.3 ceiling).
func tlsRecordPrefix(b []byte) bool {
	if len(b) >= 1 && (b[0] < recordChangeCipherSpec || b[0] > 23) {
		return false
	}
	if len(b) >= 2 && b[1] != 3 {
		return false
	}
	return len(b) < 3 || b[2] <= 4
}

// ParseClientHelloRecords parses the ClientHello carried by the TLS records at the
// start of b (the bytes a client sends first). It returns ErrIncomplete when b ends
// before the hello does (read more and call again) and an error wrapping ErrNotTLS
// when b does not start with TLS records.
func ParseClientHelloRecords(b []byte) (*ClientHello, error) {
	msgs, _, err := HandshakeMessages(b)
	if len(msgs) == 0 {
		if err == nil {
			err = errors.New("no handshake message in the records")
		}
		return nil, err
	}
	ch, perr := ParseClientHello(msgs[0])
	if perr != nil {
		return nil, perr
	}
	ch.RecordVersion = binary.BigEndian.Uint16(b[1:])
	return ch, nil
}

// ParseServerHelloRecords parses the ServerHello carried by the TLS records at the
// start of b (the bytes a server sends first). Errors as ParseClientHelloRecords.
func ParseServerHelloRecords(b []byte) (*ServerHello, error) {
	msgs, _, err := HandshakeMessages(b)
	if len(msgs) == 0 {
		if err == nil {
			err = errors.New("no handshake message in the records")
		}
		return nil, err
	}
	sh, perr := ParseServerHello(msgs[0])
	if perr != nil {
		return nil, perr
	}
	sh.RecordVersion = binary.BigEndian.Uint16(b[1:])
	return sh, nil
}

// handshakeBody checks a handshake message's header and returns its body.
func handshakeBody(msg []byte, want uint8, name string) ([]byte, error) {
	if len(msg) < handshakeHeaderLen {
		return nil, fmt.Errorf("%s: %w", name, ErrIncomplete)
	}
	if msg[0] != want {
		return nil, fmt.Errorf("handshake message type %d is not a %s", msg[0], name)
	}
	n := int(msg[1])<<16 | int(msg[2])<<8 | int(msg[3])
	if len(msg)-handshakeHeaderLen < n {
		return nil, fmt.Errorf("%s: %w", name, ErrIncomplete)
	}
	return msg[handshakeHeaderLen : handshakeHeaderLen+n], nil
}

// ParseClientHello parses one ClientHello handshake message (4-byte header
// included), as it appears in TLS records or in QUIC CRYPTO frames.
func ParseClientHello(msg []byte) (*ClientHello, error) {
	body, err := handshakeBody(msg, HandshakeClientHello, "ClientHello")
	if err != nil {
		return nil, err
	}
	r := &reader{b: body}
	ch := &ClientHello{}
	ch.Version = r.u16("ClientHello version")
	ch.Random = r.bytes(32, "ClientHello random")
	ch.SessionID = r.vec8("ClientHello session id")
	suites := r.vec16("ClientHello cipher suites")
	ch.Compression = r.vec8("ClientHello compression methods")
	if r.err != nil {
		return nil, fmt.Errorf("parse ClientHello: %w", r.err)
	}
	if len(ch.SessionID) > 32 {
		return nil, fmt.Errorf("parse ClientHello: session id of %d bytes is longer than 32", len(ch.SessionID))
	}
	if ch.CipherSuites, err = u16list(suites, "cipher suite list"); err != nil {
		return nil, fmt.Errorf("parse ClientHello: %w", err)
	}
	if len(r.b) == 0 {
		return ch, nil
	}
	ch.HasExtensions = true
	exts, err := parseExtensions(r)
	if err != nil {
		return nil, fmt.Errorf("parse ClientHello: %w", err)
	}
	ch.Extensions = exts
	seen := map[uint16]bool{}
	for _, e := range exts {
		if seen[e.Type] {
			continue
		}
		seen[e.Type] = true
		if err := ch.decode(e); err != nil {
			return nil, fmt.Errorf("parse ClientHello: extension %#04x: %w", e.Type, err)
		}
	}
	return ch, nil
}

func parseExtensions(r *reader) ([]Extension, error) {
	block := r.vec16("extensions length")
	if r.err != nil {
		return nil, r.err
	}
	var exts []Extension
	er := &reader{b: block}
	for len(er.b) > 0 {
		typ := er.u16("extension type")
		data := er.vec16("extension body")
		if er.err != nil {
			return nil, er.err
		}
		exts = append(exts, Extension{Type: typ, Data: data})
	}
	return exts, nil
}

// decode fills the decoded fields from one extension the fingerprints use.
func (ch *ClientHello) decode(e Extension) error {
	r := &reader{b: e.Data}
	var err error
	switch e.Type {
	case ExtServerName:
		if len(e.Data) == 0 { // a server's empty acknowledgement; clients send a list
			return nil
		}
		list := &reader{b: r.vec16("server name list")}
		for len(list.b) > 0 && list.err == nil {
			typ := list.u8("server name type")
			name := list.vec16("server name")
			if typ == 0 && list.err == nil && ch.ServerName == "" {
				ch.ServerName = string(name)
			}
		}
		if list.err != nil {
			return list.err
		}
	case ExtALPN:
		list := &reader{b: r.vec16("protocol name list")}
		for len(list.b) > 0 && list.err == nil {
			p := list.vec8("protocol name")
			if list.err == nil {
				ch.ALPN = append(ch.ALPN, p)
			}
		}
		if list.err != nil {
			return list.err
		}
	case ExtSupportedGroups:
		ch.SupportedGroups, err = u16list(r.vec16("supported groups"), "supported groups")
	case ExtECPointFormats:
		ch.ECPointFormats = r.vec8("point formats")
	case ExtSignatureAlgorithms:
		ch.SignatureAlgorithms, err = u16list(r.vec16("signature algorithms"), "signature algorithms")
	case ExtSupportedVersions:
		ch.SupportedVersions, err = u16list(r.vec8("supported versions"), "supported versions")
	}
	if r.err != nil {
		return r.err
	}
	return err
}

// ParseServerHello parses one ServerHello handshake message (4-byte header included).
func ParseServerHello(msg []byte) (*ServerHello, error) {
	body, err := handshakeBody(msg, HandshakeServerHello, "ServerHello")
	if err != nil {
		return nil, err
	}
	r := &reader{b: body}
	sh := &ServerHello{}
	sh.Version = r.u16("ServerHello version")
	sh.Random = r.bytes(32, "ServerHello random")
	sh.SessionID = r.vec8("ServerHello session id")
	sh.CipherSuite = r.u16("ServerHello cipher suite")
	sh.Compression = r.u8("ServerHello compression method")
	if r.err != nil {
		return nil, fmt.Errorf("parse ServerHello: %w", r.err)
	}
	if len(r.b) == 0 {
		return sh, nil
	}
	sh.HasExtensions = true
	if sh.Extensions, err = parseExtensions(r); err != nil {
		return nil, fmt.Errorf("parse ServerHello: %w", err)
	}
	for _, e := range sh.Extensions {
		er := &reader{b: e.Data}
		switch e.Type {
		case ExtSupportedVersions:
			if sh.SupportedVersion == 0 {
				if v := er.u16("selected version"); er.err == nil {
					sh.SupportedVersion = v
				}
			}
		case ExtALPN:
			if !sh.HasALPN {
				list := &reader{b: er.vec16("protocol name list")}
				p := list.vec8("protocol name")
				if er.err == nil && list.err == nil {
					sh.ALPN, sh.HasALPN = p, true
				}
			}
		}
	}
	return sh, nil
}

// ReadClientHello reads the records carrying a client's ClientHello from r, at most
// limit bytes, and returns every byte it read (to replay into a TLS server) and the
// parsed hello. It reads no byte past the record that completes the hello. When
// the bytes are not a TLS ClientHello, raw still holds what was read and err says why.
func ReadClientHello(r io.Reader, limit int) (raw []byte, ch *ClientHello, err error) {
	var hs []byte
	hdr := make([]byte, recordHeaderLen)
	for {
		if len(raw)+recordHeaderLen > limit {
			return raw, nil, fmt.Errorf("ClientHello longer than %d bytes", limit)
		}
		n, err := io.ReadFull(r, hdr)
		raw = append(raw, hdr[:n]...)
		if err != nil {
			return raw, nil, fmt.Errorf("read TLS record header: %w", err)
		}
		if hdr[0] != recordHandshake {
			return raw, nil, fmt.Errorf("first record type %d is not a TLS handshake", hdr[0])
		}
		if hdr[1] != 3 {
			return raw, nil, fmt.Errorf("record version %#04x is not TLS", binary.BigEndian.Uint16(hdr[1:]))
		}
		size := int(binary.BigEndian.Uint16(hdr[3:]))
		if size == 0 || size > maxRecordLen {
			return raw, nil, fmt.Errorf("handshake record of %d bytes", size)
		}
		if len(raw)+size > limit {
			return raw, nil, fmt.Errorf("ClientHello longer than %d bytes", limit)
		}
		start := len(raw)
		raw = append(raw, make([]byte, size)...)
		n, err = io.ReadFull(r, raw[start:])
		raw = raw[:start+n]
		if err != nil {
			return raw, nil, fmt.Errorf("read TLS record: %w", err)
		}
		hs = append(hs, raw[start:]...)
		if len(hs) >= handshakeHeaderLen {
			need := handshakeHeaderLen + (int(hs[1])<<16 | int(hs[2])<<8 | int(hs[3]))
			if hs[0] != HandshakeClientHello {
				return raw, nil, fmt.Errorf("first handshake message type %d is not a ClientHello", hs[0])
			}
			if need > limit {
				return raw, nil, fmt.Errorf("ClientHello of %d bytes is longer than %d", need, limit)
			}
			if len(hs) >= need {
				ch, err := ParseClientHello(hs[:need])
				if err != nil {
					return raw, nil, err
				}
				ch.RecordVersion = binary.BigEndian.Uint16(raw[1:])
				return raw, ch, nil
			}
		}
	}
}
