// Package ntlmssp owns the server side of NTLMSSP (MS-NLMP) and the SPNEGO
// (RFC 4178) wrapping around it that DECNET's Windows-protocol honeypots share (smb,
// rdp, mssql): it builds a CHALLENGE that names the persona's NetBIOS and DNS
// domain and computer and its Windows build, parses NEGOTIATE and AUTHENTICATE
// messages, and turns a captured response into a hashcat line (NetNTLMv2 mode 5600,
// NetNTLMv1 mode 5500).
//
// It is hand-written: the maintained Go NTLM packages (github.com/Azure/go-ntlmssp
// and the like) implement only the client, and the server part a honeypot needs is
// small. Every parser bounds its offsets against the message and is fuzzed
// (FuzzNTLM, FuzzGSS).
package ntlmssp

import (
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
	"time"
	"unicode/utf16"
)

// Signature opens every NTLMSSP message.
var Signature = []byte("NTLMSSP\x00")

// NTLM message types.
const (
	TypeNegotiate    = 1
	TypeChallenge    = 2
	TypeAuthenticate = 3
)

// NTLM negotiate flags (MS-NLMP 2.2.2.5).
const (
	FlagUnicode         = 0x00000001
	FlagOEM             = 0x00000002
	FlagRequestTarget   = 0x00000004
	FlagSign            = 0x00000010
	FlagSeal            = 0x00000020
	FlagLMKey           = 0x00000080
	FlagNTLM            = 0x00000200
	FlagAnonymous       = 0x00000800
	FlagAlwaysSign      = 0x00008000
	FlagTargetDomain    = 0x00010000
	FlagTargetServer    = 0x00020000
	FlagExtendedSession = 0x00080000
	FlagTargetInfo      = 0x00800000
	FlagVersion         = 0x02000000
	Flag128             = 0x20000000
	FlagKeyExch         = 0x40000000
	Flag56              = 0x80000000
)

// AV pair ids (MS-NLMP 2.2.2.1).
const (
	AvEOL             = 0
	AvNbComputerName  = 1
	AvNbDomainName    = 2
	AvDNSComputerName = 3
	AvDNSDomainName   = 4
	AvDNSTreeName     = 5
	AvTimestamp       = 7
)

// Version is the 8-byte VERSION structure: the OS version a server announces.
type Version struct {
	Major, Minor byte
	Build        uint16
}

func (v Version) Bytes() []byte {
	b := make([]byte, 8)
	b[0], b[1] = v.Major, v.Minor
	binary.LittleEndian.PutUint16(b[2:], v.Build)
	b[7] = 15 // NTLMSSP_REVISION_W2K3
	return b
}

func (v Version) String() string { return fmt.Sprintf("%d.%d.%d", v.Major, v.Minor, v.Build) }

// Target is what a server says about itself in its CHALLENGE.
type Target struct {
	TargetName      string // NetBIOS name of the server (standalone) or domain
	DomainJoined    bool
	NbComputer      string
	NbDomain        string
	DNSComputer     string
	DNSDomain       string
	DNSTree         string // empty: no MsvAvDnsTreeName pair
	Version         Version
	Timestamp       func() time.Time
	IncludeDNSEmpty bool // samba sends the DNS pairs even when empty
}

// Negotiate is the parts of an NTLM NEGOTIATE a server uses.
type Negotiate struct {
	Flags       uint32
	Domain      string
	Workstation string
	Version     *Version
}

// ParseNegotiate parses an NTLM NEGOTIATE_MESSAGE.
func ParseNegotiate(b []byte) (Negotiate, error) {
	var m Negotiate
	if err := Check(b, TypeNegotiate, 16); err != nil {
		return m, err
	}
	m.Flags = binary.LittleEndian.Uint32(b[12:])
	if len(b) >= 32 {
		if d, err := Field(b, 16); err == nil {
			m.Domain = OEMString(d)
		}
		if w, err := Field(b, 24); err == nil {
			m.Workstation = OEMString(w)
		}
	}
	if m.Flags&FlagVersion != 0 && len(b) >= 40 {
		v := Version{Major: b[32], Minor: b[33], Build: binary.LittleEndian.Uint16(b[34:])}
		m.Version = &v
	}
	return m, nil
}

// Check reports whether b is an NTLMSSP message of type typ at least min bytes long.
func Check(b []byte, typ uint32, min int) error {
	if len(b) < min || len(b) < 12 {
		return fmt.Errorf("ntlm message of %d bytes is too short", len(b))
	}
	if string(b[:8]) != string(Signature) {
		return errors.New("ntlm message lacks the NTLMSSP signature")
	}
	if got := binary.LittleEndian.Uint32(b[8:]); got != typ {
		return fmt.Errorf("ntlm message type is %d, expected %d", got, typ)
	}
	return nil
}

// Field returns the payload a (Len, MaxLen, Offset) descriptor at off points to.
func Field(b []byte, off int) ([]byte, error) {
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

// ChallengeFlags are the flags of a CHALLENGE answering a NEGOTIATE with flags c.
func ChallengeFlags(c uint32, t Target) uint32 {
	f := uint32(FlagRequestTarget | FlagNTLM | FlagAlwaysSign | FlagTargetInfo | FlagVersion)
	if t.DomainJoined {
		f |= FlagTargetDomain
	} else {
		f |= FlagTargetServer
	}
	if c&FlagUnicode != 0 {
		f |= FlagUnicode
	} else {
		f |= FlagOEM
	}
	f |= c & (FlagSign | FlagSeal | Flag56 | Flag128 | FlagKeyExch)
	if c&FlagExtendedSession != 0 {
		f |= FlagExtendedSession
	} else {
		f |= c & FlagLMKey
	}
	return f
}

// BuildChallenge builds a CHALLENGE_MESSAGE with the server challenge and target info.
func BuildChallenge(flags uint32, challenge [8]byte, t Target) []byte {
	enc := func(s string) []byte {
		if flags&FlagUnicode != 0 {
			return UTF16LE(s)
		}
		return []byte(s)
	}
	target := enc(t.TargetName)
	info := TargetInfo(t)
	const hdr = 56
	b := make([]byte, hdr, hdr+len(target)+len(info))
	copy(b, Signature)
	binary.LittleEndian.PutUint32(b[8:], TypeChallenge)
	PutField(b[12:], len(target), hdr)
	binary.LittleEndian.PutUint32(b[20:], flags)
	copy(b[24:32], challenge[:])
	PutField(b[40:], len(info), hdr+len(target))
	copy(b[48:56], t.Version.Bytes())
	b = append(b, target...)
	return append(b, info...)
}

// PutField writes a (Len, MaxLen, Offset) field descriptor at the start of b.
func PutField(b []byte, l, off int) {
	binary.LittleEndian.PutUint16(b, uint16(l))
	binary.LittleEndian.PutUint16(b[2:], uint16(l))
	binary.LittleEndian.PutUint32(b[4:], uint32(off))
}

// TargetInfo is the AV pair list, in Windows's order.
func TargetInfo(t Target) []byte {
	var b []byte
	pair := func(id uint16, v []byte) {
		var h [4]byte
		binary.LittleEndian.PutUint16(h[:], id)
		binary.LittleEndian.PutUint16(h[2:], uint16(len(v)))
		b = append(append(b, h[:]...), v...)
	}
	pair(AvNbDomainName, UTF16LE(t.NbDomain))
	pair(AvNbComputerName, UTF16LE(t.NbComputer))
	if t.DNSDomain != "" || t.IncludeDNSEmpty {
		pair(AvDNSDomainName, UTF16LE(t.DNSDomain))
	}
	if t.DNSComputer != "" || t.IncludeDNSEmpty {
		pair(AvDNSComputerName, UTF16LE(t.DNSComputer))
	}
	if t.DNSTree != "" {
		pair(AvDNSTreeName, UTF16LE(t.DNSTree))
	}
	now := time.Now()
	if t.Timestamp != nil {
		now = t.Timestamp()
	}
	ts := make([]byte, 8)
	binary.LittleEndian.PutUint64(ts, Filetime(now))
	pair(AvTimestamp, ts)
	pair(AvEOL, nil)
	return b
}

// Authenticate is a parsed AUTHENTICATE_MESSAGE.
type Authenticate struct {
	Flags       uint32
	LM, NT      []byte
	Domain      string
	User        string
	Workstation string
	Version     *Version
}

// ParseAuthenticate parses an NTLM AUTHENTICATE_MESSAGE.
func ParseAuthenticate(b []byte) (Authenticate, error) {
	var m Authenticate
	if err := Check(b, TypeAuthenticate, 64); err != nil {
		return m, err
	}
	m.Flags = binary.LittleEndian.Uint32(b[60:])
	var err error
	if m.LM, err = Field(b, 12); err != nil {
		return m, fmt.Errorf("lm response: %w", err)
	}
	if m.NT, err = Field(b, 20); err != nil {
		return m, fmt.Errorf("nt response: %w", err)
	}
	strs := make([]string, 3)
	for i, off := range []int{28, 36, 44} {
		v, err := Field(b, off)
		if err != nil {
			return m, fmt.Errorf("name field: %w", err)
		}
		if m.Flags&FlagUnicode != 0 {
			strs[i] = FromUTF16LE(v)
		} else {
			strs[i] = OEMString(v)
		}
	}
	m.Domain, m.User, m.Workstation = strs[0], strs[1], strs[2]
	if m.Flags&FlagVersion != 0 && len(b) >= 72 {
		// The version sits after the fixed fields, unless a payload starts there.
		if minPayload(b) >= 72 {
			v := Version{Major: b[64], Minor: b[65], Build: binary.LittleEndian.Uint16(b[66:])}
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
func (m Authenticate) Anonymous() bool {
	return m.User == "" && len(m.NT) == 0 && (len(m.LM) == 0 || (len(m.LM) == 1 && m.LM[0] == 0))
}

// HashcatLine renders the captured response for a cracker: NetNTLMv2 as hashcat
// mode 5600 (user::domain:challenge:NTProofStr:blob), NetNTLMv1 as mode 5500
// (user::domain:lm:nt:challenge). kind is ntlmv2, ntlmv1 or "" when the message
// carries no crackable response.
func HashcatLine(user, domain string, challenge []byte, lm, nt []byte) (line, kind string) {
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

// UTF16LE encodes s as UTF-16 little-endian, NTLM's Unicode form.
func UTF16LE(s string) []byte {
	u := utf16.Encode([]rune(s))
	b := make([]byte, 2*len(u))
	for i, c := range u {
		binary.LittleEndian.PutUint16(b[2*i:], c)
	}
	return b
}

// FromUTF16LE decodes UTF-16 little-endian (an odd trailing byte is dropped).
func FromUTF16LE(b []byte) string {
	u := make([]uint16, len(b)/2)
	for i := range u {
		u[i] = binary.LittleEndian.Uint16(b[2*i:])
	}
	return string(utf16.Decode(u))
}

// OEMString decodes an OEM (8-bit) string as Latin-1, the lossless choice.
func OEMString(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		sb.WriteRune(rune(c))
	}
	return sb.String()
}

// Filetime is t as a Windows FILETIME (100 ns ticks since 1601).
func Filetime(t time.Time) uint64 {
	return uint64(t.UnixNano()/100) + 116444736000000000
}
