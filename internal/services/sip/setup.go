// Package sip is a SIP registrar/PBX honeypot on 5060 (UDP and TCP) that answers like
// FreePBX's Asterisk (chan_pjsip): OPTIONS get 200 OK with the persona's Allow and
// Server headers, REGISTER, INVITE and the other dialog-creating requests get a 401
// Digest challenge with a fresh nonce, and every Authorization answer is captured
// (user, realm, URI, nonce, cnonce, response) with a hashcat mode 11400 line, then
// refused (or accepted for persona users). Every request is recorded.
//
// The SIP parser is written here (parse.go): github.com/emiago/sipgo's parser is a
// full user-agent stack (transactions, dialogs, its own transports and listeners)
// that does not fit the runtime's limited listeners and packet handler, and the
// part needed — a request line, bounded headers, a Content-Length body and the
// Digest parameters — is small.
package sip

import (
	"fmt"
	"strings"

	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "sip",
		Summary: "SIP PBX (FreePBX/Asterisk persona): digest challenges, credentials captured hashcat-ready",
		Ports:   []fleet.Port{{Number: Port, Proto: "udp"}, {Number: Port, Proto: "tcp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Port is SIP's port.
const Port = 5060

// Persona keys.
const (
	KeyServer = "server"
	KeyRealm  = "realm"
	KeyUsers  = "users"
)

// DefaultServer is the Server header of FreePBX 16 on Asterisk 18.
const DefaultServer = "FPBX-16.0.33(18.20.0)"

// Keys are the sip service's persona keys.
var Keys = []service.Key{
	{Name: KeyServer, Kind: service.String, Default: DefaultServer, Check: checkToken,
		Help: "Server header of responses, e.g. FPBX-16.0.33(18.20.0) (FreePBX) or Asterisk PBX 18.20.0"},
	{Name: KeyRealm, Kind: service.String, Default: "asterisk", Check: checkToken,
		Help: "Digest realm of the 401 challenges (Asterisk's default is asterisk; often the PBX's hostname)"},
	{Name: KeyUsers, Kind: service.List, Check: service.CheckUsers,
		Help: "extension:password pairs whose REGISTER succeeds (default: none, every login is refused)"},
}

func checkToken(v string) error {
	if v == "" || len(v) > 128 {
		return fmt.Errorf("%q must be 1 to 128 bytes", v)
	}
	if strings.ContainsAny(v, "\"\r\n\\") {
		return fmt.Errorf("%q must not hold quotes, backslashes or line breaks", v)
	}
	return nil
}
