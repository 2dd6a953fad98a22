package rdp

import (
	"bufio"
	"context"
	"crypto/rand"
	"crypto/tls"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"syscall"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/services/ntlmssp"
)

// maxCredSSPRounds bounds the TSRequests one connection may send: NTLM needs two.
const maxCredSSPRounds = 4

func run(ctx context.Context, rt *service.Runtime) error {
	p := newPersona(rt)
	cert, err := certificate(rt.Config.Secrets, p.fqdn)
	if err != nil {
		return err
	}
	// Windows 10 and Server 2019/2022 RDP: TLS 1.0 to 1.2 (Schannel's RDP listener
	// does not negotiate 1.3).
	tcfg := &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS10, MaxVersion: tls.VersionTLS12}
	return rt.ServeTCP(ctx, Port, func(ctx context.Context, c *service.Conn) {
		(&conn{c: c, p: p, tls: tcfg}).serve()
	})
}

type conn struct {
	c   *service.Conn
	p   persona
	tls *tls.Config

	cookieUser string
	clientOS   string
	challenge  [8]byte
}

func (cn *conn) serve() {
	r := bufio.NewReaderSize(cn.c, 4096)
	tpdu, err := readTPKT(r)
	if err != nil {
		cn.protocolError("x.224 connection request", err, nil)
		return
	}
	req, err := parseConnReq(tpdu)
	if err != nil {
		cn.protocolError("x.224 connection request", err, tpdu)
		return
	}
	cn.cookieUser = req.User

	var selected uint32
	var reply []byte
	outcome := ""
	switch {
	case !req.HasNeg:
		reply, outcome = connConfirm(nil), "rdp"
	case req.Requested&protoHybrid != 0 || req.Requested&protoHybridEx != 0:
		selected = protoHybrid
		if req.Requested&protoHybridEx != 0 && req.Requested&protoHybrid != 0 {
			selected = protoHybridEx
		}
		reply, outcome = connConfirm(negResponse(selected)), protoNames(selected)
	case req.Requested&protoSSL != 0 && !cn.p.nla:
		selected = protoSSL
		reply, outcome = connConfirm(negResponse(selected)), "ssl"
	case cn.p.nla:
		reply, outcome = connConfirm(negFailure(hybridRequiredByServer)), "hybrid_required"
	default:
		reply, outcome = connConfirm(negFailure(sslRequiredByServer)), "ssl_required"
	}
	f := map[string]string{"kind": "x224", "selected": outcome}
	if req.HasNeg {
		f["requested_protocols"] = protoNames(req.Requested)
		f["neg_flags"] = "0x" + strconv.FormatUint(uint64(req.NegFlags), 16)
	}
	if req.Cookie != "" {
		service.SetPrintableLimit(f, "cookie", req.Cookie, maxCookie)
	}
	if req.User != "" {
		service.SetPrintableLimit(f, "username", req.User, maxCookie)
	}
	cn.c.Emit(event.Request, f, "")
	if _, err := cn.c.Write(reply); err != nil {
		return
	}
	switch {
	case selected == protoHybrid || selected == protoHybridEx:
		tc := cn.handshake()
		if tc != nil {
			defer tc.Close()
			cn.credSSP(tc)
		}
	case selected == protoSSL:
		if tc := cn.handshake(); tc != nil {
			defer tc.Close()
			cn.mcs(tc)
		}
	case outcome == "rdp":
		cn.connectInitial(r) // standard RDP security: the MCS Connect Initial follows in clear
	}
}

// handshake runs the TLS server handshake; nil when it failed (recorded).
func (cn *conn) handshake() *tls.Conn {
	tc := tls.Server(cn.c, cn.tls)
	if err := tc.Handshake(); err != nil {
		cn.c.Emit(event.Error, map[string]string{"error": "tls handshake: " + service.Printable(err.Error(), 512)}, "")
		return nil
	}
	st := tc.ConnectionState()
	f := map[string]string{"kind": "tls", "tls_version": tls.VersionName(st.Version), "cipher": tls.CipherSuiteName(st.CipherSuite)}
	if st.ServerName != "" {
		service.SetPrintableLimit(f, "sni", st.ServerName, 256)
	}
	cn.c.Emit(event.Fingerprint, f, "")
	return tc
}

// connectInitial records the client's MCS Connect Initial (its name, build,
// keyboard and channels) and returns it; nil when there was none.
func (cn *conn) connectInitial(r *bufio.Reader) *connectInitial {
	tpdu, err := readTPKT(r)
	if err != nil {
		cn.protocolError("mcs connect initial", err, nil)
		return nil
	}
	ci, err := parseConnectInitial(tpdu)
	if err != nil {
		cn.protocolError("mcs connect initial", err, tpdu)
		return nil
	}
	f := map[string]string{"kind": "mcs_connect_initial"}
	if ci.HasCore {
		service.SetPrintableLimit(f, "client_name", ci.Core.Name, 64)
		f["client_build"] = strconv.FormatUint(uint64(ci.Core.Build), 10)
		f["keyboard_layout"] = fmt.Sprintf("0x%08x", ci.Core.Keyboard)
		f["desktop"] = fmt.Sprintf("%dx%d", ci.Core.Width, ci.Core.Height)
	}
	if len(ci.Channels) > 0 {
		service.SetPrintableLimit(f, "channels", strings.Join(ci.Channels, ","), 512)
	}
	cn.c.Emit(event.Request, f, "")
	return &ci
}

// mcs runs a TLS-only client through the MCS connection sequence to its Client
// Info PDU and records the credentials an auto-logon puts there. The connection
// then ends: this decky never shows a logon screen.
func (cn *conn) mcs(tc *tls.Conn) {
	r := bufio.NewReaderSize(tc, 4096)
	ci := cn.connectInitial(r)
	if ci == nil {
		return
	}
	if _, err := tc.Write(connectResponse(cn.p.target.Version.Build, protoSSL, len(ci.Channels))); err != nil {
		return
	}
	for i := 0; i < maxMCSPDUs; i++ {
		tpdu, err := readTPKT(r)
		if err != nil {
			cn.protocolError("mcs", err, nil)
			return
		}
		typ, body, err := parseDomainPDU(tpdu)
		if err != nil {
			cn.protocolError("mcs", err, tpdu)
			return
		}
		switch typ {
		case mcsErectDomain:
		case mcsAttachUserRequest:
			tc.Write(attachUserConfirm())
		case mcsChannelJoinRequest:
			if len(body) < 4 {
				cn.protocolError("mcs", errors.New("channel join request is too short"), tpdu)
				return
			}
			tc.Write(channelJoinConfirm(binary.BigEndian.Uint16(body[2:])))
		case mcsSendDataRequest:
			_, data, err := parseSendData(body)
			if err != nil {
				cn.protocolError("mcs", err, tpdu)
				return
			}
			info, ok, err := parseClientInfo(data)
			if err != nil {
				cn.protocolError("client info", err, data)
				return
			}
			if ok {
				cn.captureInfo(info)
				return
			}
		case mcsDisconnectUltimatum:
			return
		default:
			cn.protocolError("mcs", fmt.Errorf("unexpected domain pdu %d", typ), tpdu)
			return
		}
	}
}

// captureInfo records the credentials of a Client Info PDU.
func (cn *conn) captureInfo(info clientInfo) {
	f := map[string]string{"method": "client_info", "outcome": "failure", "info_flags": fmt.Sprintf("0x%08x", info.Flags)}
	service.SetPrintableLimit(f, "username", info.User, maxInfoString)
	service.SetPrintableLimit(f, "domain", info.Domain, maxInfoString)
	if info.Password != "" {
		service.SetPrintableLimit(f, "password", info.Password, maxInfoString)
		f["secret_kind"] = "plaintext"
		f["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(info.Password))
	}
	if info.Shell != "" {
		service.SetPrintableLimit(f, "alternate_shell", info.Shell, maxInfoString)
	}
	if info.WorkDir != "" {
		service.SetPrintableLimit(f, "working_dir", info.WorkDir, maxInfoString)
	}
	if cn.cookieUser != "" {
		service.SetPrintableLimit(f, "cookie_user", cn.cookieUser, maxCookie)
	}
	cn.c.Emit(event.Auth, f, "")
}

// credSSP runs the CredSSP exchange: NTLM NEGOTIATE → CHALLENGE, AUTHENTICATE →
// capture and STATUS_LOGON_FAILURE.
func (cn *conn) credSSP(tc *tls.Conn) {
	r := bufio.NewReaderSize(tc, 4096)
	for round := 0; round < maxCredSSPRounds; round++ {
		msg, err := readDER(r, maxTSRequest)
		if err != nil {
			if round == 0 || !isEOF(err) {
				cn.protocolError("credssp", err, nil)
			}
			return
		}
		req, err := parseTSRequest(msg)
		if err != nil {
			cn.protocolError("credssp", err, msg)
			tc.Write(failureReply(statusLogonFailure))
			return
		}
		if len(req.NegoTokens) == 0 {
			tc.Write(failureReply(statusLogonFailure))
			return
		}
		reply, done := cn.token(req.NegoTokens[0].Token, req.Version)
		if reply != nil {
			if _, err := tc.Write(reply); err != nil {
				return
			}
		}
		if done {
			return
		}
	}
}

// token runs one step of SPNEGO/NTLMSSP on a client negoToken and returns the
// server's TSRequest and whether the exchange is over.
func (cn *conn) token(blob []byte, version int) ([]byte, bool) {
	tok, err := ntlmssp.ParseGSS(blob)
	if err != nil {
		cn.protocolError("spnego", err, blob)
		return failureReply(statusLogonFailure), true
	}
	wrap := func(state int, t []byte) []byte {
		if tok.Raw {
			return t
		}
		return ntlmssp.NegTokenResp(state, ntlmssp.OIDNTLMSSP, t)
	}
	if len(tok.MechToken) < 12 || string(tok.MechToken[:8]) != string(ntlmssp.Signature) {
		if len(tok.Mechs) > 0 { // Kerberos first: steer the client to NTLM
			mechs := make([]string, len(tok.Mechs))
			for i, m := range tok.Mechs {
				mechs[i] = m.String()
			}
			cn.c.Emit(event.Request, map[string]string{"kind": "spnego", "mechs": strings.Join(mechs, ",")}, "")
			return tokenReply(ntlmssp.NegTokenResp(ntlmssp.NegAcceptIncomplete, ntlmssp.OIDNTLMSSP, nil)), false
		}
		return failureReply(statusLogonFailure), true
	}
	switch binary.LittleEndian.Uint32(tok.MechToken[8:]) {
	case ntlmssp.TypeNegotiate:
		neg, err := ntlmssp.ParseNegotiate(tok.MechToken)
		if err != nil {
			cn.protocolError("ntlm negotiate", err, tok.MechToken)
			return failureReply(statusLogonFailure), true
		}
		if neg.Version != nil {
			cn.clientOS = neg.Version.String()
		}
		if _, err := rand.Read(cn.challenge[:]); err != nil {
			panic("rdp: no randomness: " + err.Error())
		}
		f := map[string]string{"kind": "credssp", "credssp_version": strconv.Itoa(version)}
		cn.c.Emit(event.Request, f, "")
		ch := ntlmssp.BuildChallenge(ntlmssp.ChallengeFlags(neg.Flags, cn.p.target), cn.challenge, cn.p.target)
		return tokenReply(wrap(ntlmssp.NegAcceptIncomplete, ch)), false
	case ntlmssp.TypeAuthenticate:
		auth, err := ntlmssp.ParseAuthenticate(tok.MechToken)
		if err != nil {
			cn.protocolError("ntlm authenticate", err, tok.MechToken)
			return failureReply(statusLogonFailure), true
		}
		if auth.Version != nil {
			cn.clientOS = auth.Version.String()
		}
		cn.capture(auth)
		return failureReply(statusLogonFailure), true
	}
	return failureReply(statusLogonFailure), true
}

// capture records a logon attempt; every attempt fails.
func (cn *conn) capture(auth ntlmssp.Authenticate) {
	f := map[string]string{"method": "credssp_ntlm", "outcome": "failure"}
	service.SetPrintableLimit(f, "username", auth.User, 1024)
	service.SetPrintableLimit(f, "domain", auth.Domain, 1024)
	service.SetPrintableLimit(f, "workstation", auth.Workstation, 1024)
	if cn.cookieUser != "" {
		service.SetPrintableLimit(f, "cookie_user", cn.cookieUser, maxCookie)
	}
	if cn.clientOS != "" {
		f["client_os_version"] = cn.clientOS
	}
	f["server_challenge"] = hex.EncodeToString(cn.challenge[:])
	if auth.Anonymous() {
		f["method"] = "anonymous"
	} else if line, kind := ntlmssp.HashcatLine(auth.User, auth.Domain, cn.challenge[:], auth.LM, auth.NT); kind != "" {
		f["hash"] = line
		f["secret_kind"] = kind
		f["secret_b64"] = base64.StdEncoding.EncodeToString(auth.NT)
	}
	cn.c.Emit(event.Auth, f, "")
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
