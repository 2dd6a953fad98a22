package smb

// SMB1 (MS-CIFS/MS-SMB), only as far as a server must go: the multi-protocol
// NEGOTIATE that old clients and scanners open with (answered with SMB2 when it
// offers an SMB2 dialect, as Windows does), and — when the persona enables SMB1 —
// NT LM 0.12 logons, both with extended security (SPNEGO/NTLMSSP, as smb2) and the
// pre-2000 challenge/response form that hydra's smb module uses.

import (
	"bytes"
	"encoding/binary"
	"errors"
	"fmt"
	"strings"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/services/ntlmssp"
)

const smb1HeaderLen = 32

const (
	smb1Negotiate    = 0x72
	smb1SessionSetup = 0x73
	smb1LogoffAndX   = 0x74
)

const (
	smb1Flags2LongNames   = 0x0001
	smb1Flags2ExtSecurity = 0x0800
	smb1Flags2NTStatus    = 0x4000
	smb1Flags2Unicode     = 0x8000
)

// smb1Header is the parts of an SMB1 header a server echoes.
type smb1Header struct {
	Command byte
	Flags2  uint16
	PIDHigh uint16
	TID     uint16
	PIDLow  uint16
	UID     uint16
	MID     uint16
}

// smb1Msg is a parsed SMB1 message: header, parameter words and data bytes.
type smb1Msg struct {
	smb1Header
	Words []byte
	Bytes []byte
	// bytesOff is the offset of Bytes from the start of the header (for alignment).
	bytesOff int
}

func parseSMB1(b []byte) (smb1Msg, error) {
	var m smb1Msg
	if len(b) < smb1HeaderLen+3 || string(b[:4]) != "\xffSMB" {
		return m, errors.New("smb1 message is too short or lacks its protocol id")
	}
	m.Command = b[4]
	m.Flags2 = binary.LittleEndian.Uint16(b[10:])
	m.PIDHigh = binary.LittleEndian.Uint16(b[12:])
	m.TID = binary.LittleEndian.Uint16(b[24:])
	m.PIDLow = binary.LittleEndian.Uint16(b[26:])
	m.UID = binary.LittleEndian.Uint16(b[28:])
	m.MID = binary.LittleEndian.Uint16(b[30:])
	wc := int(b[32])
	end := smb1HeaderLen + 1 + 2*wc
	if end+2 > len(b) {
		return m, fmt.Errorf("smb1 word count %d runs past the %d-byte message", wc, len(b))
	}
	m.Words = b[smb1HeaderLen+1 : end]
	bc := int(binary.LittleEndian.Uint16(b[end:]))
	if end+2+bc > len(b) {
		return m, fmt.Errorf("smb1 byte count %d runs past the %d-byte message", bc, len(b))
	}
	m.bytesOff = end + 2
	m.Bytes = b[end+2 : end+2+bc]
	return m, nil
}

// smb1Response builds an SMB1 response to req.
func smb1Response(req smb1Msg, status uint32, uid uint16, words, data []byte) []byte {
	b := make([]byte, smb1HeaderLen, smb1HeaderLen+3+len(words)+len(data))
	copy(b, "\xffSMB")
	b[4] = req.Command
	binary.LittleEndian.PutUint32(b[5:], status)
	b[9] = 0x88 // reply, case-insensitive paths
	f2 := req.Flags2&(smb1Flags2LongNames|smb1Flags2ExtSecurity|smb1Flags2Unicode|0x0002) | smb1Flags2NTStatus | smb1Flags2LongNames
	binary.LittleEndian.PutUint16(b[10:], f2)
	binary.LittleEndian.PutUint16(b[12:], req.PIDHigh)
	binary.LittleEndian.PutUint16(b[24:], req.TID)
	binary.LittleEndian.PutUint16(b[26:], req.PIDLow)
	binary.LittleEndian.PutUint16(b[28:], uid)
	binary.LittleEndian.PutUint16(b[30:], req.MID)
	b = append(b, byte(len(words)/2))
	b = append(b, words...)
	b = binary.LittleEndian.AppendUint16(b, uint16(len(data)))
	return append(b, data...)
}

// smb1Dialects splits the dialect list of an SMB1 NEGOTIATE.
func smb1Dialects(data []byte) []string {
	var out []string
	for len(data) > 0 && len(out) < 64 {
		if data[0] != 0x02 {
			break
		}
		end := bytes.IndexByte(data[1:], 0)
		if end < 0 {
			break
		}
		out = append(out, string(data[1:1+end]))
		data = data[2+end:]
	}
	return out
}

func (cn *conn) handleSMB1(b []byte) ([]byte, bool) {
	m, err := parseSMB1(b)
	if err != nil {
		cn.c.Emit(event.Error, map[string]string{"error": err.Error()}, "")
		return nil, false
	}
	switch m.Command {
	case smb1Negotiate:
		return cn.smb1Negotiate(m)
	case smb1SessionSetup:
		if !cn.smb1 {
			return nil, false
		}
		return cn.smb1SessionSetup(m)
	}
	if !cn.smb1 {
		return nil, false
	}
	if m.Command == smb1LogoffAndX {
		return smb1Response(m, statusSuccess, m.UID, []byte{0xff, 0, 0, 0}, nil), true
	}
	cn.c.Emit(event.Request, map[string]string{"command": fmt.Sprintf("SMB1 0x%02x", m.Command)}, "")
	return smb1Response(m, statusAccessDenied, m.UID, nil, nil), true
}

func (cn *conn) offers(d uint16) bool {
	for _, o := range cn.p.dialects {
		if o == d {
			return true
		}
	}
	return false
}

func (cn *conn) smb1Negotiate(m smb1Msg) ([]byte, bool) {
	ds := smb1Dialects(m.Bytes)
	idx := func(name string) int {
		for i, d := range ds {
			if d == name {
				return i
			}
		}
		return -1
	}
	f := map[string]string{"smb_version": "smb1", "smb1_dialects": service.Printable(strings.Join(ds, ","), 1024)}
	fp := func(chosen string) { f["dialect"] = chosen; cn.c.Emit(event.Fingerprint, f, "") }

	// An SMB2-capable client: answer with an SMB2 NEGOTIATE response, as Windows does.
	hasWildcard := idx("SMB 2.???") >= 0 && (cn.offers(0x0210) || cn.offers(0x0300) || cn.offers(0x0302) || cn.offers(0x0311))
	if hasWildcard || (idx("SMB 2.002") >= 0 && cn.offers(0x0202)) {
		d := uint16(0x02ff)
		if !hasWildcard {
			d = 0x0202
		}
		fp(dialectName(d))
		cn.dialect = d
		h := smb2Header{Command: smb2Negotiate}
		return smb2Response(h, statusSuccess, 1, 0, cn.negotiateBody(d, nil)), true
	}
	nt := idx("NT LM 0.12")
	if cn.p.samba {
		if i := idx("NT LANMAN 1.0"); i >= 0 && nt >= 0 {
			nt = i // Samba takes the first NT1 alias it finds
		}
	}
	if !cn.p.smb1 || nt < 0 {
		fp("none")
		if cn.p.samba {
			// Samba without SMB1 answers "no dialect chosen" and hangs up.
			return smb1Response(m, statusSuccess, 0, []byte{0xff, 0xff}, nil), false
		}
		return nil, false // Windows without SMB1 resets the connection
	}
	fp("NT LM 0.12")
	cn.smb1 = true
	cn.smb1ExtSec = m.Flags2&smb1Flags2ExtSecurity != 0
	return smb1Response(m, statusSuccess, 0, cn.smb1NegotiateWords(nt), cn.smb1NegotiateData()), true
}

func (cn *conn) smb1NegotiateWords(index int) []byte {
	w := make([]byte, 34)
	binary.LittleEndian.PutUint16(w[0:], uint16(index))
	mode := byte(0x03) // user level, challenge/response
	if cn.p.signingRequired {
		mode |= 0x0c
	}
	w[2] = mode
	maxMpx, maxBuf, caps := uint16(50), uint32(16644), uint32(0x0001f3fc) // Windows servers
	switch {
	case cn.p.samba:
		maxBuf, caps = 65535, 0x0080f3fd
	case cn.p.isWorkstation():
		maxMpx, maxBuf, caps = 10, 4356, 0x0001e3fc
	}
	if cn.smb1ExtSec {
		caps |= 0x80000000
	}
	binary.LittleEndian.PutUint16(w[3:], maxMpx)
	binary.LittleEndian.PutUint16(w[5:], 1)
	binary.LittleEndian.PutUint32(w[7:], maxBuf)
	binary.LittleEndian.PutUint32(w[11:], 65536)
	binary.LittleEndian.PutUint32(w[15:], 0)
	binary.LittleEndian.PutUint32(w[19:], caps)
	binary.LittleEndian.PutUint64(w[23:], ntlmssp.Filetime(time.Now()))
	binary.LittleEndian.PutUint16(w[31:], 0)
	if !cn.smb1ExtSec {
		w[33] = 8
	}
	return w
}

func (cn *conn) smb1NegotiateData() []byte {
	if cn.smb1ExtSec {
		return append(append([]byte(nil), cn.p.guid[:]...), ntlmssp.NegTokenInit2(cn.mechList())...)
	}
	fillRandom(cn.challenge[:])
	d := append([]byte(nil), cn.challenge[:]...)
	domain := cn.p.target.NbDomain
	d = append(d, ntlmssp.UTF16LE(domain)...)
	d = append(d, 0, 0)
	d = append(d, ntlmssp.UTF16LE(cn.p.target.NbComputer)...)
	return append(d, 0, 0)
}

func (cn *conn) smb1SessionSetup(m smb1Msg) ([]byte, bool) {
	switch len(m.Words) {
	case 24: // extended security
		blobLen := int(binary.LittleEndian.Uint16(m.Words[14:]))
		if blobLen > len(m.Bytes) {
			return smb1Response(m, statusInvalidParameter, m.UID, nil, nil), true
		}
		status, blob := cn.security(m.Bytes[:blobLen])
		uid := m.UID
		if status == statusMoreProcessingRequired && uid == 0 {
			uid = 0x0800 | uint16(cn.challenge[0])
		}
		if status != statusMoreProcessingRequired {
			return smb1Response(m, status, uid, nil, nil), true
		}
		w := make([]byte, 8)
		w[0] = 0xff // no AndX command
		binary.LittleEndian.PutUint16(w[6:], uint16(len(blob)))
		data := append([]byte(nil), blob...)
		unicode := m.Flags2&smb1Flags2Unicode != 0
		if unicode && (smb1HeaderLen+3+len(w)+len(data))%2 != 0 {
			data = append(data, 0)
		}
		data = append(data, smb1String(cn.p.nativeOS, unicode)...)
		data = append(data, smb1String(cn.p.serverString, unicode)...)
		return smb1Response(m, status, uid, w, data), true
	case 26: // challenge/response (NT LM 0.12 without extended security)
		oemLen := int(binary.LittleEndian.Uint16(m.Words[14:]))
		uniLen := int(binary.LittleEndian.Uint16(m.Words[16:]))
		if oemLen+uniLen > len(m.Bytes) {
			return smb1Response(m, statusInvalidParameter, m.UID, nil, nil), true
		}
		lm := m.Bytes[:oemLen]
		nt := m.Bytes[oemLen : oemLen+uniLen]
		rest := m.Bytes[oemLen+uniLen:]
		unicode := m.Flags2&smb1Flags2Unicode != 0
		if unicode && (m.bytesOff+oemLen+uniLen)%2 != 0 && len(rest) > 0 {
			rest = rest[1:]
		}
		var strs [4]string
		for i := range strs {
			strs[i], rest = readSMB1String(rest, unicode)
		}
		user, domain := strs[0], strs[1]
		if strs[2] != "" {
			cn.clientOS = service.Printable(strs[2], 128)
		}
		status := cn.capture(user, domain, "", lm, nt, "smb1")
		if status == statusAccessDenied {
			// SMB1-era Windows and Samba accept the anonymous null session; the reply
			// names the OS (what smb-os-discovery reads). Everything after it is denied.
			w := []byte{0xff, 0, 0, 0, 0, 0}
			var data []byte
			if unicode && (smb1HeaderLen+3+len(w)+2)%2 != 0 {
				data = append(data, 0)
			}
			data = append(data, smb1String(cn.p.nativeOS, unicode)...)
			data = append(data, smb1String(cn.p.serverString, unicode)...)
			data = append(data, smb1String(cn.p.target.NbDomain, unicode)...)
			return smb1Response(m, statusSuccess, 0x0800|uint16(cn.challenge[1]), w, data), true
		}
		return smb1Response(m, status, 0, nil, nil), true
	}
	return smb1Response(m, statusInvalidParameter, m.UID, nil, nil), true
}

func smb1String(s string, unicode bool) []byte {
	if unicode {
		return append(ntlmssp.UTF16LE(s), 0, 0)
	}
	return append([]byte(s), 0)
}

// readSMB1String reads one NUL-terminated string (UTF-16LE or OEM).
func readSMB1String(b []byte, unicode bool) (string, []byte) {
	if unicode {
		for i := 0; i+1 < len(b); i += 2 {
			if b[i] == 0 && b[i+1] == 0 {
				return ntlmssp.FromUTF16LE(b[:i]), b[i+2:]
			}
		}
		return ntlmssp.FromUTF16LE(b), nil
	}
	if i := bytes.IndexByte(b, 0); i >= 0 {
		return ntlmssp.OEMString(b[:i]), b[i+1:]
	}
	return ntlmssp.OEMString(b), nil
}
