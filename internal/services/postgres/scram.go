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

var errSCRAM = errors.New("malformed SCRAM message")

// clientFirst is a parsed client-first-message.
type clientFirst struct {
	gs2Header string // "n,," or "y,," (with any authzid)
	bare      string // client-first-message-bare
	user      string // n= (PostgreSQL ignores it: the startup user counts)
	nonce     string
}

// parseClientFirst parses "gs2-header client-first-message-bare".
func parseClientFirst(msg string) (clientFirst, error) {
	var cf clientFirst
	// gs2-cbind-flag "," [authzid] ","
	flag, rest, ok := strings.Cut(msg, ",")
	if !ok {
		return cf, errSCRAM
	}
	switch {
	case flag == "n", flag == "y", strings.HasPrefix(flag, "p="):
	default:
		return cf, errSCRAM
	}
	authz, bare, ok := strings.Cut(rest, ",")
	if !ok || (authz != "" && !strings.HasPrefix(authz, "a=")) {
		return cf, errSCRAM
	}
	cf.gs2Header = flag + "," + authz + ","
	cf.bare = bare
	attrs := strings.Split(bare, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "n=") || !strings.HasPrefix(attrs[1], "r=") {
		return cf, errSCRAM
	}
	cf.user = attrs[0][2:]
	cf.nonce = attrs[1][2:]
	if cf.nonce == "" || strings.ContainsFunc(cf.nonce, func(r rune) bool { return r < 0x21 || r > 0x7e || r == ',' }) {
		return cf, errSCRAM
	}
	return cf, nil
}

// clientFinal is a parsed client-final-message.
type clientFinal struct {
	withoutProof string // client-final-message-without-proof
	binding      string // c= (base64 of the gs2 header)
	nonce        string
	proof        []byte
}

func parseClientFinal(msg string) (clientFinal, error) {
	var cf clientFinal
	i := strings.LastIndex(msg, ",p=")
	if i < 0 {
		return cf, errSCRAM
	}
	cf.withoutProof = msg[:i]
	proof, err := base64.StdEncoding.DecodeString(msg[i+3:])
	if err != nil || len(proof) != sha256.Size {
		return cf, errSCRAM
	}
	cf.proof = proof
	attrs := strings.Split(cf.withoutProof, ",")
	if len(attrs) < 2 || !strings.HasPrefix(attrs[0], "c=") || !strings.HasPrefix(attrs[1], "r=") {
		return cf, errSCRAM
	}
	cf.binding, cf.nonce = attrs[0][2:], attrs[1][2:]
	return cf, nil
}

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
