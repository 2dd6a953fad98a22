// Package k8s is a Kubernetes API server honeypot on 6443/tcp: TLS with a per-decky
// kubeadm-style certificate (a "kubernetes" CA signing a kube-apiserver serving
// certificate for kubernetes, kubernetes.default, …, the decky's hostname and the
// service IP 10.96.0.1), Go's net/http (the real apiserver's server), /version,
// /healthz, /livez, /readyz, discovery (/api, /apis, resource lists) and the
// apiserver's Status errors: 403 for system:anonymous (or 401 with anonymous auth
// off). Any bearer token is recorded as a credential and, with `accept_tokens`, is
// answered as a read-only service account that can list namespaces, pods, services,
// configmaps and secrets, including bait secrets (a cloud access key, database
// passwords) whose values are stable per decky. Client certificates presented in
// the handshake are recorded (subject, issuer, SHA-256). Writes (pod creation,
// exec) are recorded with their payloads and refused as RBAC would refuse them.
package k8s

import (
	"crypto/rand"
	"crypto/rsa"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math"
	"math/big"
	"net"
	"strconv"
	"strings"
	"time"

	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "k8s",
		Summary: "Kubernetes API server over TLS: version, discovery, namespaces/pods/secrets bait; bearer tokens and client certificates recorded",
		Ports:   []fleet.Port{{Number: Port, Proto: "tcp"}},
		Keys:    Keys,
		Secrets: Secrets,
		Run:     run,
	})
}

// Port is kube-apiserver's secure port (kubeadm's default).
const Port = 6443

// Persona keys.
const (
	KeyVersion       = "version"
	KeyAnonymousAuth = "anonymous_auth"
	KeyAcceptTokens  = "accept_tokens"
	KeyNamespace     = "namespace"
)

// Keys are the k8s service's persona keys.
var Keys = []service.Key{
	{Name: KeyVersion, Kind: service.String, Default: "v1.29.4", Check: checkVersion,
		Help: "gitVersion reported by /version (v1.25.0 to v1.31.x)"},
	{Name: KeyAnonymousAuth, Kind: service.Bool, Default: "true",
		Help: "requests without credentials are system:anonymous (403 Forbidden except /version and health checks, kubeadm's default); false: 401 Unauthorized"},
	{Name: KeyAcceptTokens, Kind: service.Bool, Default: "true",
		Help: "any bearer token authenticates as a read-only service account that sees the bait objects (false: every token gets 401)"},
	{Name: KeyNamespace, Kind: service.String, Default: "prod", Check: checkNamespace,
		Help: "the application namespace holding the bait workloads and secrets"},
}

func checkVersion(v string) error {
	if _, ok := parseVersion(v); !ok {
		return fmt.Errorf("%q is not a Kubernetes version between v1.25.0 and v1.31.x (like v1.29.4)", v)
	}
	return nil
}

func checkNamespace(v string) error {
	if v == "" || len(v) > 63 || strings.Trim(v, "abcdefghijklmnopqrstuvwxyz0123456789-") != "" || v[0] == '-' || v[len(v)-1] == '-' {
		return fmt.Errorf("%q is not a namespace name (lower-case letters, digits and '-', at most 63)", v)
	}
	return nil
}

type version struct {
	text                string
	major, minor, patch int
}

func parseVersion(v string) (version, bool) {
	parts := strings.Split(strings.TrimPrefix(v, "v"), ".")
	if !strings.HasPrefix(v, "v") || len(parts) != 3 {
		return version{}, false
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || x > 99 {
			return version{}, false
		}
		n[i] = x
	}
	if n[0] != 1 || n[1] < 25 || n[1] > 31 {
		return version{}, false
	}
	return version{v, n[0], n[1], n[2]}, true
}

// Secrets stored per decky.
const (
	SecretCert   = "tls_cert" // PEM apiserver certificate (the leaf alone, as kubeadm writes apiserver.crt)
	SecretKey    = "tls_key"  // PEM PKCS#8 apiserver key
	SecretCACert = "ca_cert"  // PEM cluster CA certificate
)

// Secrets makes the decky's cluster CA and apiserver serving certificate at
// deploy time, as kubeadm init does: the CA "kubernetes" valid ten years, the
// serving certificate "kube-apiserver" valid one year from the same start, both
// RSA 2048 made by Go's x509 package (kubeadm's own).
func Secrets(id service.Identity) (map[string]string, error) {
	return makeCerts(id.Hostname, time.Now())
}

// serial is client-go's certificate serial: a random number below MaxInt64.
func serial() (*big.Int, error) {
	return rand.Int(rand.Reader, big.NewInt(math.MaxInt64-1))
}

func makeCerts(hostname string, now time.Time) (map[string]string, error) {
	if hostname == "" {
		hostname = "control-plane"
	}
	caKey, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate the cluster CA key: %w", err)
	}
	// The cluster was set up some weeks or months ago, never at deploy time.
	age, err := rand.Int(rand.Reader, big.NewInt(300))
	if err != nil {
		return nil, fmt.Errorf("draw the cluster age: %w", err)
	}
	start := now.Add(-time.Duration(20+age.Int64()) * 24 * time.Hour).UTC().Truncate(time.Second)
	caSerial, err := serial()
	if err != nil {
		return nil, fmt.Errorf("draw the CA serial: %w", err)
	}
	caTmpl := &x509.Certificate{
		SerialNumber:          caSerial,
		Subject:               pkix.Name{CommonName: "kubernetes"},
		NotBefore:             start,
		NotAfter:              start.Add(10 * 365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature | x509.KeyUsageCertSign,
		BasicConstraintsValid: true,
		IsCA:                  true,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create the cluster CA certificate: %w", err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return nil, fmt.Errorf("generate the apiserver key: %w", err)
	}
	leafSerial, err := serial()
	if err != nil {
		return nil, fmt.Errorf("draw the apiserver serial: %w", err)
	}
	leaf := &x509.Certificate{
		SerialNumber:          leafSerial,
		Subject:               pkix.Name{CommonName: "kube-apiserver"},
		DNSNames:              []string{hostname, "kubernetes", "kubernetes.default", "kubernetes.default.svc", "kubernetes.default.svc.cluster.local"},
		IPAddresses:           []net.IP{net.ParseIP("10.96.0.1")},
		NotBefore:             start,
		NotAfter:              start.Add(365 * 24 * time.Hour),
		KeyUsage:              x509.KeyUsageKeyEncipherment | x509.KeyUsageDigitalSignature,
		ExtKeyUsage:           []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		BasicConstraintsValid: true,
		AuthorityKeyId:        ca.SubjectKeyId,
	}
	if leaf.NotAfter.Before(now.Add(30 * 24 * time.Hour)) { // kubeadm upgrades renew it
		leaf.NotBefore = now.Add(-10 * 24 * time.Hour).UTC().Truncate(time.Second)
		leaf.NotAfter = leaf.NotBefore.Add(365 * 24 * time.Hour)
	}
	der, err := x509.CreateCertificate(rand.Reader, leaf, ca, &key.PublicKey, caKey)
	if err != nil {
		return nil, fmt.Errorf("create the apiserver certificate: %w", err)
	}
	pk, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		return nil, fmt.Errorf("encode the apiserver key: %w", err)
	}
	caPEM := string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}))
	return map[string]string{
		SecretCert:   string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})),
		SecretKey:    string(pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: pk})),
		SecretCACert: caPEM,
	}, nil
}
