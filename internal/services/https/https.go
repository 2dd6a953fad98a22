package https

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/base64"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"time"

	"decnet/internal/event"
	"decnet/internal/fingerprint"
	"decnet/internal/service"
	"decnet/internal/services/http"
)

// Bounds.
const (
	// maxHello bounds the ClientHello read before the handshake (Chrome's
	// post-quantum hellos are about 1.8 KiB; a hello may span records up to 64 KiB,
	// but nothing real comes near this).
	maxHello = 32 << 10
	// handshakeTimeout ends a handshake that stalls (nginx ssl_handshake_timeout 60s).
	handshakeTimeout = 60 * time.Second
	// maxFingerprintField bounds SNI and ALPN values copied into events.
	maxFingerprintField = 1 << 10
	// Lingering close after the last response (as the http service does).
	lingerTime  = 2 * time.Second
	lingerBytes = 256 << 10
)

func isIIS(rt *service.Runtime) bool {
	family := rt.Config.OSFamily
	if family == "" {
		family = rt.Distro.OSFamily
	}
	switch server, header := rt.Persona(http.KeyServer), rt.Persona(http.KeyServerHeader); {
	case server != "":
		return server == "iis"
	case header != "":
		return strings.HasPrefix(header, "Microsoft-IIS")
	}
	return strings.HasPrefix(family, "windows")
}

// tlsConfig builds the server's TLS configuration from the decky's secrets and persona.
func tlsConfig(rt *service.Runtime) (*tls.Config, error) {
	certPEM, keyPEM := rt.Secret(SecretCert), rt.Secret(SecretKey)
	if certPEM == "" || keyPEM == "" {
		return nil, errors.New("the decky has no TLS certificate in its secrets (deploy generates it)")
	}
	cert, err := tls.X509KeyPair([]byte(certPEM), []byte(keyPEM))
	if err != nil {
		return nil, fmt.Errorf("load the decky's TLS certificate: %w", err)
	}
	lo, hi, err := tlsVersions(rt.Persona(KeyMinVersion), rt.Persona(KeyMaxVersion), isIIS(rt), rt.Distro.Slug)
	if err != nil {
		return nil, err
	}
	return &tls.Config{
		Certificates: []tls.Certificate{cert},
		MinVersion:   lo,
		MaxVersion:   hi,
		// The persona serves HTTP/1.1 only; offering h2 would promise a protocol
		// the server does not speak.
		NextProtos: []string{"http/1.1"},
	}, nil
}

func run(ctx context.Context, rt *service.Runtime) error {
	cfg, err := tlsConfig(rt)
	if err != nil {
		return err
	}
	serve := http.NewConnHandler(rt)
	return rt.ServeTCP(ctx, 443, func(ctx context.Context, c *service.Conn) {
		serveConn(ctx, c, cfg, serve)
	})
}

// prefixConn replays the bytes already read (the ClientHello) before reading on.
type prefixConn struct {
	net.Conn
	r io.Reader
}

func (p *prefixConn) Read(b []byte) (int, error) { return p.r.Read(b) }

func serveConn(ctx context.Context, c *service.Conn, cfg *tls.Config, serve func(context.Context, *service.Conn, io.ReadWriter, map[string]string)) {
	raw, ch, err := fingerprint.ReadClientHello(c, maxHello)
	if err != nil {
		notTLS(c, raw, err)
		return
	}
	fp := helloFields(ch)
	c.Emit(event.Fingerprint, fp, "")
	extra := map[string]string{"ja3": fp["ja3"], "ja4": fp["ja4"]}
	if fp["sni"] != "" {
		extra["sni"] = fp["sni"]
	}

	tc := tls.Server(&prefixConn{Conn: c, r: io.MultiReader(bytes.NewReader(raw), c)}, cfg)
	hctx, cancel := context.WithTimeout(ctx, handshakeTimeout)
	err = tc.HandshakeContext(hctx)
	cancel()
	if err != nil {
		f := map[string]string{"error": "TLS handshake failed", "reason": clip(err.Error(), maxFingerprintField)}
		for k, v := range extra {
			f[k] = v
		}
		c.Emit(event.Error, f, "")
		return
	}
	st := tc.ConnectionState()
	extra["tls_version"] = tls.VersionName(st.Version)
	extra["tls_cipher"] = tls.CipherSuiteName(st.CipherSuite)
	serve(ctx, c, tc, extra)
	// close_notify, then the lingering close of the TCP connection.
	tc.CloseWrite()
	if t, ok := c.Conn.(*net.TCPConn); ok && t.CloseWrite() == nil {
		t.SetReadDeadline(time.Now().Add(lingerTime))
		io.CopyN(io.Discard, t, lingerBytes)
	}
}

// helloFields are the fingerprint event's fields for a ClientHello.
func helloFields(ch *fingerprint.ClientHello) map[string]string {
	ja3, ja3hash := fingerprint.JA3(ch)
	ja4 := fingerprint.JA4(ch, fingerprint.TCP)
	f := map[string]string{
		"ja3":         ja3hash,
		"ja3_string":  ja3,
		"ja4":         ja4.JA4,
		"ja4_r":       ja4.Raw,
		"ja4_o":       ja4.Orig,
		"tls_version": helloVersion(ch),
	}
	if ch.ServerName != "" {
		f["sni"] = clip(ch.ServerName, maxFingerprintField)
	}
	if len(ch.ALPN) > 0 {
		var names []string
		for _, p := range ch.ALPN {
			names = append(names, service.Printable(string(p), 0))
		}
		f["alpn"] = clip(strings.Join(names, ","), maxFingerprintField)
	}
	return f
}

// helloVersion is the highest TLS version the client offers, by name.
func helloVersion(ch *fingerprint.ClientHello) string {
	v := ch.Version
	for _, s := range ch.SupportedVersions {
		if !fingerprint.IsGREASE(s) && s > v && s <= tls.VersionTLS13 {
			v = s
		}
	}
	return tls.VersionName(v)
}

// notTLS records a connection whose first bytes are not a TLS ClientHello: a
// plain-HTTP request to the TLS port, an SSLv2 hello, a port scanner's probe.
func notTLS(c *service.Conn, raw []byte, err error) {
	if len(raw) == 0 {
		return // connected and sent nothing (a port scan, or a banner grab timing out)
	}
	ex := service.Cut(string(raw), 256)
	f := map[string]string{
		"error":       "not a TLS ClientHello",
		"reason":      clip(err.Error(), maxFingerprintField),
		"raw_excerpt": service.Printable(ex, 0),
	}
	if f["raw_excerpt"] != ex {
		f["raw_b64"] = base64.StdEncoding.EncodeToString([]byte(ex))
	}
	c.Emit(event.Request, f, "")
}

func clip(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
