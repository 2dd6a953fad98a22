package mssql

// TDS (MS-TDS) framing, PRELOGIN, LOGIN7 and the pre-7.0 (TDS 4.2) LOGIN record,
// hand-written: the Go TDS packages (github.com/microsoft/go-mssqldb) are clients
// and expose no server side. Every offset and length is checked against the
// message; messages and packets are bounded.

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"

	"decnet/internal/services/ntlmssp"
)

// Packet types (MS-TDS 2.2.3.1.1).
const (
	pktSQLBatch  = 0x01
	pktTDS42     = 0x02 // pre-TDS 7 login
	pktRPC       = 0x03
	pktReply     = 0x04 // tabular result
	pktAttention = 0x06
	pktLogin7    = 0x10
	pktSSPI      = 0x11
	pktPrelogin  = 0x12
)

const (
	statusEOM   = 0x01
	headerLen   = 8
	maxPacket   = 32768    // largest packet size a client may negotiate
	maxMessage  = 64 << 10 // largest message assembled from packets
	maxPackets  = 64       // packets in one message
	defaultPack = 4096     // packet size before LOGIN7 negotiates one
)

// readPacket reads one TDS packet: its header fields and payload.
func readPacket(r io.Reader) (typ, status byte, payload []byte, err error) {
	var h [headerLen]byte
	if _, err = io.ReadFull(r, h[:]); err != nil {
		return 0, 0, nil, err
	}
	n := int(binary.BigEndian.Uint16(h[2:]))
	if n < headerLen || n > maxPacket {
		return 0, 0, nil, fmt.Errorf("tds packet length %d is outside %d..%d", n, headerLen, maxPacket)
	}
	payload = make([]byte, n-headerLen)
	if _, err = io.ReadFull(r, payload); err != nil {
		return 0, 0, nil, fmt.Errorf("tds packet body: %w", err)
	}
	return h[0], h[1], payload, nil
}

// readMessage reads packets until one carries the end-of-message status and returns
// the message type and its assembled payload.
func readMessage(r io.Reader) (byte, []byte, error) {
	var msg []byte
	var first byte
	for i := 0; i < maxPackets; i++ {
		typ, st, p, err := readPacket(r)
		if err != nil {
			return 0, nil, err
		}
		if i == 0 {
			first = typ
		} else if typ != first {
			return 0, nil, fmt.Errorf("tds message of type 0x%02x continues with a 0x%02x packet", first, typ)
		}
		if len(msg)+len(p) > maxMessage {
			return 0, nil, fmt.Errorf("tds message is over the %d-byte limit", maxMessage)
		}
		msg = append(msg, p...)
		if st&statusEOM != 0 {
			return first, msg, nil
		}
	}
	return 0, nil, fmt.Errorf("tds message spans more than %d packets", maxPackets)
}

// writeMessage frames payload as packets of type typ (packet id from 1, spid 0).
func writeMessage(w io.Writer, typ byte, payload []byte) error {
	id := byte(1)
	for {
		n := min(len(payload), defaultPack-headerLen)
		st := byte(0)
		if n == len(payload) {
			st = statusEOM
		}
		pkt := make([]byte, headerLen, headerLen+n)
		pkt[0], pkt[1] = typ, st
		binary.BigEndian.PutUint16(pkt[2:], uint16(headerLen+n))
		pkt[6] = id
		if _, err := w.Write(append(pkt, payload[:n]...)); err != nil {
			return err
		}
		payload = payload[n:]
		id++
		if st == statusEOM {
			return nil
		}
	}
}

// PRELOGIN option tokens (MS-TDS 2.2.6.5).
const (
	optVersion    = 0x00
	optEncryption = 0x01
	optInstOpt    = 0x02
	optThreadID   = 0x03
	optMARS       = 0x04
	optTraceID    = 0x05
	optFedAuth    = 0x06
	optNonce      = 0x07
	optTerminator = 0xff
)

// Encryption values.
const (
	encOff    = 0x00
	encOn     = 0x01
	encNotSup = 0x02
	encReq    = 0x03
)

var encNames = map[byte]string{encOff: "off", encOn: "on", encNotSup: "not_supported", encReq: "required"}

// prelogin is a parsed client PRELOGIN.
type prelogin struct {
	Options    []byte // tokens in the client's order
	Version    []byte // the client's 6-byte VERSION, when sent
	Encryption byte
	HasEnc     bool
	Instance   string
	ThreadID   uint32
	HasMARS    bool
	MARS       byte
}

// maxOptions bounds the option list of a PRELOGIN.
const maxOptions = 32

// parsePrelogin parses a PRELOGIN message payload.
func parsePrelogin(b []byte) (prelogin, error) {
	var p prelogin
	for i := 0; ; i += 5 {
		if i >= len(b) {
			return p, errors.New("prelogin option list has no terminator")
		}
		tok := b[i]
		if tok == optTerminator {
			return p, nil
		}
		if len(p.Options) == maxOptions {
			return p, fmt.Errorf("prelogin has more than %d options", maxOptions)
		}
		if i+5 > len(b) {
			return p, errors.New("prelogin option header is cut short")
		}
		off, l := int(binary.BigEndian.Uint16(b[i+1:])), int(binary.BigEndian.Uint16(b[i+3:]))
		if off > len(b) || l > len(b)-off {
			return p, fmt.Errorf("prelogin option 0x%02x (offset %d, length %d) is outside the %d-byte message", tok, off, l, len(b))
		}
		d := b[off : off+l]
		p.Options = append(p.Options, tok)
		switch tok {
		case optVersion:
			if l >= 6 {
				p.Version = d[:6]
			}
		case optEncryption:
			if l >= 1 {
				p.Encryption, p.HasEnc = d[0], true
			}
		case optInstOpt:
			s := string(d)
			if k := strings.IndexByte(s, 0); k >= 0 {
				s = s[:k]
			}
			p.Instance = s
		case optThreadID:
			if l >= 4 {
				p.ThreadID = binary.BigEndian.Uint32(d)
			}
		case optMARS:
			if l >= 1 {
				p.HasMARS, p.MARS = true, d[0]
			}
		}
	}
}

// versionString renders a PRELOGIN VERSION (major.minor.build.subbuild).
func versionString(v []byte) string {
	if len(v) < 6 {
		return ""
	}
	return fmt.Sprintf("%d.%d.%d.%d", v[0], v[1], binary.BigEndian.Uint16(v[2:]), binary.LittleEndian.Uint16(v[4:]))
}

// preloginResponse is the server's PRELOGIN answer: VERSION, ENCRYPTION, INSTOPT,
// THREADID (empty) and MARS when the client sent it, in that order, as SQL Server
// answers.
func preloginResponse(version [4]byte, enc byte, mars bool) []byte {
	type opt struct {
		tok  byte
		data []byte
	}
	opts := []opt{
		{optVersion, []byte{version[0], version[1], version[2], version[3], 0, 0}},
		{optEncryption, []byte{enc}},
		{optInstOpt, []byte{0}},
		{optThreadID, nil},
	}
	if mars {
		opts = append(opts, opt{optMARS, []byte{0}})
	}
	off := 5*len(opts) + 1
	var hdr, data []byte
	for _, o := range opts {
		hdr = append(hdr, o.tok, byte(off>>8), byte(off), byte(len(o.data)>>8), byte(len(o.data)))
		data = append(data, o.data...)
		off += len(o.data)
	}
	return append(append(hdr, optTerminator), data...)
}

// login is what a client's login (LOGIN7 or TDS 4.2) carries.
type login struct {
	TDSVersion uint32 // LOGIN7's TDSVersion (0x74000004 for 7.4); 0x42000000 for a TDS 4.2 login
	PacketSize uint32
	ClientPID  uint32
	Host       string
	User       string
	Password   string
	App        string
	Server     string
	Library    string
	Language   string
	Database   string
	ClientMAC  string
	SSPI       []byte // integrated authentication token (NTLMSSP or SPNEGO)
	IntSec     bool   // fIntSecurity
}

// login7Fixed is the fixed part of LOGIN7 from TDS 7.2 (7.0/7.1: 86 bytes).
const login7Fixed = 94

// parseLogin7 parses a LOGIN7 message payload (MS-TDS 2.2.6.4).
func parseLogin7(b []byte) (login, error) {
	var l login
	if len(b) < 86 {
		return l, fmt.Errorf("login7 of %d bytes is too short", len(b))
	}
	if n := binary.LittleEndian.Uint32(b); int(n) > len(b) || n < 86 {
		return l, fmt.Errorf("login7 length field %d does not fit the %d-byte message", n, len(b))
	}
	l.TDSVersion = binary.LittleEndian.Uint32(b[4:])
	l.PacketSize = binary.LittleEndian.Uint32(b[8:])
	l.ClientPID = binary.LittleEndian.Uint32(b[16:])
	l.IntSec = b[25]&0x80 != 0
	str := func(off int) (string, error) {
		o, n := int(binary.LittleEndian.Uint16(b[off:])), 2*int(binary.LittleEndian.Uint16(b[off+2:]))
		if n == 0 {
			return "", nil
		}
		if o > len(b) || n > len(b)-o {
			return "", fmt.Errorf("login7 field at %d (offset %d, %d bytes) is outside the %d-byte message", off, o, n, len(b))
		}
		return ntlmssp.FromUTF16LE(b[o : o+n]), nil
	}
	var err error
	for _, f := range []struct {
		off int
		dst *string
	}{{36, &l.Host}, {40, &l.User}, {48, &l.App}, {52, &l.Server}, {60, &l.Library}, {64, &l.Language}, {68, &l.Database}} {
		if *f.dst, err = str(f.off); err != nil {
			return l, err
		}
	}
	// The password is obfuscated: each byte had its nibbles swapped, then was XORed
	// with 0xA5.
	o, n := int(binary.LittleEndian.Uint16(b[44:])), 2*int(binary.LittleEndian.Uint16(b[46:]))
	if n > 0 {
		if o > len(b) || n > len(b)-o {
			return l, fmt.Errorf("login7 password (offset %d, %d bytes) is outside the %d-byte message", o, n, len(b))
		}
		l.Password = ntlmssp.FromUTF16LE(deobfuscate(b[o : o+n]))
	}
	l.ClientMAC = fmt.Sprintf("%02x:%02x:%02x:%02x:%02x:%02x", b[72], b[73], b[74], b[75], b[76], b[77])
	so, sn := int(binary.LittleEndian.Uint16(b[78:])), int(binary.LittleEndian.Uint16(b[80:]))
	if sn == 0xffff && len(b) >= login7Fixed { // cbSSPILong holds the length
		sn = int(binary.LittleEndian.Uint32(b[90:]))
	}
	if sn > 0 {
		if so > len(b) || sn > len(b)-so {
			return l, fmt.Errorf("login7 sspi token (offset %d, %d bytes) is outside the %d-byte message", so, sn, len(b))
		}
		l.SSPI = b[so : so+sn]
	}
	return l, nil
}

// deobfuscate undoes LOGIN7's password obfuscation.
func deobfuscate(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		c ^= 0xa5
		out[i] = c<<4 | c>>4
	}
	return out
}

// obfuscate is what a client does to its password (tests build logins with it).
func obfuscate(b []byte) []byte {
	out := make([]byte, len(b))
	for i, c := range b {
		out[i] = (c<<4 | c>>4) ^ 0xa5
	}
	return out
}

// parseTDS42Login parses the fixed LOGINREC of a pre-7.0 login (Sybase/TDS 4.2,
// what DB-Library clients and hydra's mssql module send): 30-byte fields each
// followed by a length byte.
func parseTDS42Login(b []byte) (login, error) {
	var l login
	if len(b) < 171 {
		return l, fmt.Errorf("tds 4.2 login of %d bytes is too short", len(b))
	}
	field := func(off int) string {
		n := min(int(b[off+30]), 30)
		return ntlmssp.OEMString(b[off : off+n])
	}
	l.TDSVersion = 0x42000000
	l.Host, l.User, l.Password = field(0), field(31), field(62)
	l.App = field(140)
	if len(b) >= 472 {
		n := min(int(b[471]), 10)
		l.Library = ntlmssp.OEMString(b[462 : 462+n])
	}
	return l, nil
}

// tdsVersionName renders a LOGIN7 TDSVersion as the protocol version it means.
func tdsVersionName(v uint32) string {
	switch v {
	case 0x42000000:
		return "4.2"
	case 0x70000000:
		return "7.0"
	case 0x71000000, 0x71000001:
		return "7.1"
	case 0x72090002:
		return "7.2"
	case 0x730a0003, 0x730b0003:
		return "7.3"
	case 0x74000004:
		return "7.4"
	case 0x08000000:
		return "8.0"
	}
	return fmt.Sprintf("0x%08x", v)
}

// Tokens of the server's reply.
const (
	tokError = 0xaa
	tokSSPI  = 0xed
	tokDone  = 0xfd
)

// errorToken builds an ERROR token (MS-TDS 2.2.7.10). LineNumber is 4 bytes from
// TDS 7.2, 2 bytes before.
func errorToken(number int32, state, class byte, msg, server string, tds uint32) []byte {
	var d []byte
	d = binary.LittleEndian.AppendUint32(d, uint32(number))
	d = append(d, state, class)
	m := ntlmssp.UTF16LE(msg)
	d = binary.LittleEndian.AppendUint16(d, uint16(len(m)/2))
	d = append(d, m...)
	s := ntlmssp.UTF16LE(server)
	d = append(d, byte(len(s)/2))
	d = append(d, s...)
	d = append(d, 0) // ProcName: empty
	if modern(tds) {
		d = binary.LittleEndian.AppendUint32(d, 1)
	} else {
		d = binary.LittleEndian.AppendUint16(d, 1)
	}
	out := []byte{tokError}
	out = binary.LittleEndian.AppendUint16(out, uint16(len(d)))
	return append(out, d...)
}

// doneError is a DONE token with DONE_ERROR (row count 8 bytes from TDS 7.2).
func doneError(tds uint32) []byte {
	d := []byte{tokDone, 0x02, 0x00, 0x00, 0x00}
	if modern(tds) {
		return append(d, make([]byte, 8)...)
	}
	return append(d, make([]byte, 4)...)
}

func sspiToken(tok []byte) []byte {
	out := []byte{tokSSPI}
	out = binary.LittleEndian.AppendUint16(out, uint16(len(tok)))
	return append(out, tok...)
}

// modern reports TDS 7.2 or later (8-byte row counts, 4-byte line numbers).
func modern(tds uint32) bool {
	return tds >= 0x72000000 && tds != 0x42000000 || tds == 0x08000000
}

// tlsFramer carries the TLS handshake inside PRELOGIN packets, as TDS 7.x does:
// while wrap is set, writes are framed as PRELOGIN packets and reads unwrap them;
// afterwards the TLS records flow raw on the connection.
type tlsFramer struct {
	net.Conn
	r       *bufio.Reader
	wrap    bool
	pending []byte
}

func (f *tlsFramer) Read(p []byte) (int, error) {
	if !f.wrap {
		return f.r.Read(p)
	}
	for len(f.pending) == 0 {
		typ, _, payload, err := readPacket(f.r)
		if err != nil {
			return 0, err
		}
		if typ != pktPrelogin {
			return 0, fmt.Errorf("tds packet of type 0x%02x during the tls handshake", typ)
		}
		f.pending = payload
	}
	n := copy(p, f.pending)
	f.pending = f.pending[n:]
	return n, nil
}

func (f *tlsFramer) Write(p []byte) (int, error) {
	if !f.wrap {
		return f.Conn.Write(p)
	}
	if err := writeMessage(f.Conn, pktPrelogin, p); err != nil {
		return 0, err
	}
	return len(p), nil
}
