package mongodb

// SCRAM-SHA-1 and SCRAM-SHA-256 (RFC 5802, RFC 7677) server side, as mongod runs
// them inside saslStart / saslContinue. The SCRAM libraries for Go
// (github.com/xdg-go/scram, which the driver uses) verify against stored keys
// and hide the client's proof; a honeypot needs exactly the proof and the
// AuthMessage, so the few attribute rules are parsed here (bounded by the
// message size, fuzzed in fuzz_test.go).
//
// MongoDB specifics: SCRAM-SHA-1 runs over the "digested" password
// hex(MD5(user ":mongo:" password)), not the password itself; SCRAM-SHA-256 runs
// over the SASLprep'd password (the identity for ASCII).

import (
	"crypto/hmac"
	"crypto/md5"
	"crypto/pbkdf2"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/subtle"
	"decnet/internal/services/scram"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"hash"
	"strconv"
	"strings"
)

// Mechanisms and mongod's default iteration counts (scramIterationCount,
// scramSHA256IterationCount) and salt lengths (digest size - 4).
const (
	mechSHA1   = "SCRAM-SHA-1"
	mechSHA256 = "SCRAM-SHA-256"
)

type mechanism struct {
	name       string
	kind       string // secret_kind and capture prefix
	iterations int
	saltLen    int
	hash       func() hash.Hash
	size       int
}

var mechanisms = map[string]mechanism{
	mechSHA1:   {mechSHA1, "mongodb_scram_sha1", 10000, 16, sha1.New, sha1.Size},
	mechSHA256: {mechSHA256, "mongodb_scram_sha256", 15000, 28, sha256.New, sha256.Size},
}

// clientFirst is a client-first-message with its user name unescaped: mongod keys
// users by the unescaped name.
type clientFirst struct {
	scram.ClientFirst
	user string
}

func parseClientFirst(msg string) (clientFirst, error) {
	cf, err := scram.ParseClientFirst(msg)
	if err != nil {
		return clientFirst{}, err
	}
	user, err := cf.Name()
	if err != nil {
		return clientFirst{}, err
	}
	return clientFirst{ClientFirst: cf, user: user}, nil
}

// Capture is one captured SCRAM exchange: everything a password guess needs
// to be checked offline.
type Capture struct {
	Mechanism   string // SCRAM-SHA-1 or SCRAM-SHA-256
	User        string // needed by SCRAM-SHA-1's password digest
	Iterations  int
	Salt        []byte
	AuthMessage string // client-first-bare "," server-first "," client-final-without-proof
	Proof       []byte // ClientProof
}

// String renders the capture as one line:
//
//	$mongodb-scram-sha-256$<iterations>$<salt b64>$<AuthMessage b64>$<ClientProof b64>
//	$mongodb-scram-sha-1$<iterations>$<salt b64>$<AuthMessage b64>$<ClientProof b64>
//
// (the SCRAM-SHA-1 user name, part of the password digest, is the n= attribute of
// the AuthMessage). No cracker reads a SCRAM exchange as of hashcat 6.2.6: its
// modes 24100/24200 take mongod's stored ServerKey, which the exchange does not
// reveal. ParseCapture and Verify check guesses against this form.
func (c Capture) String() string {
	b := base64.StdEncoding
	return "$" + prefix(c.Mechanism) + "$" + strconv.Itoa(c.Iterations) + "$" + b.EncodeToString(c.Salt) + "$" +
		b.EncodeToString([]byte(c.AuthMessage)) + "$" + b.EncodeToString(c.Proof)
}

func prefix(mech string) string {
	if mech == mechSHA1 {
		return "mongodb-scram-sha-1"
	}
	return "mongodb-scram-sha-256"
}

// ParseCapture reads a capture written by String.
func ParseCapture(s string) (Capture, error) {
	var c Capture
	var rest string
	var ok bool
	if rest, ok = strings.CutPrefix(s, "$mongodb-scram-sha-1$"); ok {
		c.Mechanism = mechSHA1
	} else if rest, ok = strings.CutPrefix(s, "$mongodb-scram-sha-256$"); ok {
		c.Mechanism = mechSHA256
	} else {
		return c, errors.New("not a $mongodb-scram-sha-1$ or $mongodb-scram-sha-256$ capture")
	}
	f := strings.Split(rest, "$")
	if len(f) != 4 {
		return c, errors.New("a MongoDB SCRAM capture has four $-separated fields")
	}
	var err error
	if c.Iterations, err = strconv.Atoi(f[0]); err != nil || c.Iterations < 1 || c.Iterations > 1<<20 {
		return c, errors.New("bad iteration count in SCRAM capture")
	}
	b := base64.StdEncoding
	am, err1 := b.DecodeString(f[2])
	proof, err2 := b.DecodeString(f[3])
	c.Salt, err = b.DecodeString(f[1])
	c.Proof = proof
	if err != nil || err1 != nil || err2 != nil || len(c.Proof) != mechanisms[c.Mechanism].size {
		return c, errors.New("bad base64 field in SCRAM capture")
	}
	c.AuthMessage = string(am)
	first, _, _ := strings.Cut(c.AuthMessage, ",")
	if c.User, err = (scram.ClientFirst{User: strings.TrimPrefix(first, "n=")}).Name(); err != nil || !strings.HasPrefix(first, "n=") {
		return c, errors.New("SCRAM capture's AuthMessage does not start with n=<user>")
	}
	return c, nil
}

// Verify reports whether password produces the captured proof.
func Verify(c Capture, password string) bool {
	m, ok := mechanisms[c.Mechanism]
	if !ok {
		return false
	}
	return subtle.ConstantTimeCompare(clientProof(m, c.User, password, c.Salt, c.Iterations, c.AuthMessage), c.Proof) == 1
}

// scramPassword is what mongod's SCRAM runs over.
func scramPassword(mech, user, password string) string {
	if mech == mechSHA1 {
		sum := md5.Sum([]byte(user + ":mongo:" + password))
		return hex.EncodeToString(sum[:])
	}
	return password
}

// clientProof is the ClientProof a client with password sends (RFC 5802 §3).
func clientProof(m mechanism, user, password string, salt []byte, iterations int, authMessage string) []byte {
	salted, _ := pbkdf2.Key(m.hash, scramPassword(m.name, user, password), salt, iterations, m.size)
	mac := hmac.New(m.hash, salted)
	mac.Write([]byte("Client Key"))
	clientKey := mac.Sum(nil)
	h := m.hash()
	h.Write(clientKey)
	stored := h.Sum(nil)
	mac = hmac.New(m.hash, stored)
	mac.Write([]byte(authMessage))
	sig := mac.Sum(nil)
	for i := range clientKey {
		clientKey[i] ^= sig[i]
	}
	return clientKey
}
