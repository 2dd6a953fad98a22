package snmp

import (
	"crypto/hmac"
	"crypto/sha1"
	"encoding/hex"
	"strings"
	"testing"

	"decnet/internal/testenv"
)

func hexString(b []byte) string { return hex.EncodeToString(b) }

func testingShort() bool { return testing.Short() }

func requireRootBind(t *testing.T) { testenv.RequireRoot(t) }

// verifyV3 checks a captured $SNMPv3$0$ line (HMAC-SHA1-96) against a password with
// RFC 3414's key localisation, independently of hashcat.
func verifyV3(t *testing.T, line, password string) bool {
	t.Helper()
	parts := strings.Split(line, "$")
	// "", "SNMPv3", type, id, msg, engine, mac
	if len(parts) != 7 || parts[1] != "SNMPv3" || parts[2] != "0" {
		t.Fatalf("not an SNMPv3 type-0 hash line: %q", line)
	}
	msg, err1 := hex.DecodeString(parts[4])
	engine, err2 := hex.DecodeString(parts[5])
	mac, err3 := hex.DecodeString(parts[6])
	if err1 != nil || err2 != nil || err3 != nil {
		t.Fatalf("hash line is not hex: %q", line)
	}
	// Password to key: SHA-1 over 1 MiB of the repeated password.
	h := sha1.New()
	buf := make([]byte, 0, 1<<20)
	for len(buf) < 1<<20 {
		buf = append(buf, password...)
	}
	h.Write(buf[:1<<20])
	ku := h.Sum(nil)
	// Localise to the engine.
	h.Reset()
	h.Write(ku)
	h.Write(engine)
	h.Write(ku)
	kul := h.Sum(nil)
	m := hmac.New(sha1.New, kul)
	m.Write(msg)
	return hmac.Equal(m.Sum(nil)[:12], mac)
}
