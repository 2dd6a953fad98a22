package https

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/sha1"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/pem"
	"fmt"
	"math/big"
	"strings"
	"time"

	"decnet/internal/service"
)

// Secrets stored per decky.
const (
	SecretCert = "tls_cert" // PEM certificate the server presents
	SecretKey  = "tls_key"  // PEM PKCS#8 private key
)

// certStyle is how the persona's operating system would have made its
// certificate when the web server was set up.
type certStyle int

const (
	// styleSnakeoil: Debian's ssl-cert package (make-ssl-cert), the certificate
	// every Debian, Ubuntu and Kali install has at /etc/ssl/certs/ssl-cert-snakeoil.pem:
	// RSA 2048, self-signed, CN=<hostname>, SAN DNS:<hostname>, basicConstraints
	// CA:FALSE (not critical), subjectKeyIdentifier, 3650 days, 20-byte serial.
	styleSnakeoil certStyle = iota
	// styleSSCG: RHEL 8/9 family (Rocky, Fedora) mod_ssl, whose first start runs
	// sscg: a throw-away private CA "C=US, O=Unspecified, OU=ca-<number>,
	// CN=<hostname>" signs "C=US, O=Unspecified, CN=<hostname>", 398 days, with key
	// usage, serverAuth, SAN, subject and authority key identifiers.
	styleSSCG
	// styleDummy: CentOS 7 mod_ssl's make-dummy-cert: self-signed
	// "C=--, ST=SomeState, L=SomeCity, O=SomeOrganization,
	// OU=SomeOrganizationalUnit, CN=<hostname>, emailAddress=root@<hostname>",
	// 365 days, no extensions (a version 1 style certificate made v3 by OpenSSL).
	styleDummy
	// styleIIS: IIS Manager's "Create Self-Signed Certificate": CN=<hostname> for
	// both subject and issuer, one year, 16-byte serial, key usage
	// keyEncipherment+dataEncipherment, serverAuth, SAN, subjectKeyIdentifier.
	styleIIS
	// styleOpenSSL: what an admin's `openssl req -x509 -newkey rsa:2048 -days 365
	// -subj /CN=<hostname>` makes with OpenSSL 3's default v3_ca section (Alpine,
	// Arch, FreeBSD, anything else): SKID, AKID, basicConstraints critical CA:TRUE.
	styleOpenSSL
)

func styleFor(distro, osFamily string) certStyle {
	switch {
	case strings.HasPrefix(osFamily, "windows"):
		return styleIIS
	case distro == "debian" || strings.HasPrefix(distro, "ubuntu") || distro == "kali":
		return styleSnakeoil
	case distro == "rocky9" || distro == "fedora":
		return styleSSCG
	case distro == "centos7":
		return styleDummy
	}
	return styleOpenSSL
}

var (
	oidBasicConstraints = asn1.ObjectIdentifier{2, 5, 29, 19}
	oidSAN              = asn1.ObjectIdentifier{2, 5, 29, 17}
	oidSKID             = asn1.ObjectIdentifier{2, 5, 29, 14}
	oidAKID             = asn1.ObjectIdentifier{2, 5, 29, 35}
	oidKeyUsage         = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtKeyUsage      = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidServerAuth       = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
	oidEmailAddress     = asn1.ObjectIdentifier{1, 2, 840, 113549, 1, 9, 1}
	oidCountry          = asn1.ObjectIdentifier{2, 5, 4, 6}
	oidProvince         = asn1.ObjectIdentifier{2, 5, 4, 8}
	oidLocality         = asn1.ObjectIdentifier{2, 5, 4, 7}
	oidOrganization     = asn1.ObjectIdentifier{2, 5, 4, 10}
	oidOrgUnit          = asn1.ObjectIdentifier{2, 5, 4, 11}
	oidCommonName       = asn1.ObjectIdentifier{2, 5, 4, 3}
)

// attr is one name attribute.
type attr struct {
	oid   asn1.ObjectIdentifier
	value string
}

// rawName encodes a distinguished name the way OpenSSL 3 does (string_mask
// utf8only): countryName as PrintableString, emailAddress as IA5String, every
// other attribute as UTF8String (Go's own encoder prefers PrintableString).
func rawName(attrs ...attr) []byte {
	var seq pkix.RDNSequence
	for _, a := range attrs {
		tag := asn1.TagUTF8String
		switch {
		case a.oid.Equal(oidCountry):
			tag = asn1.TagPrintableString
		case a.oid.Equal(oidEmailAddress):
			tag = asn1.TagIA5String
		}
		seq = append(seq, pkix.RelativeDistinguishedNameSET{{Type: a.oid, Value: asn1.RawValue{Tag: tag, Bytes: []byte(a.value)}}})
	}
	der, _ := asn1.Marshal(seq)
	return der
}

// The extensions are built by hand (ExtraExtensions) so that their order and
// criticality are the ones OpenSSL or Windows write: Go's own writer marks
// basicConstraints critical and orders extensions its own way.

func extBasicConstraints(ca, critical bool) pkix.Extension {
	v := []byte{0x30, 0x00} // SEQUENCE {} = CA:FALSE
	if ca {
		v = []byte{0x30, 0x03, 0x01, 0x01, 0xff}
	}
	return pkix.Extension{Id: oidBasicConstraints, Critical: critical, Value: v}
}

func extSAN(host string) pkix.Extension {
	v, _ := asn1.Marshal([]asn1.RawValue{{Class: asn1.ClassContextSpecific, Tag: 2, Bytes: []byte(host)}})
	return pkix.Extension{Id: oidSAN, Value: v}
}

func extSKID(id []byte) pkix.Extension {
	v, _ := asn1.Marshal(id)
	return pkix.Extension{Id: oidSKID, Value: v}
}

func extAKID(id []byte) pkix.Extension {
	v, _ := asn1.Marshal(struct {
		ID []byte `asn1:"optional,tag:0"`
	}{id})
	return pkix.Extension{Id: oidAKID, Value: v}
}

// extKeyUsage encodes a KeyUsage BIT STRING from its bit numbers (0 = digitalSignature).
func extKeyUsage(critical bool, bits ...int) pkix.Extension {
	var b byte
	maxBit := 0
	for _, n := range bits {
		b |= 0x80 >> n
		maxBit = max(maxBit, n)
	}
	v, _ := asn1.Marshal(asn1.BitString{Bytes: []byte{b}, BitLength: maxBit + 1})
	return pkix.Extension{Id: oidKeyUsage, Critical: critical, Value: v}
}

func extServerAuth() pkix.Extension {
	v, _ := asn1.Marshal([]asn1.ObjectIdentifier{oidServerAuth})
	return pkix.Extension{Id: oidExtKeyUsage, Value: v}
}

// keyID is the RFC 5280 method 1 key identifier OpenSSL and Windows use: SHA-1 of
// the subjectPublicKey bits.
func keyID(pub *rsa.PublicKey) []byte {
	der := x509.MarshalPKCS1PublicKey(pub)
	sum := sha1.Sum(der)
	return sum[:]
}

// serial is a random positive serial of n bytes (OpenSSL: 20 with the top bit
// clear, Windows: 16).
func serial(n int) (*big.Int, error) {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		return nil, err
	}
	b[0] &= 0x7f
	if b[0] == 0 {
		b[0] = 0x01
	}
	return new(big.Int).SetBytes(b), nil
}

// randomDuration returns a random duration in [lo, hi).
func randomDuration(lo, hi time.Duration) time.Duration {
	n, err := rand.Int(rand.Reader, big.NewInt(int64(hi-lo)))
	if err != nil {
		return lo
	}
	return lo + time.Duration(n.Int64())
}

// Secrets makes a decky's TLS key and certificate at deploy time, in the style the
// decky's operating system would have made them (see certStyle). The certificate
// was "issued" some weeks or months before the deploy, never at the deploy moment;
// deploy stores both so a decky presents the same certificate after every restart.
func Secrets(id service.Identity) (map[string]string, error) {
	return makeCert(id.Hostname, id.Distro.Slug, id.OSFamily, time.Now())
}

func makeCert(hostname, distro, osFamily string, now time.Time) (map[string]string, error) {
	if hostname == "" {
		hostname = "localhost"
	}
	if osFamily == "" {
		osFamily = "linux"
	}
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate the TLS key for %s: %w", hostname, err)
	}
	day := 24 * time.Hour
	style := styleFor(distro, osFamily)
	tmpl := &x509.Certificate{SignatureAlgorithm: x509.SHA256WithRSA}
	tmpl.RawSubject = rawName(attr{oidCommonName, hostname})
	serialLen := 20
	signer, parent := key, tmpl
	var life, ageMin, ageMax time.Duration
	skid := keyID(&key.PublicKey)
	switch style {
	case styleSnakeoil:
		life, ageMin, ageMax = 3650*day, 40*day, 900*day
		tmpl.ExtraExtensions = []pkix.Extension{extBasicConstraints(false, false), extSAN(hostname), extSKID(skid)}
	case styleSSCG:
		life, ageMin, ageMax = 398*day, 20*day, 300*day
		caKey, err := rsa.GenerateKey(rand.Reader, 2048)
		if err != nil {
			return nil, fmt.Errorf("generate the private CA key for %s: %w", hostname, err)
		}
		caSerial, err := serial(8)
		if err != nil {
			return nil, fmt.Errorf("draw a CA serial: %w", err)
		}
		caName := rawName(attr{oidCountry, "US"}, attr{oidOrganization, "Unspecified"}, attr{oidOrgUnit, "ca-" + caSerial.String()}, attr{oidCommonName, hostname})
		parent = &x509.Certificate{RawSubject: caName, SubjectKeyId: keyID(&caKey.PublicKey)}
		signer = caKey
		tmpl.RawSubject = rawName(attr{oidCountry, "US"}, attr{oidOrganization, "Unspecified"}, attr{oidCommonName, hostname})
		tmpl.ExtraExtensions = []pkix.Extension{
			extBasicConstraints(false, false), extKeyUsage(true, 0, 2), extServerAuth(), extSAN(hostname),
			extSKID(skid), extAKID(parent.SubjectKeyId),
		}
	case styleDummy:
		life, ageMin, ageMax = 365*day, 20*day, 300*day
		tmpl.RawSubject = rawName(attr{oidCountry, "--"}, attr{oidProvince, "SomeState"}, attr{oidLocality, "SomeCity"},
			attr{oidOrganization, "SomeOrganization"}, attr{oidOrgUnit, "SomeOrganizationalUnit"},
			attr{oidCommonName, hostname}, attr{oidEmailAddress, "root@" + hostname})
	case styleIIS:
		life, ageMin, ageMax = 365*day, 20*day, 300*day
		serialLen = 16
		tmpl.ExtraExtensions = []pkix.Extension{extKeyUsage(false, 2, 3), extServerAuth(), extSAN(hostname), extSKID(skid)}
	default:
		life, ageMin, ageMax = 365*day, 10*day, 300*day
		tmpl.ExtraExtensions = []pkix.Extension{extSKID(skid), extAKID(skid), extBasicConstraints(true, true)}
	}
	if tmpl.SerialNumber, err = serial(serialLen); err != nil {
		return nil, fmt.Errorf("draw a certificate serial: %w", err)
	}
	tmpl.NotBefore = now.Add(-randomDuration(ageMin, ageMax)).UTC().Truncate(time.Second)
	tmpl.NotAfter = tmpl.NotBefore.Add(life)
	der, err := x509.CreateCertificate(rand.Reader, tmpl, parent, &key.PublicKey, signer)
	if err != nil {
		return nil, fmt.Errorf("create the TLS certificate for %s: %w", hostname, err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode the TLS key for %s: %w", hostname, err)
	}
	return map[string]string{
		SecretCert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		SecretKey:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})),
	}, nil
}
