package fingerprint

import (
	"context"
	"crypto"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"testing"
	"time"

	"decnet/internal/testenv"
)

// The TLS servers the JARM reference values in testdata/jarm.json were taken from.
// Each runs on loopback only. The certificate is fresh every run: JARM depends on
// the key type (it steers the cipher choice), not on the certificate's content.

type jarmServer struct {
	name  string
	start func(t *testing.T) (addr string, version string)
}

var jarmServers = []jarmServer{
	{"go-default", func(t *testing.T) (string, string) {
		return goTLSServer(t, &tls.Config{Certificates: []tls.Certificate{testCert(t, "ecdsa")}})
	}},
	{"go-tls12-rsa-ciphers", func(t *testing.T) (string, string) {
		return goTLSServer(t, &tls.Config{Certificates: []tls.Certificate{testCert(t, "rsa")},
			MinVersion: tls.VersionTLS12, MaxVersion: tls.VersionTLS12,
			CipherSuites: []uint16{tls.TLS_ECDHE_RSA_WITH_AES_256_GCM_SHA384, tls.TLS_ECDHE_RSA_WITH_AES_128_CBC_SHA}})
	}},
	{"go-rsa-alpn-h2", func(t *testing.T) (string, string) {
		return goTLSServer(t, &tls.Config{Certificates: []tls.Certificate{testCert(t, "rsa")}, NextProtos: []string{"h2", "http/1.1"}})
	}},
	{"openssl-default", func(t *testing.T) (string, string) {
		return opensslServer(t, "rsa")
	}},
	{"openssl-tls12-ecdhe-rsa-aes128gcm", func(t *testing.T) (string, string) {
		return opensslServer(t, "rsa", "-tls1_2", "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")
	}},
	{"openssl-ecdsa-alpn-http11", func(t *testing.T) (string, string) {
		return opensslServer(t, "ecdsa", "-alpn", "http/1.1")
	}},
}

// testCert makes a self-signed certificate with an ECDSA P-256 or RSA 2048 key.
func testCert(t testing.TB, kind string) tls.Certificate {
	t.Helper()
	certPEM, keyPEM := testCertPEM(t, kind)
	c, err := tls.X509KeyPair(certPEM, keyPEM)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

func testCertPEM(t testing.TB, kind string) (certPEM, keyPEM []byte) {
	t.Helper()
	var key crypto.Signer
	var err error
	if kind == "rsa" {
		key, err = rsa.GenerateKey(rand.Reader, 2048)
	} else {
		key, err = ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	}
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "decnet-jarm-test"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature | x509.KeyUsageKeyEncipherment, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, key.Public(), key)
	if err != nil {
		t.Fatal(err)
	}
	kder, err := x509.MarshalPKCS8PrivateKey(key)
	if err != nil {
		t.Fatal(err)
	}
	return pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: kder})
}

// goTLSServer serves TLS handshakes with cfg on a loopback port until the test ends.
func goTLSServer(t *testing.T, cfg *tls.Config) (string, string) {
	t.Helper()
	l, err := tls.Listen("tcp", "127.0.0.1:0", cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
				defer cancel()
				_ = c.(*tls.Conn).HandshakeContext(ctx)
			}()
		}
	}()
	return l.Addr().String(), runtimeVersion()
}

func runtimeVersion() string { return runtime.Version() }

// opensslServer runs `openssl s_server` with a fresh certificate on a loopback port.
func opensslServer(t *testing.T, kind string, args ...string) (string, string) {
	t.Helper()
	testenv.RequireTool(t, "openssl")
	ver, err := exec.Command("openssl", "version").Output()
	if err != nil {
		t.Fatalf("openssl version: %v", err)
	}
	dir := t.TempDir()
	certPEM, keyPEM := testCertPEM(t, kind)
	if err := os.WriteFile(filepath.Join(dir, "cert.pem"), certPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(filepath.Join(dir, "key.pem"), keyPEM, 0o600); err != nil {
		t.Fatal(err)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	addr := net.JoinHostPort("127.0.0.1", strconv.Itoa(port))
	cmd := exec.Command("openssl", append([]string{"s_server", "-accept", addr, "-cert", filepath.Join(dir, "cert.pem"),
		"-key", filepath.Join(dir, "key.pem"), "-www", "-quiet"}, args...)...)
	cmd.Stdin = nil
	var stderr strings.Builder
	cmd.Stderr = &stderr
	if err := cmd.Start(); err != nil {
		t.Fatalf("start openssl s_server: %v", err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	deadline := time.Now().Add(10 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", addr, time.Second)
		if err == nil {
			c.Close()
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("openssl s_server did not listen on %s: %v (%s)", addr, err, stderr.String())
		}
		time.Sleep(50 * time.Millisecond)
	}
	return addr, strings.TrimSpace(string(ver))
}

// TestJARMServeReference runs one reference server for jarm.py, named by
// DECNET_JARM_SERVE, and prints its address; it is how testdata/jarm.json was made
// (see "how" there). Without the variable it has nothing to do.
func TestJARMServeReference(t *testing.T) {
	name := os.Getenv("DECNET_JARM_SERVE")
	if name == "" {
		t.Skip("set DECNET_JARM_SERVE=<server name> to run a JARM reference server (tool for regenerating testdata/jarm.json)")
	}
	for _, s := range jarmServers {
		if s.name == name {
			addr, ver := s.start(t)
			fmt.Printf("JARM-SERVER %s %s %s\n", s.name, addr, ver)
			time.Sleep(60 * time.Second)
			return
		}
	}
	t.Fatalf("no JARM reference server is named %q", name)
}
