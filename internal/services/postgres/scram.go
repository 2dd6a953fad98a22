package postgres

// SCRAM-SHA-256 (RFC 5802, RFC 7677) server side, as PostgreSQL speaks it inside
// SASLInitialResponse / SASLResponse messages. pgproto3 frames those messages but
// leaves their text to the application, and the SCRAM libraries for Go verify
// against stored keys and hide the client's proof; a honeypot needs exactly the
// proof and the AuthMessage, so the few attribute rules are parsed here (bounded
// by the message size, fuzzed in fuzz_test.go).

import (
	"crypto/hmac"
	"crypto/pbkdf2"
	"crypto/sha256"
	"crypto/subtle"
	"encoding/base64"
	"errors"
	"strconv"
	"strings"
)

// scramIterations is PostgreSQL's default scram_iterations.
const scramIterations = 4096

// SCRAMCapture is one captured SCRAM-SHA-256 exchange: everything a password
// guess needs to be checked offline.
type SCRAMCapture struct {
	Iterations  int
	Salt        []byte
	AuthMessage string // client-first-bare "," server-first "," client-final-without-proof
	Proof       []byte // ClientProof
}

// String renders the capture as one line:
//
//	$scram-sha-256$<iterations>$<salt b64>$<AuthMessage b64>$<ClientProof b64>
//
// No cracker reads a SCRAM exchange as of hashcat 6.2.6: its mode 28600 takes the
// server's stored verifier (StoredKey and ServerKey), which the exchange does not
// reveal. ParseSCRAM and VerifySCRAM check guesses against this form.
func (c SCRAMCapture) String() string {
	b := base64.StdEncoding
	return "$scram-sha-256$" + strconv.Itoa(c.Iterations) + "$" + b.EncodeToString(c.Salt) + "$" +
		b.EncodeToString([]byte(c.AuthMessage)) + "$" + b.EncodeToString(c.Proof)
}

// ParseSCRAM reads a capture written by String.
func ParseSCRAM(s string) (SCRAMCapture, error) {
	var c SCRAMCapture
	rest, ok := strings.CutPrefix(s, "$scram-sha-256$")
	f := strings.Split(rest, "$")
	if !ok || len(f) != 4 {
		return c, errors.New("not a $scram-sha-256$ capture")
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
	if err != nil || err1 != nil || err2 != nil || len(c.Proof) != sha256.Size {
		return c, errors.New("bad base64 field in SCRAM capture")
	}
	c.AuthMessage = string(am)
	return c, nil
}

// VerifySCRAM reports whether password produces the captured proof.
func VerifySCRAM(c SCRAMCapture, password string) bool {
	return subtle.ConstantTimeCompare(scramProof(password, c.Salt, c.Iterations, c.AuthMessage), c.Proof) == 1
}

// scramProof is the ClientProof a client with password sends (RFC 5802 §3).
// PostgreSQL applies SASLprep to the password; for ASCII passwords that is the
// identity.
func scramProof(password string, salt []byte, iterations int, authMessage string) []byte {
	salted, _ := pbkdf2.Key(sha256.New, password, salt, iterations, sha256.Size)
	clientKey := hmacSHA256(salted, "Client Key")
	stored := sha256.Sum256(clientKey)
	sig := hmacSHA256(stored[:], authMessage)
	for i := range clientKey {
		clientKey[i] ^= sig[i]
	}
	return clientKey
}

func hmacSHA256(key []byte, msg string) []byte {
	m := hmac.New(sha256.New, key)
	m.Write([]byte(msg))
	return m.Sum(nil)
}
