package smb

// NTLMSSP (MS-NLMP) server side, hand-written: the maintained Go NTLM packages
// (github.com/Azure/go-ntlmssp and the like) implement only the client, and the
// server part a honeypot needs is small — build a CHALLENGE, parse an AUTHENTICATE
// and turn its response into a hashcat line. Every parser bounds its offsets against
// the message and is fuzzed (FuzzNTLM).

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

var ntlmSignature = []byte("NTLMSSP\x00")

// NTLM message types.
const (
	ntlmNegotiate    = 1
	ntlmChallenge    = 2
	ntlmAuthenticate = 3
)

// NTLM negotiate flags (MS-NLMP 2.2.2.5).
const (
	flagUnicode         = 0x00000001
	flagOEM             = 0x00000002
	flagRequestTarget   = 0x00000004
	flagSign            = 0x00000010
	flagSeal            = 0x00000020
	flagLMKey           = 0x00000080
	flagNTLM            = 0x00000200
	flagAnonymous       = 0x00000800
	flagAlwaysSign      = 0x00008000
	flagTargetDomain    = 0x00010000
	flagTargetServer    = 0x00020000
	flagExtendedSession = 0x00080000
	flagTargetInfo      = 0x00800000
	flagVersion         = 0x02000000
	flag128             = 0x20000000
	flagKeyExch         = 0x40000000
	flag56              = 0x80000000
)

// AV pair ids (MS-NLMP 2.2.2.1).
const (
	avEOL             = 0
	avNbComputerName  = 1
	avNbDomainName    = 2
	avDNSComputerName = 3
	avDNSDomainName   = 4
	avDNSTreeName     = 5
	avTimestamp       = 7
)

// ntlmVersion is the 8-byte VERSION structure: the OS version a server announces.
type ntlmVersion struct {
	Major, Minor byte
	Build        uint16
}

func (v ntlmVersion) bytes() []byte {
	b := make([]byte, 8)
	b[0], b[1] = v.Major, v.Minor
	binary.LittleEndian.PutUint16(b[2:], v.Build)
	b[7] = 15 // NTLMSSP_REVISION_W2K3
	return b
}

func (v ntlmVersion) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Build) }

// ntlmTarget is what a server says about itself in its CHALLENGE.
type ntlmTarget struct {
	TargetName      string // NetBIOS name of the server (standalone) or domain
	DomainJoined    bool
	NbComputer      string
	NbDomain        string
	DNSComputer     string
	DNSDomain       string
	DNSTree         string // empty: no MsvAvDnsTreeName pair
	Version         ntlmVersion
	Timestamp       func() time.Time
	IncludeDNSEmpty bool // samba sends the DNS pairs even when empty
}

// negotiateMsg is the parts of an NTLM NEGOTIATE a server uses.
type negotiateMsg struct {
	Flags       uint32
	Domain      string
	Workstation string
	Version     *ntlmVersion
}

// parseNegotiate parses an NTLM NEGOTIATE_MESSAGE.
func parseNegotiate(b []byte) (negotiateMsg, error) {
	var m negotiateMsg
	if err := checkNTLM(b, ntlmNegotiate, 16); err != nil {
		return m, err
	}
	m.Flags = binary.LittleEndian.Uint32(b[12:])
	if len(b) >= 32 {
		if d, err := field(b, 16); err == nil {
			m.Domain = oemString(d)
		}
		if w, err := field(b, 24); err == nil {
			m.Workstation = oemString(w)
		}
	}
	if m.Flags&flagVersion != 0 && len(b) >= 40 {
		v := ntlmVersion{Major: b[32], Minor: b[33], Build: binary.LittleEndian.Uint16(b[34:])}
		m.Version = &v
	}
	return m, nil
}

func checkNTLM(b []byte, typ uint32, min int) error {
	if len(b) < min || len(b) < 12 {
		return fmt.Errorf("ntlm message of %d bytes is too short", len(b))
	}
	if string(b[:8]) != string(ntlmSignature) {
		return errors.New("ntlm message lacks the NTLMSSP signature")
	}
	if got := binary.LittleEndian.Uint32(b[8:]); got != typ {
		return fmt.Errorf("ntlm message type is %d, expected %d", got, typ)
	}
	return nil
}

// field returns the payload a (Len, MaxLen, Offset) descriptor at off points to.
func field(b []byte, off int) ([]byte, error) {
	if off+8 > len(b) {
		return nil, errors.New("ntlm field descriptor is past the end of the message")
	}
	l := int(binary.LittleEndian.Uint16(b[off:]))
	o := int(binary.LittleEndian.Uint32(b[off+4:]))
	if l == 0 {
		return nil, nil
	}
	if o < 0 || o > len(b) || l > len(b)-o {
		return nil, fmt.Errorf("ntlm field at %d (offset %d, length %d) is outside the %d-byte message", off, o, l, len(b))
	}
	return b[o : o+l], nil
}

// challengeFlags are the flags of a CHALLENGE answering a NEGOTIATE with flags c.
func challengeFlags(c uint32, t ntlmTarget) uint32 {
	f := uint32(flagRequestTarget | flagNTLM | flagAlwaysSign | flagTargetInfo | flagVersion)
	if t.DomainJoined {
		f |= flagTargetDomain
	} else {
		f |= flagTargetServer
	}
	if c&flagUnicode != 0 {
		f |= flagUnicode
	} else {
		f |= flagOEM
	}
	f |= c & (flagSign | flagSeal | flag56 | flag128 | flagKeyExch)
	if c&flagExtendedSession != 0 {
		f |= flagExtendedSession
	} else {
		f |= c & flagLMKey
	}
	return f
}

// buildChallenge builds a CHALLENGE_MESSAGE with the server challenge and target info.
func buildChallenge(flags uint32, challenge [8]byte, t ntlmTarget) []byte {
	enc := func(s string) []byte {
		if flags&flagUnicode != 0 {
			return utf16le(s)
		}
		return []byte(s)
	}
	target := enc(t.TargetName)
	info := targetInfo(t)
	const hdr = 56
	b := make([]byte, hdr, hdr+len(target)+len(info))
	copy(b, ntlmSignature)
	binary.LittleEndian.PutUint32(b[8:], ntlmChallenge)
	putField(b[12:], len(target), hdr)
	binary.LittleEndian.PutUint32(b[20:], flags)
	copy(b[24:32], challenge[:])
	putField(b[40:], len(info), hdr+len(target))
	copy(b[48:56], t.Version.bytes())
	b = append(b, target...)
	return append(b, info...)
}

func putField(b []byte, l, off int) {
	binary.LittleEndian.PutUint16(b, uint16(l))
	binary.LittleEndian.PutUint16(b[2:], uint16(l))
	binary.LittleEndian.PutUint32(b[4:], uint32(off))
}

// targetInfo is the AV pair list, in Windows's order.
func targetInfo(t ntlmTarget) []byte {
	var b []byte
	pair := func(id uint16, v []byte) {
		var h [4]byte
		binary.LittleEndian.PutUint16(h[:], id)
		binary.LittleEndian.PutUint16(h[2:], uint16(len(v)))
		b = append(append(b, h[:]...), v...)
	}
	pair(avNbDomainName, utf16le(t.NbDomain))
	pair(avNbComputerName, utf16le(t.NbComputer))
	if t.DNSDomain != "" || t.IncludeDNSEmpty {
		pair(avDNSDomainName, utf16le(t.DNSDomain))
	}
	if t.DNSComputer != "" || t.IncludeDNSEmpty {
		pair(avDNSComputerName, utf16le(t.DNSComputer))
	}
	if t.DNSTree != "" {
		pair(avDNSTreeName, utf16le(t.DNSTree))
	}
	now := time.Now()
	if t.Timestamp != nil {
		now = t.Timestamp()
	}
	ts := make([]byte, 8)
	binary.LittleEndian.PutUint64(ts, filetime(now))
	pair(avTimestamp, ts)
	pair(avEOL, nil)
	return b
}

// authenticateMsg is a parsed AUTHENTICATE_MESSAGE.
type authenticateMsg struct {
	Flags       uint32
	LM, NT      []byte
	Domain      string
	User        string
	Workstation string
	Version     *ntlmVersion
}

// parseAuthenticate parses an NTLM AUTHENTICATE_MESSAGE.
func parseAuthenticate(b []byte) (authenticateMsg, error) {
	var m authenticateMsg
	if err := checkNTLM(b, ntlmAuthenticate, 64); err != nil {
		return m, err
	}
	m.Flags = binary.LittleEndian.Uint32(b[60:])
	var err error
	if m.LM, err = field(b, 12); err != nil {
		return m, fmt.Errorf("lm response: %w", err)
	}
	if m.NT, err = field(b, 20); err != nil {
		return m, fmt.Errorf("nt response: %w", err)
	}
	strs := make([]string, 3)
	for i, off := range []int{28, 36, 44} {
		v, err := field(b, off)
		if err != nil {
			return m, fmt.Errorf("name field: %w", err)
		}
		if m.Flags&flagUnicode != 0 {
			strs[i] = fromUTF16le(v)
		} else {
			strs[i] = oemString(v)
		}
	}
	m.Domain, m.User, m.Workstation = strs[0], strs[1], strs[2]
	if m.Flags&flagVersion != 0 && len(b) >= 72 {
		// The version sits after the fixed fields, unless a payload starts there.
		if minPayload(b) >= 72 {
			v := ntlmVersion{Major: b[64], Minor: b[65], Build: binary.LittleEndian.Uint16(b[66:])}
			m.Version = &v
		}
	}
	return m, nil
}

// minPayload is the lowest non-empty payload offset of an AUTHENTICATE message.
func minPayload(b []byte) int {
	low := len(b)
	for _, off := range []int{12, 20, 28, 36, 44, 52} {
		if off+8 <= len(b) && binary.LittleEndian.Uint16(b[off:]) > 0 {
			if o := int(binary.LittleEndian.Uint32(b[off+4:])); o < low {
				low = o
			}
		}
	}
	return low
}

// Anonymous reports an anonymous (null session) AUTHENTICATE.
func (m authenticateMsg) Anonymous() bool {
	return m.User == "" && len(m.NT) == 0 && (len(m.LM) == 0 || (len(m.LM) == 1 && m.LM[0] == 0))
}

// hashcatLine renders the captured response for a cracker: NetNTLMv2 as hashcat
// mode 5600 (user::domain:challenge:NTProofStr:blob), NetNTLMv1 as mode 5500
// (user::domain:lm:nt:challenge). kind is ntlmv2, ntlmv1 or "" when the message
// carries no crackable response.
func hashcatLine(user, domain string, challenge []byte, lm, nt []byte) (line, kind string) {
	switch {
	case len(nt) > 24:
		return fmt.Sprintf("%s::%s:%s:%s:%s", user, domain, hex.EncodeToString(challenge), hex.EncodeToString(nt[:16]), hex.EncodeToString(nt[16:])), "ntlmv2"
	case len(nt) == 24:
		if len(lm) != 24 {
			lm = make([]byte, 24)
		}
		return fmt.Sprintf("%s::%s:%s:%s:%s", user, domain, hex.EncodeToString(lm), hex.EncodeToString(nt), hex.EncodeToString(challenge)), "ntlmv1"
	}
	return "", ""
}

func utf16le(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

func fromUTF16le(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// oemString decodes an OEM (8-bit) string as Latin-1, the lossless choice.
func oemString(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// filetime is t as a Windows FILETIME (100 ns ticks since 1601).
func filetime(t time.Time) uint64 {
	return uint64(t.UnixNano()/100) + 116444736000000000
}
