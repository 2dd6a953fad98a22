package rdp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/asn1"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"decnet/internal/service"
)

// Secrets stored per decky. The certificate itself is built at start from these,
// because its subject is the persona's computer name (which a persona key can
// change): RSA PKCS#1 v1.5 signatures are deterministic, so the same secrets always
// give the same certificate bytes and fingerprint.
const (
	SecretKey       = "rdp_tls_key"        // PEM PKCS#8 RSA 2048 private key
	SecretSerial    = "rdp_tls_serial"     // certificate serial, hex, 16 bytes
	SecretNotBefore = "rdp_tls_not_before" // RFC 3339 start of validity
)

// certLife is the validity of the certificate Windows's Remote Desktop service makes
// for itself (and renews before it ends): six months.
const certLife = 182 * 24 * time.Hour

// Secrets makes the decky's RDP key, serial and issue date at deploy time. The
// certificate was "issued" up to five months before the deploy, as a machine's
// self-signed RDP certificate is at any moment of its six-month life.
func Secrets(id service.Identity) (map[string]string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate the RDP TLS key for %s: %w", id.Decky, err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode the RDP TLS key for %s: %w", id.Decky, err)
	}
	serial := make([]byte, 16)
	if _, err := rand.Read(serial); err != nil {
		return nil, fmt.Errorf("draw an RDP certificate serial for %s: %w", id.Decky, err)
	}
	age, err := rand.Int(rand.Reader, big.NewInt(int64(150*24*time.Hour)))
	if err != nil {
		return nil, fmt.Errorf("draw an RDP certificate date for %s: %w", id.Decky, err)
	}
	nb := time.Now().Add(-time.Duration(age.Int64()) - 24*time.Hour).UTC().Truncate(time.Second)
	return map[string]string{
		SecretKey:       string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})),
		SecretSerial:    hex.EncodeToString(serial),
		SecretNotBefore: nb.Format(time.RFC3339),
	}, nil
}

var (
	oidCommonName  = asn1.ObjectIdentifier{2, 5, 4, 3}
	oidKeyUsage    = asn1.ObjectIdentifier{2, 5, 29, 15}
	oidExtKeyUsage = asn1.ObjectIdentifier{2, 5, 29, 37}
	oidServerAuth  = asn1.ObjectIdentifier{1, 3, 6, 1, 5, 5, 7, 3, 1}
)

// certificate builds the decky's RDP certificate as Windows makes it: self-signed,
// subject and issuer CN=<computer name> (the FQDN on a domain member), RSA 2048 with
// SHA-256, six months, extensions keyUsage keyEncipherment+dataEncipherment and
// extKeyUsage serverAuth, nothing else (no SAN, no key identifiers).
func certificate(secrets map[string]string, cn string) (tls.Certificate, error) {
	blk, _ := pem.Decode([]byte(secrets[SecretKey]))
	serial, serr := hex.DecodeString(secrets[SecretSerial])
	nb, terr := time.Parse(time.RFC3339, secrets[SecretNotBefore])
	if blk == nil || serr != nil || len(serial) == 0 || terr != nil {
		return tls.Certificate{}, fmt.Errorf("the RDP certificate secrets are missing or damaged (redeploy the decky to generate them)")
	}
	k, err := x509.ParsePKCS8PrivateKey(blk.Bytes)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("parse the RDP TLS key: %w", err)
	}
	key, ok := k.(*rsa.PrivateKey)
	if !ok {
		return tls.Certificate{}, fmt.Errorf("the RDP TLS key is a %T, not RSA", k)
	}
	name, err := asn1.Marshal(pkix.RDNSequence{{{Type: oidCommonName, Value: asn1.RawValue{Tag: asn1.TagUTF8String, Bytes: []byte(cn)}}}})
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("encode the RDP certificate name: %w", err)
	}
	ku, _ := asn1.Marshal(asn1.BitString{Bytes: []byte{0x30}, BitLength: 4}) // keyEncipherment, dataEncipherment
	eku, _ := asn1.Marshal([]asn1.ObjectIdentifier{oidServerAuth})
	tmpl := &x509.Certificate{
		SerialNumber:       new(big.Int).SetBytes(serial),
		RawSubject:         name,
		RawIssuer:          name,
		NotBefore:          nb,
		NotAfter:           nb.Add(certLife),
		SignatureAlgorithm: x509.SHA256WithRSA,
		ExtraExtensions: []pkix.Extension{
			{Id: oidKeyUsage, Value: ku},
			{Id: oidExtKeyUsage, Value: eku},
		},
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create the RDP certificate for %s: %w", cn, err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}
