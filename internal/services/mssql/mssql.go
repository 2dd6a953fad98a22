package mssql

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/rsa"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"math/big"
	"net"
	"strconv"
	"syscall"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/services/ntlmssp"
)

// Login error numbers SQL Server answers with.
const (
	errLoginFailed     = 18456 // Login failed for user '%.*ls'.
	errUntrustedDomain = 18452 // an integrated logon whose SSPI handshake failed
	loginErrorClass    = 14
)

func run(ctx context.Context, rt *service.Runtime) error {
	p := newPersona(rt)
	cert, err := fallbackCertificate(time.Now())
	if err != nil {
		return err
	}
	tcfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12, SessionTicketsDisabled: true}
	return rt.ServeTCP(ctx, Port, func(ctx context.Context, c *service.Conn) {
		(&conn{c: c, p: p, tls: tcfg}).serve()
	})
}

// fallbackCertificate makes the certificate SQL Server generates at every service
// start when none is configured: self-signed, CN=SSL_Self_Signed_Fallback, RSA 2048,
// SHA-256, valid from the start for 30 years, no extensions.
func fallbackCertificate(now time.Time) (tls.Certificate, error) {
	key, err := rsa.GenerateKey(rand.Reader, 2048)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("generate the SQL Server TLS key: %w", err)
	}
	sn := make([]byte, 16)
	if _, err := rand.Read(sn); err != nil {
		return tls.Certificate{}, fmt.Errorf("draw a certificate serial: %w", err)
	}
	name := pkix.Name{CommonName: "SSL_Self_Signed_Fallback"}
	tmpl := &x509.Certificate{
		SerialNumber:       new(big.Int).SetBytes(sn),
		Subject:            name,
		Issuer:             name,
		NotBefore:          now.UTC().Truncate(time.Second),
		NotAfter:           now.UTC().Truncate(time.Second).AddDate(30, 0, 0),
		SignatureAlgorithm: x509.SHA256WithRSA,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return tls.Certificate{}, fmt.Errorf("create the SQL Server certificate: %w", err)
	}
	return tls.Certificate{Certificate: [][]byte{der}, PrivateKey: key}, nil
}

type conn struct {
	c   *service.Conn
	p   persona
	tls *tls.Config
}

// negotiate picks the server's ENCRYPTION answer (MS-TDS 2.2.6.5): a server that
// does not force encryption mirrors the client (off stays off: login only; on and
// required become on; not supported stays clear); a forcing server answers
// required unless the client asked for on.
func negotiate(client byte, hasEnc, force bool) byte {
	if !hasEnc {
		client = encOff
	}
	switch {
	case client == encOn || client == encReq:
		return encOn
	case force:
		return encReq
	case client == encNotSup:
		return encNotSup
	}
	return encOff
}

func (cn *conn) serve() {
	br := bufio.NewReaderSize(cn.c, 8192)
	typ, msg, err := readMessage(br)
	if err != nil {
		cn.protocolError("tds", err, nil)
		return
	}
	// in and out are where the login is read from and answered on.
	var in io.Reader = br
	var out io.Writer = cn.c
	if typ == pktPrelogin {
		pl, err := parsePrelogin(msg)
		if err != nil {
			cn.protocolError("prelogin", err, msg)
			return
		}
		enc := negotiate(pl.Encryption, pl.HasEnc, cn.p.force)
		f := map[string]string{"kind": "prelogin", "server_encryption": encNames[enc]}
		if v := versionString(pl.Version); v != "" {
			f["client_version"] = v
		}
		if pl.HasEnc {
			f["encryption"] = encName(pl.Encryption)
		}
		if pl.Instance != "" {
			service.SetPrintableLimit(f, "instance", pl.Instance, 256)
		}
		if pl.ThreadID != 0 {
			f["thread_id"] = strconv.FormatUint(uint64(pl.ThreadID), 10)
		}
		cn.c.Emit(event.Request, f, "")
		if err := writeMessage(cn.c, pktReply, preloginResponse(cn.p.version, enc, pl.HasMARS)); err != nil {
			return
		}
		if enc != encNotSup && !(enc == encReq && pl.Encryption == encNotSup) {
			fr := &tlsFramer{Conn: cn.c, r: br, wrap: true}
			tc := tls.Server(fr, cn.tls)
			if err := tc.Handshake(); err != nil {
				cn.protocolError("tls handshake", err, nil)
				return
			}
			fr.wrap = false
			st := tc.ConnectionState()
			cn.c.Emit(event.Fingerprint, map[string]string{"kind": "tls", "tls_version": tls.VersionName(st.Version), "cipher": tls.CipherSuiteName(st.CipherSuite)}, "")
			in = tc
			if enc != encOff {
				out = tc // encryption on: everything goes through TLS
			}
		}
		if typ, msg, err = readMessage(in); err != nil {
			cn.protocolError("login", err, nil)
			return
		}
		if enc == encOff {
			in = br // only the login packet was encrypted
		}
	}
	switch typ {
	case pktLogin7:
		l, err := parseLogin7(msg)
		if err != nil {
			cn.protocolError("login7", err, msg)
			return
		}
		cn.login(l, "sql", in, out)
	case pktTDS42:
		l, err := parseTDS42Login(msg)
		if err != nil {
			cn.protocolError("tds 4.2 login", err, msg)
			return
		}
		cn.login(l, "tds42", in, out)
	default:
		cn.protocolError("tds", fmt.Errorf("message of type 0x%02x before login", typ), msg)
	}
}

func encName(e byte) string {
	if n, ok := encNames[e]; ok {
		return n
	}
	return "0x" + strconv.FormatUint(uint64(e), 16)
}

// login records a login and fails it as SQL Server does.
func (cn *conn) login(l login, method string, in io.Reader, out io.Writer) {
	f := map[string]string{"method": method, "outcome": "failure", "tds_version": tdsVersionName(l.TDSVersion)}
	for _, kv := range []struct{ k, v string }{{"client_host", l.Host}, {"app", l.App}, {"library", l.Library},
		{"database", l.Database}, {"server_name", l.Server}, {"language", l.Language}} {
		if kv.v != "" {
			service.SetPrintableLimit(f, kv.k, kv.v, 256)
		}
	}
	if l.ClientPID != 0 {
		f["client_pid"] = strconv.FormatUint(uint64(l.ClientPID), 10)
	}
	if method == "sql" && l.ClientMAC != "00:00:00:00:00:00" {
		f["client_mac"] = l.ClientMAC
	}
	if len(l.SSPI) > 0 {
		cn.integrated(l, f, in, out)
		return
	}
	service.SetPrintableLimit(f, "username", l.User, 256)
	service.SetPrintableLimit(f, "password", l.Password, 256)
	f["secret_kind"] = "plaintext"
	f["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(l.Password))
	cn.c.Emit(event.Auth, f, "")
	cn.fail(out, errLoginFailed, fmt.Sprintf("Login failed for user '%s'.", service.Cut(l.User, 128)), l.TDSVersion)
}

// integrated runs an SSPI (NTLM) logon: NEGOTIATE in LOGIN7, CHALLENGE in an SSPI
// token, AUTHENTICATE in an SSPI message; the response is captured and the logon
// fails.
func (cn *conn) integrated(l login, f map[string]string, in io.Reader, out io.Writer) {
	f["method"] = "sspi_ntlm"
	tok, err := ntlmssp.ParseGSS(l.SSPI)
	if err != nil || len(tok.MechToken) < 12 || string(tok.MechToken[:8]) != string(ntlmssp.Signature) {
		if err == nil {
			err = errors.New("sspi token carries no NTLMSSP message")
		}
		cn.protocolError("sspi", err, l.SSPI)
		cn.fail(out, errUntrustedDomain, "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication.", l.TDSVersion)
		return
	}
	neg, err := ntlmssp.ParseNegotiate(tok.MechToken)
	if err != nil {
		cn.protocolError("ntlm negotiate", err, tok.MechToken)
		cn.fail(out, errUntrustedDomain, "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication.", l.TDSVersion)
		return
	}
	var chal [8]byte
	if _, err := rand.Read(chal[:]); err != nil {
		panic("mssql: no randomness: " + err.Error())
	}
	ch := ntlmssp.BuildChallenge(ntlmssp.ChallengeFlags(neg.Flags, cn.p.target), chal, cn.p.target)
	if !tok.Raw {
		ch = ntlmssp.NegTokenResp(ntlmssp.NegAcceptIncomplete, ntlmssp.OIDNTLMSSP, ch)
	}
	if err := writeMessage(out, pktReply, sspiToken(ch)); err != nil {
		return
	}
	typ, msg, err := readMessage(in)
	if err != nil || typ != pktSSPI {
		if err == nil {
			err = fmt.Errorf("message of type 0x%02x instead of SSPI", typ)
		}
		cn.protocolError("sspi", err, msg)
		return
	}
	if t2, err := ntlmssp.ParseGSS(msg); err == nil && !t2.Raw {
		msg = t2.MechToken
	}
	auth, err := ntlmssp.ParseAuthenticate(msg)
	if err != nil {
		cn.protocolError("ntlm authenticate", err, msg)
		cn.fail(out, errUntrustedDomain, "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication.", l.TDSVersion)
		return
	}
	service.SetPrintableLimit(f, "username", auth.User, 256)
	service.SetPrintableLimit(f, "domain", auth.Domain, 256)
	service.SetPrintableLimit(f, "workstation", auth.Workstation, 256)
	f["server_challenge"] = hex.EncodeToString(chal[:])
	if line, kind := ntlmssp.HashcatLine(auth.User, auth.Domain, chal[:], auth.LM, auth.NT); kind != "" {
		f["hash"], f["secret_kind"] = line, kind
		f["secret_b64"] = base64.StdEncoding.EncodeToString(auth.NT)
	}
	cn.c.Emit(event.Auth, f, "")
	cn.fail(out, errUntrustedDomain, "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication.", l.TDSVersion)
}

// fail answers a login with an ERROR and a DONE token, as SQL Server does before it
// closes the connection.
func (cn *conn) fail(out io.Writer, number int32, msg string, tds uint32) {
	body := append(errorToken(number, 1, loginErrorClass, msg, cn.p.serverName, tds), doneError(tds)...)
	writeMessage(out, pktReply, body)
}

// protocolError records a malformed message (a prefix of its bytes when given).
func (cn *conn) protocolError(stage string, err error, data []byte) {
	if isEOF(err) {
		return
	}
	f := map[string]string{"error": stage + ": " + service.Printable(err.Error(), 512)}
	if len(data) > 0 {
		f["data_b64"] = base64.StdEncoding.EncodeToString(data[:min(len(data), 1024)])
	}
	cn.c.Emit(event.Error, f, "")
}

// isEOF reports the ordinary ends of a connection: the client left, reset or idled.
func isEOF(err error) bool {
	var ne net.Error
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.ECONNRESET) || (errors.As(err, &ne) && ne.Timeout())
}
