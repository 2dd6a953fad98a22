package fingerprint

import (
	"crypto/sha256"
	"encoding/hex"
	"slices"
	"strconv"
	"strings"
)

// Transport is the first character of a JA4: how the hello travelled.
type Transport byte

// Transports JA4 distinguishes.
const (
	TCP  Transport = 't'
	QUIC Transport = 'q'
	DTLS Transport = 'd'
)

// JA4Set is a client's JA4 (TLS client) fingerprint per FoxIO's specification
// (technical_details/JA4.md, BSD 3-Clause), in its four renderings.
type JA4Set struct {
	JA4   string // sorted, hashed: t13d1516h2_8daaf6152771_e5627efa2ab1
	Raw   string // JA4_r: sorted, not hashed
	Orig  string // JA4_o: original order (SNI and ALPN kept), hashed
	RawOr string // JA4_ro: original order, not hashed
}

// JA4 computes the JA4 fingerprints of a ClientHello.
//
//	a: transport, version (highest non-GREASE supported_versions, else the hello's
//	   version), d/i (SNI present or not), cipher count, extension count (GREASE
//	   excluded, capped at 99), first and last character of the first ALPN value
//	b: the cipher list (4-hex, lower case, comma-joined, GREASE removed), sorted,
//	   SHA-256, first 12 hex characters ("000000000000" when empty)
//	c: the extension list sorted without SNI and ALPN, then "_" and the
//	   signature algorithms in the order sent (no "_" when there are none), hashed
//	   the same way ("000000000000" when no extension is left)
//
// The original-order forms keep ciphers and extensions as sent, SNI and ALPN included.
func JA4(ch *ClientHello, tr Transport) JA4Set {
	var ciphers []uint16
	for _, c := range ch.CipherSuites {
		if !IsGREASE(c) {
			ciphers = append(ciphers, c)
		}
	}
	var exts, extsNoSNI []uint16
	sni := byte('i')
	for _, e := range ch.Extensions {
		if IsGREASE(e.Type) {
			continue
		}
		exts = append(exts, e.Type)
		switch e.Type {
		case ExtServerName:
			sni = 'd'
		case ExtALPN:
		default:
			extsNoSNI = append(extsNoSNI, e.Type)
		}
	}
	var sigs []uint16
	for _, s := range ch.SignatureAlgorithms {
		if !IsGREASE(s) {
			sigs = append(sigs, s)
		}
	}

	a := string(tr) + ja4Version(ch) + string(sni) + count99(len(ciphers)) + count99(len(exts)) + alpnChars(ch.ALPN)

	sortedCiphers := slices.Clone(ciphers)
	slices.Sort(sortedCiphers)
	sortedExts := slices.Clone(extsNoSNI)
	slices.Sort(sortedExts)
	sigList := hexList(sigs)
	withSigs := func(e string) string {
		if sigList == "" {
			return e
		}
		return e + "_" + sigList
	}

	rawCiphers, origCiphers := hexList(sortedCiphers), hexList(ciphers)
	rawExts, origExts := withSigs(hexList(sortedExts)), withSigs(hexList(exts))
	noExts := len(extsNoSNI) == 0
	return JA4Set{
		JA4:   a + "_" + hash12(rawCiphers, len(ciphers) == 0) + "_" + hash12(rawExts, noExts),
		Raw:   a + "_" + rawCiphers + "_" + rawExts,
		Orig:  a + "_" + hash12(origCiphers, len(ciphers) == 0) + "_" + hash12(origExts, noExts),
		RawOr: a + "_" + origCiphers + "_" + origExts,
	}
}

// ja4Version is the 2-character version: the highest non-GREASE value of
// supported_versions when the extension is present, else the hello's version.
func ja4Version(ch *ClientHello) string {
	v := ch.Version
	has := false
	for _, e := range ch.Extensions {
		if e.Type == ExtSupportedVersions {
			has = true
		}
	}
	if has {
		v = 0
		for _, s := range ch.SupportedVersions {
			if IsGREASE(s) {
				continue
			}
			// DTLS versions count down (0xfeff is 1.0, 0xfefc 1.3).
			if v == 0 || dtlsRank(s) > dtlsRank(v) {
				v = s
			}
		}
	}
	switch v {
	case 0x0304:
		return "13"
	case 0x0303:
		return "12"
	case 0x0302:
		return "11"
	case 0x0301:
		return "10"
	case 0x0300:
		return "s3"
	case 0x0002:
		return "s2"
	case 0xfeff:
		return "d1"
	case 0xfefd:
		return "d2"
	case 0xfefc:
		return "d3"
	}
	return "00"
}

// dtlsRank orders versions, DTLS ones (0xfeXX, descending) as their own family.
func dtlsRank(v uint16) int {
	if v>>8 == 0xfe {
		return 0x10000 + int(0xff-v&0xff)
	}
	return int(v)
}

func count99(n int) string {
	n = min(n, 99)
	if n < 10 {
		return "0" + strconv.Itoa(n)
	}
	return strconv.Itoa(n)
}

// alpnChars is the first and last character of the first ALPN value: "00" when
// there is none or it is empty; the first and last hex digit of the value when
// its first or last byte is not an ASCII letter or digit.
func alpnChars(alpn [][]byte) string {
	if len(alpn) == 0 || len(alpn[0]) == 0 {
		return "00"
	}
	p := alpn[0]
	first, last := p[0], p[len(p)-1]
	if isAlnum(first) && isAlnum(last) {
		return string([]byte{first, last})
	}
	h := hex.EncodeToString(p)
	return string([]byte{h[0], h[len(h)-1]})
}

func isAlnum(c byte) bool {
	return c >= '0' && c <= '9' || c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z'
}

// hexList renders vs as 4-digit lower-case hex joined with commas.
func hexList(vs []uint16) string {
	var b strings.Builder
	for i, v := range vs {
		if i > 0 {
			b.WriteByte(',')
		}
		const digits = "0123456789abcdef"
		b.Write([]byte{digits[v>>12], digits[v>>8&0xf], digits[v>>4&0xf], digits[v&0xf]})
	}
	return b.String()
}

// hash12 is the first 12 hex characters of SHA-256(s), or twelve zeros for an
// empty list.
func hash12(s string, empty bool) string {
	if empty {
		return "000000000000"
	}
	sum := sha256.Sum256([]byte(s))
	return hex.EncodeToString(sum[:6])
}
