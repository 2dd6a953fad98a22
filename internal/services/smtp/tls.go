package smtp

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"time"

	"decnet/internal/service"
)

// Secret names: the decky's STARTTLS certificate and key, PEM, like Debian's
// ssl-cert-snakeoil pair that Postfix uses out of the box.
const (
	SecretCert = "smtpd_tls_cert"
	SecretKey  = "smtpd_tls_key"
)

// Secrets makes the decky's self-signed certificate at deploy time, as
// make-ssl-cert does when the ssl-cert package is installed: RSA 2048, CN = the
// hostname, valid ten years from "install time" (a stable per-decky date in the
// past), a random serial.
func Secrets(id service.Identity) (map[string]string, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate smtp TLS key for %s: %w", id.Decky, err)
	}
	serial, err := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 63))
	if err != nil {
		return nil, fmt.Errorf("generate smtp TLS serial for %s: %w", id.Decky, err)
	}
	ago, err := rand.Int(rand.Reader, big.NewInt(400*24))
	if err != nil {
		return nil, fmt.Errorf("generate smtp TLS date for %s: %w", id.Decky, err)
	}
	cn := id.Hostname
	if cn == "" {
		cn = id.Decky
	}
	notBefore := time.Now().UTC().Add(-time.Duration(ago.Int64()+24) * time.Hour).Truncate(time.Second)
	tmpl := &x509.Certificate{
		SerialNumber:          serial,
		Subject:               pkix.Name{CommonName: cn},
		DNSNames:              []string{cn},
		NotBefore:             notBefore,
		NotAfter:              notBefore.AddDate(10, 0, 0),
		BasicConstraintsValid: true,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("create smtp TLS certificate for %s: %w", id.Decky, err)
	}
	keyDER, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode smtp TLS key for %s: %w", id.Decky, err)
	}
	return map[string]string{
		SecretCert: string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		SecretKey:  string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER})),
	}, nil
}

// tlsConfig loads the deploy-time pair. A missing pair is an error: making one here
// would change the decky's certificate on every restart.
func tlsConfig(certPEM, keyPEM string) (*tls.Config, error) {
	if certPEM == "" || keyPEM == "" {
		return nil, fmt.Errorf("smtp STARTTLS certificate is missing from the service secrets (redeploy the decky, or set starttls=false)")
	}
	pair, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return nil, fmt.Errorf("smtp STARTTLS certificate cannot be loaded: %w", err)
	}
	return &tls.Config{Certificates: []tls.Certificate{pair}, MinVersion: tls.VersionTLS10}, nil
}
