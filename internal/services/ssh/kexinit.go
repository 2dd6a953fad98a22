package ssh

import (
	"crypto/md5"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"strings"
	"sync"
)

// The client's SSH_MSG_KEXINIT is read here by hand: golang.org/x/crypto/ssh parses it
// internally but never exposes the peer's KEXINIT (nor its raw name-lists), and HASSH
// needs the client's lists exactly as sent, in the client's order. The parser below is
// bounded and treats every byte as hostile; FuzzParseClientPreamble and
// FuzzParseKexinit exercise it.

const (
	msgKexinit = 20
	// maxTap bounds how many bytes of a connection the KEXINIT tap keeps.
	maxTap = 64 << 10
	// maxKexPacket is the largest first packet we try to parse (RFC 4253 §6.1 asks
	// every implementation to accept 35000-byte packets; a KEXINIT is ~1–2 KiB).
	maxKexPacket = 35000
	// maxVersionLine bounds one identification line (RFC 4253 §4.2: 255 with CR LF).
	maxVersionLine = 255
)

// ErrIncomplete says the bytes seen so far are a valid prefix: more are needed.
var ErrIncomplete = errors.New("ssh preamble incomplete")

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

// HASSH returns the client fingerprint of Salesforce's HASSH: the MD5 (hex) of
// "kex;ciphers_c2s;macs_c2s;compression_c2s", and that algorithm string.
func (k KexInit) HASSH() (hash, algorithms string) {
	algorithms = k.KexAlgos + ";" + k.CiphersC2S + ";" + k.MACsC2S + ";" + k.CompressionC2S
	return md5hex(algorithms), algorithms
}

// HASSHServer returns HASSHServer, the server-side counterpart: the MD5 (hex) of
// "kex;ciphers_s2c;macs_s2c;compression_s2c", and that algorithm string.
func (k KexInit) HASSHServer() (hash, algorithms string) {
	algorithms = k.KexAlgos + ";" + k.CiphersS2C + ";" + k.MACsS2C + ";" + k.CompressionS2C
	return md5hex(algorithms), algorithms
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}

// ParseKexinit parses an SSH_MSG_KEXINIT payload (message number first). The ten
// name-lists are required; the trailing boolean and reserved word are read when
// present.
func ParseKexinit(payload []byte) (KexInit, error) {
	var k KexInit
	if len(payload) < 1 || payload[0] != msgKexinit {
		return k, errors.New("packet is not an SSH KEXINIT message")
	}
	b := payload[1:]
	if len(b) < 16 {
		return k, errors.New("KEXINIT is too short for its cookie")
	}
	copy(k.Cookie[:], b[:16])
	b = b[16:]
	lists := []*string{&k.KexAlgos, &k.ServerHostKeyAlgos, &k.CiphersC2S, &k.CiphersS2C,
		&k.MACsC2S, &k.MACsS2C, &k.CompressionC2S, &k.CompressionS2C, &k.LanguagesC2S, &k.LanguagesS2C}
	for i, dst := range lists {
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

// ParseClientPreamble parses what a client sends first on an SSH connection: its
// identification line (RFC 4253 §4.2; other lines before it are skipped), then its
// first binary packet, which must be an unencrypted KEXINIT. It returns
// ErrIncomplete when b is a valid but unfinished prefix. version is returned as soon
// as the identification line is complete, even with an error.
func ParseClientPreamble(b []byte) (version string, k KexInit, err error) {
	for {
		i := indexByte(b, '\n', maxVersionLine+1)
		if i < 0 {
			if len(b) > maxVersionLine {
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
	if len(b) < 5 {
		return version, k, ErrIncomplete
	}
	plen := binary.BigEndian.Uint32(b)
	padlen := uint32(b[4])
	if plen < 1+16 || plen > maxKexPacket {
		return version, k, fmt.Errorf("first SSH packet has an implausible length %d", plen)
	}
	if padlen >= plen {
		return version, k, fmt.Errorf("first SSH packet's padding (%d) is not shorter than the packet (%d)", padlen, plen)
	}
	if uint64(len(b)) < 4+uint64(plen) {
		return version, k, ErrIncomplete
	}
	payload := b[5 : 4+plen-padlen]
	k, err = ParseKexinit(payload)
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

// kexTap wraps an attacker connection and copies the first bytes the client sends
// (at most maxTap) until its version line and KEXINIT have been parsed. It is a
// passive tee: the SSH library reads exactly the bytes it would have read anyway.
type kexTap struct {
	net.Conn

	mu       sync.Mutex
	buf      []byte
	done     bool
	version  string
	kex      KexInit
	haveKex  bool
	onResult func(version string, k KexInit, ok bool)
}

func newKexTap(c net.Conn, onResult func(version string, k KexInit, ok bool)) *kexTap {
	return &kexTap{Conn: c, onResult: onResult}
}

func (t *kexTap) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if n > 0 {
		t.feed(p[:n])
	}
	return n, err
}

func (t *kexTap) feed(p []byte) {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	room := maxTap - len(t.buf)
	if len(p) > room {
		p = p[:room]
	}
	t.buf = append(t.buf, p...)
	v, k, err := ParseClientPreamble(t.buf)
	if v != "" {
		t.version = v
	}
	if errors.Is(err, ErrIncomplete) && len(t.buf) < maxTap {
		t.mu.Unlock()
		return
	}
	t.done = true
	t.buf = nil
	if err == nil {
		t.kex, t.haveKex = k, true
	}
	cb, version, kex, ok := t.onResult, t.version, t.kex, t.haveKex
	t.mu.Unlock()
	if cb != nil {
		cb(version, kex, ok)
	}
}

// result returns what the tap has seen so far.
func (t *kexTap) result() (version string, k KexInit, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.version, t.kex, t.haveKex
}

// finish ends tapping (the connection is over) and reports a version line seen
// without a KEXINIT, once.
func (t *kexTap) finish() {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	t.done = true
	t.buf = nil
	cb, version := t.onResult, t.version
	t.mu.Unlock()
	if cb != nil && version != "" {
		cb(version, KexInit{}, false)
	}
}
