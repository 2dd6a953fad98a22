package fingerprint

import (
	"crypto/md5"
	"encoding/hex"
	"strconv"
	"strings"
)

// JA3 is a client's JA3 fingerprint (Salesforce): the full string and its MD5.
//
// The string is SSLVersion,Ciphers,Extensions,EllipticCurves,EllipticCurvePointFormats:
// decimal values, each list joined with "-", GREASE values removed from the cipher,
// extension and group lists; the version is the hello's legacy_version.
func JA3(ch *ClientHello) (full, hash string) {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(ch.Version)))
	b.WriteByte(',')
	joinU16(&b, ch.CipherSuites)
	b.WriteByte(',')
	types := make([]uint16, len(ch.Extensions))
	for i, e := range ch.Extensions {
		types[i] = e.Type
	}
	joinU16(&b, types)
	b.WriteByte(',')
	joinU16(&b, ch.SupportedGroups)
	b.WriteByte(',')
	for i, f := range ch.ECPointFormats {
		if i > 0 {
			b.WriteByte('-')
		}
		b.WriteString(strconv.Itoa(int(f)))
	}
	full = b.String()
	return full, md5hex(full)
}

// JA3S is a server's JA3S fingerprint (Salesforce): SSLVersion,Cipher,Extensions
// in decimal, extensions joined with "-" in the order sent, and its MD5.
func JA3S(sh *ServerHello) (full, hash string) {
	var b strings.Builder
	b.WriteString(strconv.Itoa(int(sh.Version)))
	b.WriteByte(',')
	b.WriteString(strconv.Itoa(int(sh.CipherSuite)))
	b.WriteByte(',')
	types := make([]uint16, len(sh.Extensions))
	for i, e := range sh.Extensions {
		types[i] = e.Type
	}
	joinU16(&b, types)
	full = b.String()
	return full, md5hex(full)
}

// joinU16 writes vs in decimal joined with "-", GREASE values left out.
func joinU16(b *strings.Builder, vs []uint16) {
	first := true
	for _, v := range vs {
		if IsGREASE(v) {
			continue
		}
		if !first {
			b.WriteByte('-')
		}
		first = false
		b.WriteString(strconv.Itoa(int(v)))
	}
}

func md5hex(s string) string {
	sum := md5.Sum([]byte(s))
	return hex.EncodeToString(sum[:])
}
