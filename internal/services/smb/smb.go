package smb

import (
	"context"
	"crypto/rand"
	"encoding/asn1"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/services/ntlmssp"
)

// MaxMessage bounds one SMB message (NetBIOS session frame). Negotiate and session
// setup messages are a few KiB; a Kerberos ticket can reach tens of KiB.
const MaxMessage = 128 << 10

// MaxMessages bounds the messages one connection may send before it is closed: a
// logon takes three, a scanner a handful.
const MaxMessages = 256

// NT status codes.
const (
	statusSuccess                = 0x00000000
	statusMoreProcessingRequired = 0xC0000016
	statusLogonFailure           = 0xC000006D
	statusAccessDenied           = 0xC0000022
	statusInvalidParameter       = 0xC000000D
	statusNotSupported           = 0xC00000BB
	statusUserSessionDeleted     = 0xC0000203
	statusRequestNotAccepted     = 0xC00000D0
)

func run(ctx context.Context, rt *service.Runtime) error {
	p, err := newPersona(rt)
	if err != nil {
		return err
	}
	return rt.ServeTCP(ctx, Port, func(ctx context.Context, c *service.Conn) {
		(&conn{p: p, c: c, rt: rt}).serve()
	})
}

// conn is one client connection.
type conn struct {
	p  *persona
	rt *service.Runtime
	c  *service.Conn

	dialect    uint16 // negotiated SMB2 dialect; 0 before NEGOTIATE
	smb1       bool   // SMB1 dialect negotiated (NT LM 0.12)
	smb1ExtSec bool
	challenge  [8]byte
	negFlags   uint32 // the client's NTLM NEGOTIATE flags
	sessionID  uint64
	clientOS   string
	fpSent     bool
}

var errFrameTooBig = errors.New("smb frame exceeds the size limit")

// readFrame reads one NetBIOS session service frame (RFC 1002; on 445 "direct
// hosting": a zero type byte and a 24-bit length).
func readFrame(r io.Reader, buf []byte) ([]byte, byte, error) {
	var h [4]byte
	if _, err := io.ReadFull(r, h[:]); err != nil {
		return nil, 0, err
	}
	n := int(h[1])<<16 | int(h[2])<<8 | int(h[3])
	if n > MaxMessage {
		return nil, h[0], fmt.Errorf("%w: %d bytes, limit %d", errFrameTooBig, n, MaxMessage)
	}
	if n > len(buf) {
		buf = make([]byte, n)
	}
	if _, err := io.ReadFull(r, buf[:n]); err != nil {
		return nil, h[0], err
	}
	return buf[:n], h[0], nil
}

func writeFrame(w io.Writer, msg []byte) error {
	out := make([]byte, 4+len(msg))
	out[1], out[2], out[3] = byte(len(msg)>>16), byte(len(msg)>>8), byte(len(msg))
	copy(out[4:], msg)
	_, err := w.Write(out)
	return err
}

func (cn *conn) serve() {
	buf := make([]byte, 4096)
	for i := 0; i < MaxMessages; i++ {
		msg, typ, err := readFrame(cn.c, buf)
		if err != nil {
			if errors.Is(err, errFrameTooBig) {
				cn.c.Emit(event.Error, map[string]string{"error": err.Error()}, "")
			}
			return
		}
		switch typ {
		case 0x00: // session message
		case 0x85: // keepalive
			continue
		default:
			// NetBIOS session requests belong to 139/tcp; Windows drops them on 445.
			cn.c.Emit(event.Error, map[string]string{"error": fmt.Sprintf("netbios frame type 0x%02x on 445/tcp", typ)}, "")
			return
		}
		var reply []byte
		var keep bool
		switch {
		case len(msg) >= 4 && string(msg[:4]) == "\xfeSMB":
			reply, keep = cn.handleSMB2(msg)
		case len(msg) >= 4 && string(msg[:4]) == "\xffSMB":
			reply, keep = cn.handleSMB1(msg)
		case len(msg) >= 4 && string(msg[:4]) == "\xfdSMB":
			// An encrypted (transform) message before any session: nothing to decrypt.
			keep = false
		default:
			cn.c.Emit(event.Error, map[string]string{"error": "not an SMB message", "data_b64": base64.StdEncoding.EncodeToString(clipBytes(msg, 256))}, "")
			return
		}
		if reply != nil {
			if err := writeFrame(cn.c, reply); err != nil {
				return
			}
		}
		if !keep {
			return
		}
	}
}

// SMB2 commands.
const (
	smb2Negotiate    = 0x0000
	smb2SessionSetup = 0x0001
	smb2Logoff       = 0x0002
	smb2TreeConnect  = 0x0003
	smb2Echo         = 0x000D
)

var smb2Commands = []string{"NEGOTIATE", "SESSION_SETUP", "LOGOFF", "TREE_CONNECT", "TREE_DISCONNECT", "CREATE", "CLOSE", "FLUSH", "READ", "WRITE", "LOCK", "IOCTL", "CANCEL", "ECHO", "QUERY_DIRECTORY", "CHANGE_NOTIFY", "QUERY_INFO", "SET_INFO", "OPLOCK_BREAK"}

const smb2HeaderLen = 64

// smb2Header is a parsed SMB2 packet header (MS-SMB2 2.2.1).
type smb2Header struct {
	CreditCharge uint16
	Command      uint16
	Credits      uint16
	Flags        uint32
	NextCommand  uint32
	MessageID    uint64
	ProcessID    uint32
	TreeID       uint32
	AsyncID      uint64
	SessionID    uint64
}

const (
	smb2FlagResponse = 0x00000001
	smb2FlagAsync    = 0x00000002
)

func parseSMB2Header(b []byte) (smb2Header, error) {
	var h smb2Header
	if len(b) < smb2HeaderLen {
		return h, fmt.Errorf("smb2 message of %d bytes is shorter than its header", len(b))
	}
	if string(b[:4]) != "\xfeSMB" || binary.LittleEndian.Uint16(b[4:]) != smb2HeaderLen {
		return h, errors.New("smb2 header has a bad protocol id or structure size")
	}
	h.CreditCharge = binary.LittleEndian.Uint16(b[6:])
	h.Command = binary.LittleEndian.Uint16(b[12:])
	h.Credits = binary.LittleEndian.Uint16(b[14:])
	h.Flags = binary.LittleEndian.Uint32(b[16:])
	h.NextCommand = binary.LittleEndian.Uint32(b[20:])
	h.MessageID = binary.LittleEndian.Uint64(b[24:])
	if h.Flags&smb2FlagAsync != 0 {
		h.AsyncID = binary.LittleEndian.Uint64(b[32:])
	} else {
		h.ProcessID = binary.LittleEndian.Uint32(b[32:])
		h.TreeID = binary.LittleEndian.Uint32(b[36:])
	}
	h.SessionID = binary.LittleEndian.Uint64(b[40:])
	return h, nil
}

// smb2Response builds a response header followed by body.
func smb2Response(req smb2Header, status uint32, credits uint16, sessionID uint64, body []byte) []byte {
	b := make([]byte, smb2HeaderLen, smb2HeaderLen+len(body))
	copy(b, "\xfeSMB")
	binary.LittleEndian.PutUint16(b[4:], smb2HeaderLen)
	binary.LittleEndian.PutUint16(b[6:], req.CreditCharge)
	binary.LittleEndian.PutUint32(b[8:], status)
	binary.LittleEndian.PutUint16(b[12:], req.Command)
	binary.LittleEndian.PutUint16(b[14:], credits)
	binary.LittleEndian.PutUint32(b[16:], smb2FlagResponse|req.Flags&smb2FlagAsync)
	binary.LittleEndian.PutUint64(b[24:], req.MessageID)
	if req.Flags&smb2FlagAsync != 0 {
		binary.LittleEndian.PutUint64(b[32:], req.AsyncID)
	} else {
		binary.LittleEndian.PutUint32(b[32:], 0xfeff) // what Windows puts in Reserved
		binary.LittleEndian.PutUint32(b[36:], req.TreeID)
	}
	binary.LittleEndian.PutUint64(b[40:], sessionID)
	return append(b, body...)
}

// smb2Error is an ERROR response body (MS-SMB2 2.2.2).
var smb2Error = []byte{9, 0, 0, 0, 0, 0, 0, 0, 0}

func grant(req smb2Header) uint16 {
	switch {
	case req.Credits == 0:
		return 1
	case req.Credits > 256:
		return 256
	}
	return req.Credits
}

// handleSMB2 answers one SMB2 message (a compound chain is answered element by
// element, chained the same way). keep is false when the connection should close.
func (cn *conn) handleSMB2(msg []byte) ([]byte, bool) {
	var out []byte
	for n := 0; n < 16; n++ {
		h, err := parseSMB2Header(msg)
		if err != nil {
			cn.c.Emit(event.Error, map[string]string{"error": err.Error()}, "")
			return nil, false
		}
		if h.Flags&smb2FlagResponse != 0 {
			return nil, false
		}
		elem := msg
		if h.NextCommand != 0 {
			if int(h.NextCommand) < smb2HeaderLen || int(h.NextCommand) > len(msg) || h.NextCommand%8 != 0 {
				return nil, false
			}
			elem = msg[:h.NextCommand]
		}
		reply, keep := cn.smb2Command(h, elem)
		if !keep {
			return nil, false
		}
		if h.NextCommand == 0 {
			if out == nil {
				return reply, true
			}
			return append(out, reply...), true
		}
		// Chain this reply to the next: pad to 8 and set NextCommand.
		for len(reply)%8 != 0 {
			reply = append(reply, 0)
		}
		binary.LittleEndian.PutUint32(reply[20:], uint32(len(reply)))
		out = append(out, reply...)
		msg = msg[h.NextCommand:]
	}
	return nil, false
}

func (cn *conn) smb2Command(h smb2Header, msg []byte) ([]byte, bool) {
	switch h.Command {
	case smb2Negotiate:
		return cn.negotiate(h, msg)
	case smb2SessionSetup:
		if cn.dialect == 0 {
			return nil, false // Windows drops a session setup before negotiate
		}
		return cn.sessionSetup(h, msg)
	case smb2Echo:
		return smb2Response(h, statusSuccess, grant(h), h.SessionID, []byte{4, 0, 0, 0}), true
	case smb2Logoff:
		return smb2Response(h, statusUserSessionDeleted, grant(h), h.SessionID, smb2Error), true
	}
	name := fmt.Sprintf("0x%04x", h.Command)
	if int(h.Command) < len(smb2Commands) {
		name = smb2Commands[h.Command]
	}
	if cn.dialect == 0 {
		return nil, false
	}
	cn.c.Emit(event.Request, map[string]string{"command": name, "session_id": fmt.Sprintf("0x%016x", h.SessionID)}, "")
	return smb2Response(h, statusUserSessionDeleted, grant(h), h.SessionID, smb2Error), true
}

// negotiateReq is a parsed SMB2 NEGOTIATE request (MS-SMB2 2.2.3).
type negotiateReq struct {
	Dialects     []uint16
	SecurityMode uint16
	Capabilities uint32
	ClientGUID   [16]byte
	PreauthHash  []uint16
	Ciphers      []uint16
	SigningAlgs  []uint16
	NetName      string
	HasCiphers   bool
	HasSigning   bool
}

func parseNegotiateReq(msg []byte) (negotiateReq, error) {
	var r negotiateReq
	b := msg[smb2HeaderLen:]
	if len(b) < 36 || binary.LittleEndian.Uint16(b) != 36 {
		return r, errors.New("smb2 negotiate request has a bad structure size")
	}
	count := int(binary.LittleEndian.Uint16(b[2:]))
	if count == 0 || count > 64 || 36+2*count > len(b) {
		return r, fmt.Errorf("smb2 negotiate request has %d dialects in %d bytes", count, len(b))
	}
	r.SecurityMode = binary.LittleEndian.Uint16(b[4:])
	r.Capabilities = binary.LittleEndian.Uint32(b[8:])
	copy(r.ClientGUID[:], b[12:28])
	for i := 0; i < count; i++ {
		r.Dialects = append(r.Dialects, binary.LittleEndian.Uint16(b[36+2*i:]))
	}
	has311 := false
	for _, d := range r.Dialects {
		has311 = has311 || d == 0x0311
	}
	if !has311 {
		return r, nil
	}
	off := int(binary.LittleEndian.Uint32(b[28:]))
	n := int(binary.LittleEndian.Uint16(b[32:]))
	if n > 32 {
		return r, fmt.Errorf("smb2 negotiate request has %d negotiate contexts", n)
	}
	for i := 0; i < n; i++ {
		if off+8 > len(msg) || off < smb2HeaderLen {
			return r, errors.New("smb2 negotiate context is outside the message")
		}
		typ := binary.LittleEndian.Uint16(msg[off:])
		l := int(binary.LittleEndian.Uint16(msg[off+2:]))
		if off+8+l > len(msg) {
			return r, errors.New("smb2 negotiate context data is outside the message")
		}
		data := msg[off+8 : off+8+l]
		switch typ {
		case 1: // PREAUTH_INTEGRITY_CAPABILITIES
			r.PreauthHash = u16list(data, 0, 4)
		case 2: // ENCRYPTION_CAPABILITIES
			r.Ciphers, r.HasCiphers = u16list(data, 0, 2), true
		case 5: // NETNAME_NEGOTIATE_CONTEXT_ID
			r.NetName = ntlmssp.FromUTF16LE(data)
		case 8: // SIGNING_CAPABILITIES
			r.SigningAlgs, r.HasSigning = u16list(data, 0, 2), true
		}
		off += 8 + l
		off = (off + 7) &^ 7
	}
	return r, nil
}

// u16list reads a count at data[countAt] and that many uint16 values from data[at].
func u16list(data []byte, countAt, at int) []uint16 {
	if countAt+2 > len(data) {
		return nil
	}
	n := int(binary.LittleEndian.Uint16(data[countAt:]))
	var out []uint16
	for i := 0; i < n && at+2*i+2 <= len(data) && i < 32; i++ {
		out = append(out, binary.LittleEndian.Uint16(data[at+2*i:]))
	}
	return out
}

func dialectName(d uint16) string {
	for n, v := range dialectNames {
		if v == d {
			return n
		}
	}
	if d == 0x02ff {
		return "2.???"
	}
	return fmt.Sprintf("0x%04x", d)
}

func (cn *conn) negotiate(h smb2Header, msg []byte) ([]byte, bool) {
	req, err := parseNegotiateReq(msg)
	if err != nil {
		cn.c.Emit(event.Error, map[string]string{"error": err.Error()}, "")
		return smb2Response(h, statusInvalidParameter, 1, 0, smb2Error), false
	}
	var chosen uint16
	for _, d := range cn.p.dialects {
		for _, c := range req.Dialects {
			if c == d && d > chosen {
				chosen = d
			}
		}
	}
	names := make([]string, len(req.Dialects))
	for i, d := range req.Dialects {
		names[i] = dialectName(d)
	}
	f := map[string]string{
		"smb_version": "smb2",
		"dialects":    strings.Join(names, ","),
		"client_guid": guidString(req.ClientGUID),
		"dialect":     dialectName(chosen),
	}
	if req.NetName != "" {
		f["netname"] = service.Printable(req.NetName, 256)
	}
	cn.c.Emit(event.Fingerprint, f, "")
	if chosen == 0 {
		return smb2Response(h, statusNotSupported, 1, 0, smb2Error), false
	}
	cn.dialect = chosen
	return smb2Response(h, statusSuccess, 1, 0, cn.negotiateBody(chosen, &req)), true
}

func (cn *conn) capabilities(d uint16) uint32 {
	const (
		dfs, leasing, largeMTU, multiChannel, persistent, dirLeasing, encryption = 0x1, 0x2, 0x4, 0x8, 0x10, 0x20, 0x40
	)
	switch {
	case d == 0x0202:
		return dfs
	case d == 0x0210 || d == 0x02ff:
		return dfs | leasing | largeMTU
	}
	c := uint32(dfs | leasing | largeMTU | multiChannel)
	if !cn.p.samba {
		c |= dirLeasing
		if cn.p.build >= 17763 && !cn.p.isWorkstation() {
			c |= persistent
		}
	}
	if d == 0x0300 || d == 0x0302 {
		c |= encryption
	}
	return c
}

func (p *persona) isWorkstation() bool { return p.build != 0 && p.build != 17763 && p.build != 20348 }

// mechList is the SPNEGO mechanism list the server offers: Windows lists NEGOEX,
// Kerberos and NTLMSSP; a standalone Samba only NTLMSSP.
func (cn *conn) mechList() []asn1.ObjectIdentifier {
	if cn.p.samba && !cn.p.target.DomainJoined {
		return []asn1.ObjectIdentifier{ntlmssp.OIDNTLMSSP}
	}
	if cn.p.samba {
		return []asn1.ObjectIdentifier{ntlmssp.OIDMSKRB5, ntlmssp.OIDKRB5, ntlmssp.OIDNTLMSSP}
	}
	return []asn1.ObjectIdentifier{ntlmssp.OIDNegoEx, ntlmssp.OIDMSKRB5, ntlmssp.OIDKRB5, ntlmssp.OIDKRB5U2U, ntlmssp.OIDNTLMSSP}
}

// negotiateBody builds the NEGOTIATE response body (MS-SMB2 2.2.4).
func (cn *conn) negotiateBody(d uint16, req *negotiateReq) []byte {
	sec := ntlmssp.NegTokenInit2(cn.mechList())
	b := make([]byte, 64, 64+len(sec)+128)
	binary.LittleEndian.PutUint16(b[0:], 65)
	mode := uint16(1)
	if cn.p.signingRequired {
		mode |= 2
	}
	binary.LittleEndian.PutUint16(b[2:], mode)
	binary.LittleEndian.PutUint16(b[4:], d)
	copy(b[8:24], cn.p.guid[:])
	binary.LittleEndian.PutUint32(b[24:], cn.capabilities(d))
	binary.LittleEndian.PutUint32(b[28:], 8<<20)
	binary.LittleEndian.PutUint32(b[32:], 8<<20)
	binary.LittleEndian.PutUint32(b[36:], 8<<20)
	binary.LittleEndian.PutUint64(b[40:], ntlmssp.Filetime(time.Now()))
	binary.LittleEndian.PutUint64(b[48:], 0)
	binary.LittleEndian.PutUint16(b[56:], smb2HeaderLen+64)
	binary.LittleEndian.PutUint16(b[58:], uint16(len(sec)))
	b = append(b, sec...)
	if d != 0x0311 || req == nil {
		return b
	}
	// Negotiate contexts start 8-aligned from the start of the SMB2 header.
	for (smb2HeaderLen+len(b))%8 != 0 {
		b = append(b, 0)
	}
	binary.LittleEndian.PutUint32(b[60:], uint32(smb2HeaderLen+len(b)))
	var ctxs [][]byte
	salt := make([]byte, 32)
	rand.Read(salt)
	pre := []byte{1, 0, 32, 0, 1, 0} // one algorithm (SHA-512), 32-byte salt
	ctxs = append(ctxs, negContext(1, append(pre, salt...)))
	if req.HasCiphers {
		cipher := pick([]uint16{2, 1, 4, 3}, req.Ciphers) // AES-128-GCM, -CCM, AES-256-GCM, -CCM
		ctxs = append(ctxs, negContext(2, []byte{1, 0, byte(cipher), byte(cipher >> 8)}))
	}
	if req.HasSigning && (cn.p.samba || cn.p.build >= 20348) {
		alg := pick([]uint16{2, 1, 0}, req.SigningAlgs) // AES-GMAC, AES-CMAC, HMAC-SHA256
		ctxs = append(ctxs, negContext(8, []byte{1, 0, byte(alg), byte(alg >> 8)}))
	}
	binary.LittleEndian.PutUint16(b[6:], uint16(len(ctxs)))
	for i, c := range ctxs {
		b = append(b, c...)
		if i < len(ctxs)-1 {
			for (smb2HeaderLen+len(b))%8 != 0 {
				b = append(b, 0)
			}
		}
	}
	return b
}

// pick returns the first of the server's preferences the client offers, else 0.
func pick(pref, offered []uint16) uint16 {
	for _, p := range pref {
		for _, o := range offered {
			if p == o {
				return p
			}
		}
	}
	return 0
}

func negContext(typ uint16, data []byte) []byte {
	b := make([]byte, 8, 8+len(data))
	binary.LittleEndian.PutUint16(b, typ)
	binary.LittleEndian.PutUint16(b[2:], uint16(len(data)))
	return append(b, data...)
}

// sessionSetup handles SESSION_SETUP (MS-SMB2 2.2.5): the SPNEGO/NTLMSSP exchange.
func (cn *conn) sessionSetup(h smb2Header, msg []byte) ([]byte, bool) {
	b := msg[smb2HeaderLen:]
	if len(b) < 24 || binary.LittleEndian.Uint16(b) != 25 {
		return smb2Response(h, statusInvalidParameter, grant(h), h.SessionID, smb2Error), true
	}
	off := int(binary.LittleEndian.Uint16(b[12:]))
	l := int(binary.LittleEndian.Uint16(b[14:]))
	if off < smb2HeaderLen || off+l > len(msg) {
		return smb2Response(h, statusInvalidParameter, grant(h), h.SessionID, smb2Error), true
	}
	status, blob := cn.security(msg[off : off+l])
	sid := h.SessionID
	if sid == 0 || sid != cn.sessionID {
		if status == statusMoreProcessingRequired {
			cn.sessionID = newSessionID()
			sid = cn.sessionID
		}
	}
	if status != statusMoreProcessingRequired && status != statusSuccess {
		return smb2Response(h, status, grant(h), sid, smb2Error), true
	}
	body := make([]byte, 8, 8+len(blob))
	binary.LittleEndian.PutUint16(body, 9)
	binary.LittleEndian.PutUint16(body[4:], smb2HeaderLen+8)
	binary.LittleEndian.PutUint16(body[6:], uint16(len(blob)))
	return smb2Response(h, status, grant(h), sid, append(body, blob...)), true
}

func newSessionID() uint64 {
	var b [8]byte
	rand.Read(b[:])
	// Windows session ids: a small counter in the low bits, an allocation tag above.
	return binary.LittleEndian.Uint64(b[:])&0x0000ffff_fffffff0 | 0x0000_1000_0000_0001
}

// security runs one step of the SPNEGO/NTLMSSP exchange on a client blob and returns
// the NT status and the server's blob (SPNEGO-wrapped like the client's).
func (cn *conn) security(blob []byte) (uint32, []byte) {
	tok, err := ntlmssp.ParseGSS(blob)
	if err != nil {
		cn.c.Emit(event.Error, map[string]string{"error": err.Error(), "data_b64": base64.StdEncoding.EncodeToString(clipBytes(blob, 512))}, "")
		return statusLogonFailure, nil
	}
	wrap := func(state int, mech asn1.ObjectIdentifier, t []byte) []byte {
		if tok.Raw {
			return t
		}
		return ntlmssp.NegTokenResp(state, mech, t)
	}
	if len(tok.MechToken) < 12 || string(tok.MechToken[:8]) != string(ntlmssp.Signature) {
		if len(tok.Mechs) > 0 {
			// An optimistic Kerberos (or other) token: steer the client to NTLMSSP.
			mechs := make([]string, len(tok.Mechs))
			for i, m := range tok.Mechs {
				mechs[i] = m.String()
			}
			cn.c.Emit(event.Request, map[string]string{"kind": "spnego", "mechs": strings.Join(mechs, ",")}, "")
			return statusMoreProcessingRequired, ntlmssp.NegTokenResp(ntlmssp.NegAcceptIncomplete, ntlmssp.OIDNTLMSSP, nil)
		}
		return statusLogonFailure, nil
	}
	switch binary.LittleEndian.Uint32(tok.MechToken[8:]) {
	case ntlmssp.TypeNegotiate:
		neg, err := ntlmssp.ParseNegotiate(tok.MechToken)
		if err != nil {
			cn.c.Emit(event.Error, map[string]string{"error": err.Error()}, "")
			return statusInvalidParameter, nil
		}
		cn.negFlags = neg.Flags
		if neg.Version != nil {
			cn.clientOS = neg.Version.String()
		}
		fillRandom(cn.challenge[:])
		ch := ntlmssp.BuildChallenge(ntlmssp.ChallengeFlags(neg.Flags, cn.p.target), cn.challenge, cn.p.target)
		return statusMoreProcessingRequired, wrap(ntlmssp.NegAcceptIncomplete, ntlmssp.OIDNTLMSSP, ch)
	case ntlmssp.TypeAuthenticate:
		auth, err := ntlmssp.ParseAuthenticate(tok.MechToken)
		if err != nil {
			cn.c.Emit(event.Error, map[string]string{"error": err.Error(), "data_b64": base64.StdEncoding.EncodeToString(clipBytes(tok.MechToken, 1024))}, "")
			return statusInvalidParameter, nil
		}
		if auth.Version != nil {
			cn.clientOS = auth.Version.String()
		}
		return cn.capture(auth.User, auth.Domain, auth.Workstation, auth.LM, auth.NT, "ntlmssp"), nil
	}
	return statusLogonFailure, nil
}

// capture records a logon attempt and returns its status: every logon fails; the
// anonymous null session is refused with access denied.
func (cn *conn) capture(user, domain, workstation string, lm, nt []byte, method string) uint32 {
	f := map[string]string{
		"method":  method,
		"outcome": "failure",
	}
	service.SetPrintableLimit(f, "username", user, 1024)
	service.SetPrintableLimit(f, "domain", domain, 1024)
	service.SetPrintableLimit(f, "workstation", workstation, 1024)
	if cn.clientOS != "" {
		f["client_os_version"] = cn.clientOS
	}
	f["server_challenge"] = hex.EncodeToString(cn.challenge[:])
	if user == "" && len(nt) == 0 {
		f["method"] = "anonymous"
		cn.c.Emit(event.Auth, f, "")
		return statusAccessDenied
	}
	line, kind := ntlmssp.HashcatLine(user, domain, cn.challenge[:], lm, nt)
	if kind != "" {
		f["hash"] = line
		f["secret_kind"] = kind
		f["secret_b64"] = base64.StdEncoding.EncodeToString(nt)
	} else if len(lm) > 0 {
		f["secret_kind"] = "lm_response"
		f["secret_b64"] = base64.StdEncoding.EncodeToString(lm)
	}
	cn.c.Emit(event.Auth, f, "")
	return statusLogonFailure
}

func guidString(g [16]byte) string {
	return fmt.Sprintf("%08x-%04x-%04x-%x-%x", binary.LittleEndian.Uint32(g[0:]), binary.LittleEndian.Uint16(g[4:]), binary.LittleEndian.Uint16(g[6:]), g[8:10], g[10:])
}

func clipBytes(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

func fillRandom(b []byte) {
	if _, err := rand.Read(b); err != nil {
		panic("smb: no randomness: " + err.Error())
	}
}
