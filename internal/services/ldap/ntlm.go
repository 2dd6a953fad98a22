package ldap

import (
	"crypto/rand"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"strconv"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/services/ntlmssp"
)

// resSASLBindInProgress is the result of a SASL step that needs another round.
const resSASLBindInProgress = 14

// ntlmState is one connection's NTLM exchange (Sicily or SASL GSS-SPNEGO).
type ntlmState struct {
	challenge [8]byte
	started   bool
	clientOS  string
}

// ntlmTarget is the DC's identity in its NTLM CHALLENGE: the AD domain (NetBIOS and
// DNS), its FQDN and Windows build, as smb, rdp and mssql of the same decky say it.
func (p persona) ntlmTarget() ntlmssp.Target {
	return ntlmssp.Persona{
		Hostname:      p.host,
		Domain:        p.domain,
		NetBIOSDomain: p.netbiosDom,
		NetBIOSName:   p.host,
		Kernel:        "10.0." + strconv.Itoa(p.build),
	}.Target()
}

// sicily answers one step of AD's Sicily NTLM bind: package discovery lists NTLM in
// matchedDN, NEGOTIATE gets the CHALLENGE in matchedDN (result success, as AD does),
// AUTHENTICATE is captured and refused.
func (s *session) sicily(rq *request, f map[string]string, resp *ber.Packet) {
	f["auth_method"] = "sicily"
	delete(f, "username") // the bind name is "NTLM" or empty; the user is in AUTHENTICATE
	delete(f, "username_b64")
	switch rq.Sicily {
	case sicilyDiscovery:
		f["sicily"] = "package_discovery"
		s.c.Emit(event.Request, f, "")
		appendResult(resp, resSuccess, "NTLM", "")
	case sicilyNegotiate:
		f["sicily"] = "negotiate"
		ch, ok := s.ntlmNegotiate(rq.SASLCreds, f)
		s.c.Emit(event.Request, f, "")
		if !ok {
			appendResult(resp, resProtocolError, "", s.diag("80090308", "DSID-0C090569", "AcceptSecurityContext error", "57"))
			return
		}
		appendResult(resp, resSuccess, string(ch), "")
	case sicilyResponse:
		f["sicily"] = "response"
		s.ntlmCapture(rq.SASLCreds, f)
		time.Sleep(bindDelay)
		appendResult(resp, resInvalidCredentials, "", s.diag("80090308", "DSID-0C090569", "AcceptSecurityContext error", "52e"))
	}
}

// spnego answers a SASL GSS-SPNEGO step that carries NTLMSSP (bare or in SPNEGO), as
// Windows clients (ADSI) bind. It reports false when the token is not NTLM, so the
// caller refuses it as any other SASL bind.
func (s *session) spnego(rq *request, f map[string]string, resp *ber.Packet) bool {
	tok, err := ntlmssp.ParseGSS(rq.SASLCreds)
	if err != nil {
		return false
	}
	wrap := func(state int, t []byte) []byte {
		if tok.Raw {
			return t
		}
		return ntlmssp.NegTokenResp(state, ntlmssp.OIDNTLMSSP, t)
	}
	if len(tok.MechToken) < 12 || string(tok.MechToken[:8]) != string(ntlmssp.Signature) {
		for _, m := range tok.Mechs {
			if m.Equal(ntlmssp.OIDNTLMSSP) {
				// An optimistic Kerberos token: steer the client to NTLMSSP.
				f["outcome"] = "continue"
				s.c.Emit(event.Auth, f, "")
				appendResult(resp, resSASLBindInProgress, "", "")
				resp.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 7, string(ntlmssp.NegTokenResp(ntlmssp.NegAcceptIncomplete, ntlmssp.OIDNTLMSSP, nil)), ""))
				return true
			}
		}
		return false
	}
	switch binary.LittleEndian.Uint32(tok.MechToken[8:]) {
	case ntlmssp.TypeNegotiate:
		ch, ok := s.ntlmNegotiate(tok.MechToken, f)
		if !ok {
			return false
		}
		f["outcome"] = "continue"
		s.c.Emit(event.Auth, f, "")
		appendResult(resp, resSASLBindInProgress, "", "")
		resp.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 7, string(wrap(ntlmssp.NegAcceptIncomplete, ch)), ""))
		return true
	case ntlmssp.TypeAuthenticate:
		s.ntlmCapture(tok.MechToken, f)
		time.Sleep(bindDelay)
		appendResult(resp, resInvalidCredentials, "", s.diag("80090308", "DSID-0C090569", "AcceptSecurityContext error", "52e"))
		return true
	}
	return false
}

// ntlmNegotiate parses a NEGOTIATE and returns the CHALLENGE to send.
func (s *session) ntlmNegotiate(msg []byte, f map[string]string) ([]byte, bool) {
	neg, err := ntlmssp.ParseNegotiate(msg)
	if err != nil {
		f["error"] = err.Error()
		f["data_b64"] = base64.StdEncoding.EncodeToString(clip(msg, 512))
		return nil, false
	}
	if neg.Version != nil {
		s.ntlm.clientOS = neg.Version.String()
		f["client_os_version"] = s.ntlm.clientOS
	}
	if neg.Workstation != "" {
		service.SetPrintableLimit(f, "workstation", neg.Workstation, 256)
	}
	if _, err := rand.Read(s.ntlm.challenge[:]); err != nil {
		return nil, false
	}
	s.ntlm.started = true
	t := s.p.ntlmTarget()
	return ntlmssp.BuildChallenge(ntlmssp.ChallengeFlags(neg.Flags, t), s.ntlm.challenge, t), true
}

// ntlmCapture records an AUTHENTICATE: the NetNTLMv2 (or v1) response as a hashcat
// line, or an anonymous logon.
func (s *session) ntlmCapture(msg []byte, f map[string]string) {
	f["outcome"] = "failure"
	auth, err := ntlmssp.ParseAuthenticate(msg)
	if err != nil {
		f["error"] = err.Error()
		f["data_b64"] = base64.StdEncoding.EncodeToString(clip(msg, 1024))
		s.c.Emit(event.Auth, f, "")
		return
	}
	service.SetPrintableLimit(f, "username", auth.User, fieldLimit)
	service.SetPrintableLimit(f, "domain", auth.Domain, fieldLimit)
	service.SetPrintableLimit(f, "workstation", auth.Workstation, 256)
	if auth.Version != nil {
		f["client_os_version"] = auth.Version.String()
	} else if s.ntlm.clientOS != "" {
		f["client_os_version"] = s.ntlm.clientOS
	}
	if !s.ntlm.started {
		f["error"] = "AUTHENTICATE without a NEGOTIATE on this connection"
	}
	f["server_challenge"] = hex.EncodeToString(s.ntlm.challenge[:])
	s.ntlm.started = false
	if auth.Anonymous() {
		f["bind_kind"] = "anonymous"
		s.c.Emit(event.Auth, f, "")
		return
	}
	line, kind := ntlmssp.HashcatLine(auth.User, auth.Domain, s.ntlm.challenge[:], auth.LM, auth.NT)
	if kind != "" {
		f["hash"] = line
		f["secret_kind"] = kind
		f["secret_b64"] = base64.StdEncoding.EncodeToString(auth.NT)
	} else if len(auth.LM) > 0 {
		f["secret_kind"] = "lm_response"
		f["secret_b64"] = base64.StdEncoding.EncodeToString(auth.LM)
	}
	s.c.Emit(event.Auth, f, "")
}

func clip(b []byte, n int) []byte {
	if len(b) > n {
		return b[:n]
	}
	return b
}

// spnegoBind runs spnego with the SASL fields set; false leaves the bind to the
// generic SASL refusal.
func (s *session) spnegoBind(rq *request, f map[string]string, resp *ber.Packet) bool {
	f["auth_method"] = "sasl"
	f["sasl_mechanism"] = "GSS-SPNEGO"
	return s.spnego(rq, f, resp)
}
