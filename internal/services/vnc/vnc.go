package vnc

import (
	"context"
	"crypto/des"
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"strings"

	"decnet/internal/event"
	"decnet/internal/service"
)

// secVNCAuth is RFB's VNC Authentication security type.
const secVNCAuth = 2

func run(ctx context.Context, rt *service.Runtime) error {
	version := rt.Persona(KeyVersion)
	if version == "" {
		version = "003.008"
	}
	product := rt.Persona(KeyProduct)
	if product == "" {
		fam := rt.Config.OSFamily
		if fam == "" {
			fam = rt.Distro.OSFamily
		}
		product = defaultProduct(fam)
	}
	s := &server{banner: "RFB " + version + "\n", failure: products[product]}
	return rt.ServeTCP(ctx, Port, s.serve)
}

type server struct {
	banner  string
	failure string
}

// parseVersion reads a ProtocolVersion message ("RFB xxx.yyy\n") and returns the
// minor version the server speaks with it: 3, 7 or 8 (RFB 6.1.1: an unknown minor
// below 7 means 3.3, anything from 8 up, and versions 4.x/5.x, mean 3.8).
func parseVersion(b []byte) (minor int, ok bool) {
	if len(b) != 12 || string(b[:4]) != "RFB " || b[7] != '.' || b[11] != '\n' {
		return 0, false
	}
	major, err1 := strconv.Atoi(string(b[4:7]))
	mn, err2 := strconv.Atoi(string(b[8:11]))
	if err1 != nil || err2 != nil || major < 3 {
		return 0, false
	}
	switch {
	case major > 3 || mn >= 8:
		return 8, true
	case mn == 7:
		return 7, true
	}
	return 3, true
}

func (s *server) serve(_ context.Context, c *service.Conn) {
	if _, err := io.WriteString(c, s.banner); err != nil {
		return
	}
	buf := make([]byte, 12)
	if _, err := io.ReadFull(c, buf); err != nil {
		return
	}
	f := map[string]string{}
	service.SetPrintable(f, "client_version", string(buf))
	minor, ok := parseVersion(buf)
	if !ok {
		f["outcome"] = "bad_version"
		f["data_b64"] = base64.StdEncoding.EncodeToString(buf)
		c.Emit(event.Request, f, "")
		return // real servers drop a client with a malformed version
	}
	server := minor
	if b := s.banner; b == "RFB 003.003\n" || (b == "RFB 003.007\n" && minor > 7) {
		server = int(b[10] - '0')
	}
	minor = min(minor, server)
	f["protocol"] = "3." + strconv.Itoa(minor)
	if minor == 3 {
		// 3.3: the server decides the security type.
		if _, err := c.Write(binary.BigEndian.AppendUint32(nil, secVNCAuth)); err != nil {
			return
		}
		f["security_type"] = strconv.Itoa(secVNCAuth)
	} else {
		if _, err := c.Write([]byte{1, secVNCAuth}); err != nil {
			return
		}
		t := make([]byte, 1)
		if _, err := io.ReadFull(c, t); err != nil {
			f["outcome"] = "no_security_type"
			c.Emit(event.Request, f, "")
			return
		}
		f["security_type"] = strconv.Itoa(int(t[0]))
		if t[0] != secVNCAuth {
			f["outcome"] = "unsupported_security_type"
			c.Emit(event.Request, f, "")
			if minor == 8 {
				c.Write(failure("Security type not supported"))
			}
			return
		}
	}
	c.Emit(event.Request, f, "")

	challenge := make([]byte, 16)
	rand.Read(challenge)
	if _, err := c.Write(challenge); err != nil {
		return
	}
	resp := make([]byte, 16)
	if _, err := io.ReadFull(c, resp); err != nil {
		return
	}
	a := map[string]string{
		"secret_kind": "vnc_des",
		"hash":        HashLine(challenge, resp),
		"challenge":   hex.EncodeToString(challenge),
		"response":    hex.EncodeToString(resp),
		"secret_b64":  base64.StdEncoding.EncodeToString(resp),
		"protocol":    f["protocol"],
		"outcome":     "failure",
	}
	c.Emit(event.Auth, a, "")
	if minor == 8 {
		c.Write(failure(s.failure))
	} else {
		c.Write(binary.BigEndian.AppendUint32(nil, 1))
	}
}

// failure is an RFB 3.8 failed SecurityResult with its reason string.
func failure(reason string) []byte {
	b := binary.BigEndian.AppendUint32(nil, 1)
	b = binary.BigEndian.AppendUint32(b, uint32(len(reason)))
	return append(b, reason...)
}

// HashLine renders a VNC authentication exchange in John the Ripper's VNC format:
// $vnc$*<challenge hex>*<response hex>, upper-case hex.
func HashLine(challenge, response []byte) string {
	return "$vnc$*" + strings.ToUpper(hex.EncodeToString(challenge)) + "*" + strings.ToUpper(hex.EncodeToString(response))
}

// desKey is VNC's DES key for a password: its first 8 bytes (NUL-padded), each
// byte's bits reversed.
func desKey(password string) []byte {
	key := make([]byte, 8)
	copy(key, password)
	for i, b := range key {
		var r byte
		for j := 0; j < 8; j++ {
			r = r<<1 | (b>>j)&1
		}
		key[i] = r
	}
	return key
}

// Response computes the VNC authentication response to challenge for password:
// the challenge DES-encrypted (ECB, two blocks) with the password's key.
func Response(challenge []byte, password string) ([]byte, error) {
	if len(challenge) != 16 {
		return nil, fmt.Errorf("a VNC challenge is 16 bytes, not %d", len(challenge))
	}
	blk, err := des.NewCipher(desKey(password))
	if err != nil {
		return nil, fmt.Errorf("VNC DES key: %w", err)
	}
	out := make([]byte, 16)
	blk.Encrypt(out[:8], challenge[:8])
	blk.Encrypt(out[8:], challenge[8:])
	return out, nil
}

// Crack returns the word of words whose VNC response to challenge is response, as
// John the Ripper's VNC format would; ok is false when none is.
func Crack(challenge, response []byte, words []string) (string, bool) {
	for _, w := range words {
		if r, err := Response(challenge, w); err == nil && string(r) == string(response) {
			return w, true
		}
	}
	return "", false
}
