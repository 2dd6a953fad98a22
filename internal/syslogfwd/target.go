package syslogfwd

import (
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"encoding/hex"
	"errors"
	"fmt"
	"net"
	"net/url"
	"os"
	"strconv"
	"strings"
)

// Target is a parsed log target.
type Target struct {
	Network     string // "udp", "tcp" or "tls"
	Addr        string // host:port
	CAFile      string // tls: PEM CA bundle that must sign the server certificate
	Fingerprint string // tls: SHA-256 of the server certificate (hex, colons allowed), pinned
	CertFile    string // tls: client certificate (PEM)
	KeyFile     string // tls: client key (PEM)
	ServerName  string // tls: name to verify (default: the host of Addr)
}

// ParseTarget parses udp://host:port, tcp://host:port,
// tls://host:port?ca=FILE&fingerprint=HEX&cert=FILE&key=FILE&servername=NAME, and a
// bare host:port, which is UDP (as DECNET's log_target was).
func ParseTarget(s string) (Target, error) {
	t := Target{Network: "udp", Addr: s}
	if scheme, rest, ok := strings.Cut(s, "://"); ok {
		t.Network = scheme
		hp, query, _ := strings.Cut(rest, "?")
		t.Addr = hp
		switch scheme {
		case "udp", "tcp":
			if query != "" {
				return t, fmt.Errorf("log target %q: %s:// takes no options", s, scheme)
			}
		case "tls":
			q, err := url.ParseQuery(query)
			if err != nil {
				return t, fmt.Errorf("log target %q: bad options: %v", s, err)
			}
			for k, v := range q {
				if len(v) != 1 {
					return t, fmt.Errorf("log target %q: option %s is given %d times", s, k, len(v))
				}
				switch k {
				case "ca":
					t.CAFile = v[0]
				case "fingerprint":
					t.Fingerprint = v[0]
				case "cert":
					t.CertFile = v[0]
				case "key":
					t.KeyFile = v[0]
				case "servername":
					t.ServerName = v[0]
				default:
					return t, fmt.Errorf("log target %q: unknown option %q (known: ca, fingerprint, cert, key, servername)", s, k)
				}
			}
			if (t.CertFile == "") != (t.KeyFile == "") {
				return t, fmt.Errorf("log target %q: a client certificate needs both cert= and key=", s)
			}
			if t.Fingerprint != "" {
				if _, err := parseFingerprint(t.Fingerprint); err != nil {
					return t, fmt.Errorf("log target %q: %v", s, err)
				}
			}
		default:
			return t, fmt.Errorf("log target %q: unknown scheme %q (use udp://, tcp:// or tls://, or host:port for UDP)", s, scheme)
		}
	}
	host, port, err := net.SplitHostPort(t.Addr)
	if err != nil || host == "" {
		return t, fmt.Errorf("log target %q: want host:port", s)
	}
	if n, err := strconv.Atoi(port); err != nil || n < 1 || n > 65535 {
		return t, fmt.Errorf("log target %q: port %q is not a number from 1 to 65535", s, port)
	}
	return t, nil
}

func (t Target) String() string { return t.Network + "://" + t.Addr }

// parseFingerprint decodes a SHA-256 fingerprint written as hex, with or without colons
// and an optional "sha256:" prefix.
func parseFingerprint(s string) ([]byte, error) {
	s = strings.TrimPrefix(strings.ToLower(s), "sha256:")
	b, err := hex.DecodeString(strings.ReplaceAll(s, ":", ""))
	if err != nil || len(b) != sha256.Size {
		return nil, fmt.Errorf("fingerprint %q is not a SHA-256 in hex", s)
	}
	return b, nil
}

// tlsConfig builds the client TLS configuration: the server certificate must chain to
// the CA file, or match the pinned fingerprint, or both; with neither, the system roots.
func (t Target) tlsConfig() (*tls.Config, error) {
	host, _, _ := net.SplitHostPort(t.Addr)
	cfg := &tls.Config{MinVersion: tls.VersionTLS12, ServerName: host}
	if t.ServerName != "" {
		cfg.ServerName = t.ServerName
	}
	if t.CAFile != "" {
		pem, err := os.ReadFile(t.CAFile)
		if err != nil {
			return nil, fmt.Errorf("cannot read the log target's CA file: %w", err)
		}
		pool := x509.NewCertPool()
		if !pool.AppendCertsFromPEM(pem) {
			return nil, fmt.Errorf("the CA file %s holds no PEM certificate", t.CAFile)
		}
		cfg.RootCAs = pool
	}
	if t.CertFile != "" {
		cert, err := tls.LoadX509KeyPair(t.CertFile, t.KeyFile)
		if err != nil {
			return nil, fmt.Errorf("cannot load the client certificate for the log target: %w", err)
		}
		cfg.Certificates = []tls.Certificate{cert}
	}
	if t.Fingerprint != "" {
		want, _ := parseFingerprint(t.Fingerprint)
		chainCheck := t.CAFile != ""
		roots, name := cfg.RootCAs, cfg.ServerName
		// The pin replaces name and chain checks unless a CA is also given.
		cfg.InsecureSkipVerify = true
		cfg.VerifyPeerCertificate = func(raw [][]byte, _ [][]*x509.Certificate) error {
			if len(raw) == 0 {
				return errors.New("the log target sent no certificate")
			}
			sum := sha256.Sum256(raw[0])
			if !strings.EqualFold(hex.EncodeToString(sum[:]), hex.EncodeToString(want)) {
				return fmt.Errorf("the log target's certificate has SHA-256 %x, not the pinned fingerprint", sum)
			}
			if !chainCheck {
				return nil
			}
			certs := make([]*x509.Certificate, 0, len(raw))
			for _, r := range raw {
				c, err := x509.ParseCertificate(r)
				if err != nil {
					return err
				}
				certs = append(certs, c)
			}
			inter := x509.NewCertPool()
			for _, c := range certs[1:] {
				inter.AddCert(c)
			}
			_, err := certs[0].Verify(x509.VerifyOptions{Roots: roots, Intermediates: inter, DNSName: name})
			return err
		}
	}
	return cfg, nil
}
