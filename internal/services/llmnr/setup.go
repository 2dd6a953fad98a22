// Package llmnr is a link-local name resolution honeypot and poisoning detector on
// 5355/udp (LLMNR, RFC 4795) and 5353/udp (mDNS, RFC 6762). Every query that reaches
// the decky is a request event (protocol, query_name, query_type, the querier); the
// decky answers for its own name as a real host does (or stays silent, or, in a lab,
// answers every name), and, when baiting is on, it asks the LAN now and then for names
// that exist nowhere: whoever answers is a poisoner (Responder, Inveigh, mitm6-style
// tools) and is raised as an alert.
//
// Both protocols use the DNS wire format, decoded and encoded with
// github.com/miekg/dns; nothing is parsed by hand.
package llmnr

import (
	"fmt"
	"net/netip"
	"strings"

	"decnet/internal/catalog"
	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "llmnr",
		Summary: "LLMNR and mDNS responder: queries recorded, bait queries expose name poisoners (Responder)",
		Ports:   []fleet.Port{{Number: PortLLMNR, Proto: "udp"}, {Number: PortMDNS, Proto: "udp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Ports.
const (
	PortLLMNR = 5355
	PortMDNS  = 5353
)

// Persona keys.
const (
	KeyRespond      = "respond"
	KeyBaitNames    = "bait_names"
	KeyBaitInterval = "bait_interval"
	KeyBaitTarget   = "bait_target"
)

// Answer modes.
const (
	RespondSelf   = "self"   // answer for the decky's own name only, as Windows and avahi do
	RespondSilent = "silent" // never answer
	RespondAll    = "all"    // answer every name with the decky's address (poisons the LAN: labs only)
)

// Keys are the llmnr service's persona keys.
var Keys = []service.Key{
	{Name: KeyRespond, Kind: service.String, Default: RespondSelf, Help: "self: answer for the decky's own name (what a real host does); silent: never answer; all: answer every name with the decky's address, which poisons the LAN's name resolution (isolated labs only)", Check: checkRespond},
	{Name: KeyBaitNames, Kind: service.List, Help: "names the decky asks the LAN for now and then; they exist nowhere, so an answer is a poisoner (default: wpad plus two file-server-like names stable per decky)", Check: checkNames},
	{Name: KeyBaitInterval, Kind: service.Int, Help: "seconds between bait queries, with ±20% jitter; 0 turns baiting off (default: 900 on Windows deckies, 0 elsewhere)", Check: service.IntRange(0, 86400)},
	{Name: KeyBaitTarget, Kind: service.String, Help: "where bait queries go (default: the LLMNR group 224.0.0.252:5355); a unicast ip:port is for tests and labs", Check: checkTarget},
}

func checkRespond(v string) error {
	switch v {
	case RespondSelf, RespondSilent, RespondAll:
		return nil
	}
	return fmt.Errorf("%q is not self, silent or all", v)
}

func checkNames(v string) error {
	for _, n := range service.SplitList(v) {
		if err := service.CheckDomain(n); err != nil {
			return fmt.Errorf("%q is not a host name", n)
		}
	}
	return nil
}

func checkTarget(v string) error {
	if _, err := netip.ParseAddrPort(v); err != nil {
		return fmt.Errorf("%q is not ip:port", v)
	}
	return nil
}

func isWindows(d catalog.Distro) bool {
	return d.OSFamily == catalog.FamilyWindows || d.OSFamily == catalog.FamilyWindowsServer
}

// shortName is the decky's host label as LLMNR and mDNS know it.
func shortName(hostname, decky string) string {
	h := hostname
	if h == "" {
		h = decky
	}
	short, _, _ := strings.Cut(h, ".")
	return short
}
