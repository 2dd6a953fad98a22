package fingerprint

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"strings"
)

// SSH: the identification line (RFC 4253 §4.2) and the first binary packet, the
// unencrypted SSH_MSG_KEXINIT (RFC 4253 §7.1), from which Salesforce's HASSH (client)
// and HASSHServer (server) are computed. golang.org/x/crypto/ssh parses KEXINIT
// internally but never exposes the peer's raw name-lists, and HASSH needs them exactly
// as sent, in the peer's order, so they are parsed here by hand, every length checked.
//
// Stream parsers (ParseSSHIdent, ParseKexinitPacket, ParseClientPreamble) take the
// bytes of one direction of a TCP stream from its start and answer one of three ways:
// a result, ErrIncomplete (a valid prefix: read more and call again with the longer
// buffer) or an error wrapping ErrNotSSH (these bytes are not SSH: stop buffering).

const (
	// MsgKexinit is the SSH message number of KEXINIT.
	MsgKexinit = 20
	// MaxSSHIdentLine bounds one identification line (RFC 4253 §4.2: 255 bytes
	// including CR LF).
	MaxSSHIdentLine = 255
	// maxSSHPacket is the largest first packet accepted (RFC 4253 §6.1 asks every
	// implementation to accept 35000-byte packets; a KEXINIT is ~1–2 KiB).
	maxSSHPacket = 35000
	// maxSSHPreIdentLines bounds the other lines a server may send before its
	// identification line.
	maxSSHPreIdentLines = 16
)

// ErrNotSSH says the bytes are not the start of an SSH stream.
var ErrNotSSH = errors.New("not an SSH stream")

// KexInit is a peer's SSH_MSG_KEXINIT (RFC 4253 §7.1) with every name-list kept as
// the raw comma-separated string it sent.
type KexInit struct {
	Cookie             [16]byte
	KexAlgos           string
	ServerHostKeyAlgos string
	CiphersC2S         string
	CiphersS2C         string
	MACsC2S            string
	MACsS2C            string
	CompressionC2S     string
	CompressionS2C     string
	LanguagesC2S       string
	LanguagesS2C       string
	FirstKexFollows    bool
}

// HASSH returns Salesforce's client fingerprint: the MD5 (hex) of
// "kex;ciphers_c2s;macs_c2s;compression_c2s", and that algorithm string.
func (k KexInit) HASSH() (hash, algorithms string) {
	algorithms = k.KexAlgos + ";" + k.CiphersC2S + ";" + k.MACsC2S + ";" + k.CompressionC2S
	return MD5Hex(algorithms), algorithms
}

// HASSHServer returns Salesforce's server fingerprint: the MD5 (hex) of
// "kex;ciphers_s2c;macs_s2c;compression_s2c", and that algorithm string.
func (k KexInit) HASSHServer() (hash, algorithms string) {
	algorithms = k.KexAlgos + ";" + k.CiphersS2C + ";" + k.MACsS2C + ";" + k.CompressionS2C
	return MD5Hex(algorithms), algorithms
}

// MD5Hex is the lower-case hex MD5 of s (the hash HASSH and JA3 use).
func MD5Hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// Marshal returns the KEXINIT payload (message number first) laid out as RFC 4253
// §7.1 says, with a zero reserved word: what a peer would send for k.
func (k KexInit) Marshal() []byte {
	b := []byte{MsgKexinit}
	b = append(b, k.Cookie[:]...)
	for _, s := range k.lists() {
		b = binary.BigEndian.AppendUint32(b, uint32(len(*s)))
		b = append(b, *s...)
	}
	if k.FirstKexFollows {
		b = append(b, 1)
	} else {
		b = append(b, 0)
	}
	return append(b, 0, 0, 0, 0)
}

func (k *KexInit) lists() []*string {
	return []*string{&k.KexAlgos, &k.ServerHostKeyAlgos, &k.CiphersC2S, &k.CiphersS2C,
		&k.MACsC2S, &k.MACsS2C, &k.CompressionC2S, &k.CompressionS2C, &k.LanguagesC2S, &k.LanguagesS2C}
}

// SSHPacket wraps payload in an unencrypted SSH binary packet (RFC 4253 §6): length,
// padding length, payload, at least 4 bytes of zero padding to a multiple of 8.
func SSHPacket(payload []byte) []byte {
	pad := 8 - (5+len(payload))%8
	if pad < 4 {
		pad += 8
	}
	b := binary.BigEndian.AppendUint32(nil, uint32(1+len(payload)+pad))
	b = append(b, byte(pad))
	b = append(b, payload...)
	return append(b, make([]byte, pad)...)
}

// ParseKexinit parses an SSH_MSG_KEXINIT payload (message number first). The ten
// name-lists are required; the trailing boolean and reserved word are read when
// present.
func ParseKexinit(payload []byte) (KexInit, error) {
	var k KexInit
	if len(payload) < 1 || payload[0] != MsgKexinit {
		return k, errors.New("packet is not an SSH KEXINIT message")
	}
	b := payload[1:]
	if len(b) < 16 {
		return k, errors.New("KEXINIT is too short for its cookie")
	}
	copy(k.Cookie[:], b[:16])
	b = b[16:]
	for i, dst := range k.lists() {
		if len(b) < 4 {
			return k, fmt.Errorf("KEXINIT ends before name-list %d", i+1)
		}
		n := binary.BigEndian.Uint32(b)
		b = b[4:]
		if uint64(n) > uint64(len(b)) {
			return k, fmt.Errorf("KEXINIT name-list %d claims %d bytes but only %d remain", i+1, n, len(b))
		}
		*dst = string(b[:n])
		b = b[n:]
	}
	if len(b) >= 1 {
		k.FirstKexFollows = b[0] != 0
	}
	return k, nil
}

// ParseSSHIdent parses the identification line at the start of b, one direction of
// an SSH stream, e.g. "SSH-2.0-OpenSSH_9.2p1 Debian-2" (returned without CR LF), and
// n, the bytes it used (the binary packets start at b[n:]). The line must come first,
// as RFC 4253 requires of clients and as servers do in practice (ParseSSHServerIdent
// also accepts the other lines a server may send before it). It returns ErrIncomplete
// while b is a valid unfinished prefix and an error wrapping ErrNotSSH as soon as the
// bytes cannot be SSH.
func ParseSSHIdent(b []byte) (ident string, n int, err error) {
	return parseSSHIdent(b, 0)
}

// ParseSSHServerIdent is ParseSSHIdent for the server direction: up to 16 other
// printable lines may come before the identification line (RFC 4253 §4.2).
func ParseSSHServerIdent(b []byte) (ident string, n int, err error) {
	return parseSSHIdent(b, maxSSHPreIdentLines)
}

func parseSSHIdent(b []byte, otherLines int) (string, int, error) {
	off := 0
	for line := 0; ; line++ {
		rest := b[off:]
		i := indexByte(rest, '\n', MaxSSHIdentLine)
		isIdent := hasPrefixPartial(rest, "SSH-")
		if !isIdent && (line >= otherLines || !printableLine(rest, i)) {
			return "", 0, fmt.Errorf("%w: line %d does not start with \"SSH-\"", ErrNotSSH, line+1)
		}
		if i < 0 {
			if len(rest) >= MaxSSHIdentLine {
				return "", 0, fmt.Errorf("%w: line %d is longer than %d bytes", ErrNotSSH, line+1, MaxSSHIdentLine)
			}
			return "", 0, ErrIncomplete
		}
		text := strings.TrimSuffix(string(rest[:i]), "\r")
		off += i + 1
		if strings.HasPrefix(text, "SSH-") {
			if !printableLine([]byte(text), len(text)) {
				return "", 0, fmt.Errorf("%w: the identification line holds control bytes", ErrNotSSH)
			}
			return text, off, nil
		}
	}
}

// hasPrefixPartial reports whether b starts with p, or is a prefix of p.
func hasPrefixPartial(b []byte, p string) bool {
	n := min(len(b), len(p))
	return string(b[:n]) == p[:n]
}

// printableLine reports whether the first end bytes of b (all of b when end < 0)
// hold no control byte other than a final CR.
func printableLine(b []byte, end int) bool {
	if end < 0 || end > len(b) {
		end = len(b)
	}
	for j, c := range b[:end] {
		if c == '\r' && j == end-1 {
			continue
		}
		if c < 0x20 && c != '\t' || c == 0x7f {
			return false
		}
	}
	return true
}

// ParseKexinitPacket parses the unencrypted binary packet at the start of b (the
// first one after the identification line) as a KEXINIT and returns it and n, the
// packet's size. It returns ErrIncomplete while b holds a valid unfinished packet
// and an error wrapping ErrNotSSH when the bytes cannot be an SSH packet; a complete
// packet that is not a well-formed KEXINIT is another error.
func ParseKexinitPacket(b []byte) (k KexInit, n int, err error) {
	if len(b) < 5 {
		return k, 0, ErrIncomplete
	}
	plen := binary.BigEndian.Uint32(b)
	padlen := uint32(b[4])
	if plen < 1+16 || plen > maxSSHPacket {
		return k, 0, fmt.Errorf("%w: first SSH packet has an implausible length %d", ErrNotSSH, plen)
	}
	if padlen >= plen {
		return k, 0, fmt.Errorf("%w: first SSH packet's padding (%d) is not shorter than the packet (%d)", ErrNotSSH, padlen, plen)
	}
	if uint64(len(b)) < 4+uint64(plen) {
		return k, 0, ErrIncomplete
	}
	k, err = ParseKexinit(b[5 : 4+plen-padlen])
	if err != nil {
		return k, 0, err
	}
	return k, int(4 + plen), nil
}

// ParseClientPreamble parses what a client sends first on an SSH connection: its
// identification line (other lines before it are skipped, as servers tolerate), then
// its first binary packet, which must be an unencrypted KEXINIT. It returns
// ErrIncomplete when b is a valid but unfinished prefix. version is returned as soon
// as the identification line is complete, even with an error.
func ParseClientPreamble(b []byte) (version string, k KexInit, err error) {
	for {
		i := indexByte(b, '\n', MaxSSHIdentLine+1)
		if i < 0 {
			if len(b) > MaxSSHIdentLine {
				return "", k, errors.New("SSH identification line is longer than 255 bytes")
			}
			return "", k, ErrIncomplete
		}
		line := strings.TrimSuffix(string(b[:i]), "\r")
		b = b[i+1:]
		if strings.HasPrefix(line, "SSH-") {
			version = line
			break
		}
	}
	k, _, err = ParseKexinitPacket(b)
	return version, k, err
}

// indexByte finds c within the first limit bytes of b.
func indexByte(b []byte, c byte, limit int) int {
	if len(b) > limit {
		b = b[:limit]
	}
	for i, x := range b {
		if x == c {
			return i
		}
	}
	return -1
}
