package ldap

import (
	"bufio"
	"context"
	"encoding/base64"
	"errors"
	"io"
	"strconv"
	"strings"
	"time"

	ber "github.com/go-asn1-ber/asn1-ber"

	"decnet/internal/event"
	"decnet/internal/service"
)

// LDAP result codes used here.
const (
	resSuccess            = 0
	resOperationsError    = 1
	resProtocolError      = 2
	resAuthMethodNotSupp  = 7
	resInvalidCredentials = 49
	resUnavailable        = 52
)

// OIDs of extended operations.
const (
	oidStartTLS = "1.3.6.1.4.1.1466.20037"
	oidWhoAmI   = "1.3.6.1.4.1.4203.1.11.3"
	oidNotice   = "1.3.6.1.4.1.1466.20036" // notice of disconnection
)

// fieldLimit bounds attacker strings copied into event fields.
const fieldLimit = 1024

func run(ctx context.Context, rt *service.Runtime) error {
	p := newPersona(rt)
	return rt.ServeTCP(ctx, Port, func(ctx context.Context, c *service.Conn) {
		serve(c, p)
	})
}

// session is one client connection.
type session struct {
	c     *service.Conn
	p     persona
	bound string // DN of a successful (anonymous/unauthenticated) bind
	ntlm  ntlmState
}

func serve(c *service.Conn, p persona) {
	s := &session{c: c, p: p}
	br := bufio.NewReaderSize(c, 4096)
	for {
		raw, err := readMessage(br, MaxMessage)
		if err != nil {
			if !errors.Is(err, io.EOF) && !isTimeout(err) {
				s.protocolFailure(err, nil)
			}
			return
		}
		rq, err := parseRequest(raw)
		if err != nil {
			s.protocolFailure(err, raw)
			return
		}
		if !s.handle(rq) {
			return
		}
	}
}

func isTimeout(err error) bool {
	var ne interface{ Timeout() bool }
	return errors.As(err, &ne) && ne.Timeout()
}

// protocolFailure records an undecodable message and, as AD does, sends a notice of
// disconnection before closing.
func (s *session) protocolFailure(err error, raw []byte) {
	f := map[string]string{"error": err.Error()}
	if len(raw) > 0 {
		if len(raw) > 512 {
			raw = raw[:512]
		}
		f["data_b64"] = base64.StdEncoding.EncodeToString(raw)
	}
	s.c.Emit(event.Error, f, "")
	resp := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opExtendedResp, nil, "")
	appendResult(resp, resProtocolError, "", s.diag("00000057", "DSID-0C090DF7", "Error decoding ldap message", "0"))
	resp.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 10, oidNotice, ""))
	s.send(0, resp)
}

// handle answers one request; false ends the connection.
func (s *session) handle(rq *request) bool {
	switch rq.Op {
	case opBindRequest:
		s.bind(rq)
	case opUnbindRequest:
		s.c.Emit(event.Request, map[string]string{"operation": "unbind", "message_id": strconv.FormatInt(rq.ID, 10)}, "")
		return false
	case opSearchRequest:
		s.search(rq)
	case opModifyRequest, opAddRequest, opDelRequest, opModDNRequest, opCompareRequest:
		f := s.fields(rq)
		service.SetPrintableLimit(f, "dn", rq.Name, fieldLimit)
		s.c.Emit(event.Request, f, "")
		resp := ber.Encode(ber.ClassApplication, ber.TypeConstructed, ber.Tag(rq.Op+1), nil, "")
		appendResult(resp, resOperationsError, "", s.needBind())
		s.send(rq.ID, resp)
	case opAbandonRequest:
		f := s.fields(rq)
		f["abandon_id"] = strconv.FormatInt(rq.AbandonID, 10)
		s.c.Emit(event.Request, f, "")
	case opExtendedRequest:
		s.extended(rq)
	default:
		f := s.fields(rq)
		f["operation"] = "unknown"
		f["op_tag"] = strconv.Itoa(rq.Op)
		s.c.Emit(event.Request, f, "")
		s.protocolFailure(errors.New("unknown protocol operation "+strconv.Itoa(rq.Op)), nil)
		return false
	}
	return true
}

func (s *session) fields(rq *request) map[string]string {
	f := map[string]string{"operation": opNames[rq.Op], "message_id": strconv.FormatInt(rq.ID, 10)}
	if len(rq.Controls) > 0 {
		f["controls"] = service.Printable(strings.Join(rq.Controls, ","), fieldLimit)
	}
	return f
}

// diag builds AD's diagnostic message: "80090308: LdapErr: DSID-…, comment: …, data 52e, v4563"
// followed by the NUL AD puts at the end of every diagnostic string.
func (s *session) diag(code, dsid, comment, data string) string {
	return code + ": LdapErr: " + dsid + ", comment: " + comment + ", data " + data + ", " + s.p.vtag + "\x00"
}

func (s *session) needBind() string {
	return s.diag("000004DC", "DSID-0C090A5C", "In order to perform this operation a successful bind must be completed on the connection.", "0")
}

func (s *session) bind(rq *request) {
	f := s.fields(rq)
	f["version"] = strconv.FormatInt(rq.Version, 10)
	service.SetPrintableLimit(f, "username", rq.Name, fieldLimit)
	resp := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opBindResponse, nil, "")
	switch {
	case rq.Version != 2 && rq.Version != 3:
		f["outcome"] = "failure"
		f["auth_method"] = "simple"
		s.c.Emit(event.Auth, f, "")
		appendResult(resp, resProtocolError, "", s.diag("00002024", "DSID-0C0907BE", "Unsupported LDAP version", "0"))
	case rq.Sicily != 0:
		s.sicily(rq, f, resp)
	case !rq.Simple && strings.EqualFold(rq.Mechanism, "GSS-SPNEGO") && len(rq.SASLCreds) > 0 && s.spnegoBind(rq, f, resp):
	case !rq.Simple:
		f["auth_method"] = "sasl"
		service.SetPrintableLimit(f, "sasl_mechanism", rq.Mechanism, 64)
		if len(rq.SASLCreds) > 0 {
			creds := rq.SASLCreds
			if len(creds) > 4096 {
				creds = creds[:4096]
			}
			f["sasl_credentials_b64"] = base64.StdEncoding.EncodeToString(creds)
			if strings.HasPrefix(string(rq.SASLCreds), "NTLMSSP\x00") || strings.Contains(string(rq.SASLCreds), "NTLMSSP\x00") {
				f["ntlmssp"] = "true"
			}
		}
		switch strings.ToUpper(rq.Mechanism) {
		case "GSSAPI", "GSS-SPNEGO", "EXTERNAL", "DIGEST-MD5":
			f["outcome"] = "failure"
			appendResult(resp, resInvalidCredentials, "", s.diag("80090308", "DSID-0C090569", "AcceptSecurityContext error", "57"))
		default:
			f["outcome"] = "unsupported"
			appendResult(resp, resAuthMethodNotSupp, "", s.diag("00002027", "DSID-0C09079D", "Unknown authentication mechanism", "0"))
		}
		s.c.Emit(event.Auth, f, "")
	case rq.Password == "":
		// Anonymous (no DN) or unauthenticated (DN, no password) bind: AD accepts both
		// by default and the connection stays unauthenticated.
		f["auth_method"] = "simple"
		if rq.Name == "" {
			f["bind_kind"] = "anonymous"
		} else {
			f["bind_kind"] = "unauthenticated"
		}
		if s.p.anonymous {
			f["outcome"] = "success"
			s.bound = rq.Name
			appendResult(resp, resSuccess, "", "")
		} else {
			f["outcome"] = "failure"
			appendResult(resp, resInvalidCredentials, "", s.diag("80090308", "DSID-0C090569", "AcceptSecurityContext error", "52e"))
		}
		s.c.Emit(event.Auth, f, "")
	default:
		f["auth_method"] = "simple"
		service.SetPrintableLimit(f, "password", rq.Password, fieldLimit)
		pw := rq.Password
		if len(pw) > fieldLimit {
			pw = pw[:fieldLimit]
		}
		f["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(pw))
		f["secret_kind"] = "plaintext"
		f["outcome"] = "failure"
		s.c.Emit(event.Auth, f, "")
		s.bound = ""
		// AD waits a moment before refusing a password; an instant answer is a tell.
		time.Sleep(bindDelay)
		appendResult(resp, resInvalidCredentials, "", s.diag("80090308", "DSID-0C090569", "AcceptSecurityContext error", "52e"))
	}
	s.send(rq.ID, resp)
}

// bindDelay is how long a refused password bind waits before its answer.
var bindDelay = 150 * time.Millisecond

func (s *session) search(rq *request) {
	f := s.fields(rq)
	service.SetPrintableLimit(f, "base", rq.Base, fieldLimit)
	f["scope"] = scopeName(rq.Scope)
	service.SetPrintableLimit(f, "filter", rq.Filter, 0) // already bounded and escaped
	if len(rq.Attributes) > 0 {
		service.SetPrintableLimit(f, "attributes", strings.Join(rq.Attributes, ","), fieldLimit)
	}
	rootDSE := rq.Base == "" && rq.Scope == 0
	if rootDSE {
		f["rootdse"] = "true"
	}
	s.c.Emit(event.Request, f, "")
	done := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opSearchResDone, nil, "")
	if !rootDSE {
		appendResult(done, resOperationsError, "", s.needBind())
		s.send(rq.ID, done)
		return
	}
	entry := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opSearchResEntry, nil, "")
	entry.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, "", ""))
	attrs := ber.NewSequence("")
	for _, a := range selectAttrs(s.p.rootDSE(time.Now()), rq.Attributes) {
		pa := ber.NewSequence("")
		pa.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, a.name, ""))
		vals := ber.Encode(ber.ClassUniversal, ber.TypeConstructed, ber.TagSet, nil, "")
		if !rq.TypesOnly {
			for _, v := range a.values {
				vals.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, v, ""))
			}
		}
		pa.AppendChild(vals)
		attrs.AppendChild(pa)
	}
	entry.AppendChild(attrs)
	s.send(rq.ID, entry)
	appendResult(done, resSuccess, "", "")
	s.send(rq.ID, done)
}

func scopeName(n int64) string {
	switch n {
	case 0:
		return "base"
	case 1:
		return "one"
	case 2:
		return "sub"
	}
	return strconv.FormatInt(n, 10)
}

func (s *session) extended(rq *request) {
	f := s.fields(rq)
	service.SetPrintableLimit(f, "oid", rq.OID, 256)
	if len(rq.Value) > 0 {
		v := rq.Value
		if len(v) > 4096 {
			v = v[:4096]
		}
		f["value_b64"] = base64.StdEncoding.EncodeToString(v)
	}
	s.c.Emit(event.Request, f, "")
	resp := ber.Encode(ber.ClassApplication, ber.TypeConstructed, opExtendedResp, nil, "")
	switch rq.OID {
	case oidStartTLS:
		// A DC without a certificate for LDAPS/StartTLS answers this way.
		appendResult(resp, resUnavailable, "", s.diag("00000000", "DSID-0C09121A", "Error initializing SSL/TLS", "0"))
		resp.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 10, rq.OID, ""))
	case oidWhoAmI:
		appendResult(resp, resSuccess, "", "")
		resp.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 10, rq.OID, ""))
		resp.AppendChild(ber.NewString(ber.ClassContext, ber.TypePrimitive, 11, "", ""))
	default:
		appendResult(resp, resProtocolError, "", s.diag("0000203D", "DSID-0C0C0B5A", "Unknown extended request OID", "0"))
	}
	s.send(rq.ID, resp)
}

// appendResult adds an LDAPResult's fields to a response.
func appendResult(resp *ber.Packet, code int, matched, diag string) {
	resp.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagEnumerated, int64(code), ""))
	resp.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, matched, ""))
	resp.AppendChild(ber.NewString(ber.ClassUniversal, ber.TypePrimitive, ber.TagOctetString, diag, ""))
}

// send wraps op in an LDAPMessage with id and writes it in AD's encoding.
func (s *session) send(id int64, op *ber.Packet) {
	msg := ber.NewSequence("")
	msg.AppendChild(ber.NewInteger(ber.ClassUniversal, ber.TypePrimitive, ber.TagInteger, id, ""))
	msg.AppendChild(op)
	_, _ = s.c.Write(encodeAD(msg))
}
