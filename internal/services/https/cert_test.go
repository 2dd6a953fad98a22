package https

import (
	"bytes"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"encoding/asn1"
	"encoding/pem"
	"testing"
	"time"
)

func parseCert(t *testing.T, secrets map[string]string) *x509.Certificate {
	t.Helper()
	block, _ := pem.Decode([]byte(secrets[SecretCert]))
	if block == nil || block.Type != "CERTIFICATE" {
		t.Fatalf("no certificate PEM in %q", secrets[SecretCert])
	}
	cert, err := x509.ParseCertificate(block.Bytes)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := tls.X509KeyPair([]byte(secrets[SecretCert]), []byte(secrets[SecretKey])); err != nil {
		t.Fatalf("key does not match the certificate: %v", err)
	}
	return cert
}

func extOrder(c *x509.Certificate) []string {
	names := map[string]string{
		oidBasicConstraints.String(): "bc", oidSAN.String(): "san", oidSKID.String(): "skid", oidAKID.String(): "akid",
		oidKeyUsage.String(): "ku", oidExtKeyUsage.String(): "eku",
	}
	var out []string
	for _, e := range c.Extensions {
		n := names[e.Id.String()]
		if e.Critical {
			n += "!"
		}
		out = append(out, n)
	}
	return out
}

func TestCertStyles(t *testing.T) {
	now := time.Date(2026, 3, 1, 12, 0, 0, 0, time.UTC)
	day := 24 * time.Hour
	tests := []struct {
		distro, family string
		issuer         string
		subject        string
		exts           []string
		life           time.Duration
		serialBytes    int
		maxAge         time.Duration
	}{
		{"ubuntu22", "linux", "CN=web01", "CN=web01", []string{"bc", "san", "skid"}, 3650 * day, 20, 900 * day},
		{"debian", "linux", "CN=web01", "CN=web01", []string{"bc", "san", "skid"}, 3650 * day, 20, 900 * day},
		{"rocky9", "linux", "CN=web01,OU=ca-*,O=Unspecified,C=US", "CN=web01,O=Unspecified,C=US", []string{"bc", "ku!", "eku", "san", "skid", "akid"}, 398 * day, 20, 300 * day},
		{"centos7", "linux", "CN=web01,OU=SomeOrganizationalUnit,O=SomeOrganization,L=SomeCity,ST=SomeState,C=--,1.2.840.113549.1.9.1=#0c0a726f6f74407765623031", "", nil, 365 * day, 20, 300 * day},
		{"windows2019", "windows_server", "CN=web01", "CN=web01", []string{"ku", "eku", "san", "skid"}, 365 * day, 16, 300 * day},
		{"alpine", "linux", "CN=web01", "CN=web01", []string{"skid", "akid", "bc!"}, 365 * day, 20, 300 * day},
	}
	for _, tc := range tests {
		s, err := makeCert("web01", tc.distro, tc.family, now)
		if err != nil {
			t.Fatal(err)
		}
		c := parseCert(t, s)
		if c.Subject.CommonName != "web01" {
			t.Errorf("%s: CN %q", tc.distro, c.Subject.CommonName)
		}
		if !match(tc.issuer, c.Issuer.String()) {
			t.Errorf("%s: issuer %q, want %q", tc.distro, c.Issuer.String(), tc.issuer)
		}
		// OpenSSL's encodings: CN as UTF8String; emailAddress as IA5String.
		if !bytes.Contains(c.RawSubject, []byte("\x0c\x05web01")) {
			t.Errorf("%s: CN is not a UTF8String in %x", tc.distro, c.RawSubject)
		}
		if tc.distro == "centos7" && !bytes.Contains(c.RawSubject, []byte("\x16\x0aroot@web01")) {
			t.Errorf("%s: emailAddress is not an IA5String in %x", tc.distro, c.RawSubject)
		}
		if tc.subject != "" && c.Subject.String() != tc.subject {
			t.Errorf("%s: subject %q, want %q", tc.distro, c.Subject.String(), tc.subject)
		}
		if got := extOrder(c); !equal(got, tc.exts) {
			t.Errorf("%s: extensions %v, want %v", tc.distro, got, tc.exts)
		}
		if len(tc.exts) > 0 && (len(c.DNSNames) != 1 || c.DNSNames[0] != "web01") && contains(tc.exts, "san") {
			t.Errorf("%s: SAN %v", tc.distro, c.DNSNames)
		}
		if c.NotAfter.Sub(c.NotBefore) != tc.life {
			t.Errorf("%s: lifetime %v, want %v", tc.distro, c.NotAfter.Sub(c.NotBefore), tc.life)
		}
		age := now.Sub(c.NotBefore)
		if age < 10*day || age > tc.maxAge {
			t.Errorf("%s: issued %v before deploy, want between 10 days and %v", tc.distro, age, tc.maxAge)
		}
		if n := len(c.SerialNumber.Bytes()); n < tc.serialBytes-1 || n > tc.serialBytes || c.SerialNumber.Sign() <= 0 {
			t.Errorf("%s: serial %x (%d bytes), want %d positive", tc.distro, c.SerialNumber, n, tc.serialBytes)
		}
		if k, ok := c.PublicKey.(*rsa.PublicKey); !ok || k.N.BitLen() != 2048 {
			t.Errorf("%s: key is not RSA 2048", tc.distro)
		}
		if c.SignatureAlgorithm != x509.SHA256WithRSA {
			t.Errorf("%s: signature %v", tc.distro, c.SignatureAlgorithm)
		}
		for _, e := range c.Extensions {
			if e.Id.Equal(oidSKID) {
				var id []byte
				asn1.Unmarshal(e.Value, &id)
				if !bytes.Equal(id, keyID(c.PublicKey.(*rsa.PublicKey))) {
					t.Errorf("%s: subject key identifier is not SHA-1 of the key", tc.distro)
				}
			}
		}
		if tc.issuer == tc.subject {
			if err := c.CheckSignature(c.SignatureAlgorithm, c.RawTBSCertificate, c.Signature); err != nil {
				t.Errorf("%s: not self-signed: %v", tc.distro, err)
			}
		}
	}
	// Two deckies never share a key or serial.
	a, _ := makeCert("web01", "ubuntu22", "linux", now)
	b, _ := makeCert("web01", "ubuntu22", "linux", now)
	if a[SecretKey] == b[SecretKey] || parseCert(t, a).SerialNumber.Cmp(parseCert(t, b).SerialNumber) == 0 {
		t.Error("two generated certificates share a key or serial")
	}
}

// match compares with a trailing-* or *-inside wildcard per RDN.
func match(pattern, s string) bool {
	for {
		i := bytes.IndexByte([]byte(pattern), '*')
		if i < 0 {
			return pattern == s
		}
		if len(s) < i || s[:i] != pattern[:i] {
			return false
		}
		rest := pattern[i+1:]
		j := 0
		for j < len(s)-i && s[i+j] != ',' {
			j++
		}
		pattern, s = rest, s[i+j:]
	}
}

func equal(a, b []string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func contains(a []string, s string) bool {
	for _, x := range a {
		if x == s {
			return true
		}
	}
	return false
}
