package snmp

import (
	"bytes"
	"context"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/gosnmp/gosnmp"

	"decnet/internal/event"
	"decnet/internal/service"
)

const (
	maxVarbinds     = 64   // varbinds answered per request (more: tooBig)
	maxBulkVarbinds = 64   // varbinds in a GetBulk answer
	maxResponse     = 1472 // bytes of a response datagram (net-snmp's default for UDP)
	credWindow      = 10 * time.Minute
	maxCredCache    = 4096
)

// Report counters of RFC 3414 (usmStats).
var (
	oidUnknownUserNames = mustOID("1.3.6.1.6.3.15.1.1.3.0")
	oidUnknownEngineIDs = mustOID("1.3.6.1.6.3.15.1.1.4.0")
)

// agent serves one decky's SNMP.
type agent struct {
	rt      *service.Runtime
	p       *persona
	mib     *mib
	ro, rw  map[string]bool
	now     func() time.Time
	mu      sync.Mutex
	seen    map[string]time.Time // credential events already sent: src|version|community
	unknown map[string]uint32    // usmStats counters by OID text
}

func run(ctx context.Context, rt *service.Runtime) error {
	a := newAgent(rt, time.Now())
	return rt.ServeUDP(ctx, Port, a.handle)
}

func newAgent(rt *service.Runtime, start time.Time) *agent {
	p := newPersona(rt, start)
	a := &agent{rt: rt, p: p, mib: buildMIB(p), ro: map[string]bool{}, rw: map[string]bool{},
		now: time.Now, seen: map[string]time.Time{}, unknown: map[string]uint32{}}
	communities := rt.PersonaList(KeyCommunities)
	if _, set := rt.Config.Persona[KeyCommunities]; !set {
		communities = []string{"public"}
	}
	for _, c := range communities {
		a.ro[c] = true
	}
	for _, c := range rt.PersonaList(KeyRWCommunities) {
		a.rw[c] = true
	}
	return a
}

// peekVersion reads the version of an SNMP message without decoding the rest.
func peekVersion(b []byte) (int64, bool) {
	r := berReader{b}
	body, err := r.expect(tagSequence)
	if err != nil {
		return 0, false
	}
	br := berReader{body}
	v, err := br.integer()
	return v, err == nil
}

func (a *agent) handle(_ context.Context, pk *service.Packet) {
	if resp := a.process(pk.Peer, pk.Data); resp != nil {
		if err := pk.Reply(resp); err != nil {
			a.rt.Log.Debug("snmp reply failed", "err", err)
		}
	}
}

// process records one datagram and returns the answer to send, or nil.
func (a *agent) process(peer netip.AddrPort, data []byte) []byte {
	pk := &datagram{Data: data, Peer: peer}
	ver, ok := peekVersion(pk.Data)
	if !ok {
		a.malformed(pk, "not an SNMP message")
		return nil
	}
	if ver == 3 {
		return a.handleV3(pk)
	}
	if ver != 0 && ver != 1 {
		a.malformed(pk, "unsupported SNMP version "+strconv.FormatInt(ver, 10))
		return nil
	}
	dec := &gosnmp.GoSNMP{}
	pkt, err := dec.SnmpDecodePacket(pk.Data)
	if err != nil {
		a.malformed(pk, err.Error())
		return nil
	}
	return a.handleCommunity(pk, pkt)
}

// datagram is one request: its bytes and sender.
type datagram struct {
	Data []byte
	Peer netip.AddrPort
}

func versionName(v gosnmp.SnmpVersion) string {
	switch v {
	case gosnmp.Version1:
		return "1"
	case gosnmp.Version2c:
		return "2c"
	}
	return "3"
}

func pduName(t gosnmp.PDUType) string {
	switch t {
	case gosnmp.GetRequest:
		return "get"
	case gosnmp.GetNextRequest:
		return "getnext"
	case gosnmp.GetBulkRequest:
		return "getbulk"
	case gosnmp.SetRequest:
		return "set"
	case gosnmp.GetResponse:
		return "response"
	case gosnmp.Trap, gosnmp.SNMPv2Trap:
		return "trap"
	case gosnmp.InformRequest:
		return "inform"
	case gosnmp.Report:
		return "report"
	}
	return "unknown"
}

func (a *agent) malformed(pk *datagram, why string) {
	f := map[string]string{"outcome": "malformed", "error": service.Printable(why, 200), "size": strconv.Itoa(len(pk.Data))}
	f["data_b64"] = base64.StdEncoding.EncodeToString(pk.Data[:min(len(pk.Data), 512)])
	a.rt.Emit(event.Request, pk.Peer, f, "")
}

// credential records a community (or v3 user) once per source and window, so a
// walk of hundreds of requests yields one credential event.
func (a *agent) credential(peer netip.AddrPort, key string) bool {
	a.mu.Lock()
	defer a.mu.Unlock()
	now := a.now()
	k := peer.Addr().String() + "|" + key
	if t, ok := a.seen[k]; ok && now.Sub(t) < credWindow {
		return false
	}
	if len(a.seen) >= maxCredCache {
		for kk, t := range a.seen {
			if now.Sub(t) >= credWindow {
				delete(a.seen, kk)
			}
		}
		if len(a.seen) >= maxCredCache {
			clear(a.seen)
		}
	}
	a.seen[k] = now
	return true
}

func (a *agent) handleCommunity(pk *datagram, pkt *gosnmp.SnmpPacket) []byte {
	ver := versionName(pkt.Version)
	comm := pkt.Community
	access := ""
	switch {
	case a.rw[comm]:
		access = "read-write"
	case a.ro[comm]:
		access = "read-only"
	}
	if a.credential(pk.Peer, ver+"|"+comm) {
		f := map[string]string{"secret_kind": "snmp_community", "snmp_version": ver,
			"secret_b64": base64.StdEncoding.EncodeToString([]byte(comm)), "outcome": "failure"}
		service.SetPrintableLimit(f, "password", comm, 256)
		delete(f, "password_b64")
		if access != "" {
			f["outcome"], f["access"] = "success", access
		}
		a.rt.Emit(event.Auth, pk.Peer, f, "")
	}
	oids := make([]string, 0, min(len(pkt.Variables), maxLoggedOIDs))
	for _, v := range pkt.Variables[:min(len(pkt.Variables), maxLoggedOIDs)] {
		oids = append(oids, service.Printable(v.Name, 256))
	}
	f := map[string]string{"snmp_version": ver, "pdu": pduName(pkt.PDUType), "oids": strings.Join(oids, ","),
		"varbinds": strconv.Itoa(len(pkt.Variables)), "request_id": strconv.FormatUint(uint64(pkt.RequestID), 10)}
	service.SetPrintableLimit(f, "community", comm, 256)
	if pkt.PDUType == gosnmp.GetBulkRequest {
		f["non_repeaters"] = strconv.Itoa(int(pkt.NonRepeaters))
		f["max_repetitions"] = strconv.FormatUint(uint64(pkt.MaxRepetitions), 10)
	}
	if pkt.PDUType == gosnmp.SetRequest {
		var vals []string
		for _, v := range pkt.Variables[:min(len(pkt.Variables), maxLoggedOIDs)] {
			vals = append(vals, service.Printable(v.Name+"="+valueText(v), 512))
		}
		f["values"] = strings.Join(vals, ",")
	}
	resp := a.respond(pkt, access)
	if resp == nil {
		f["outcome"] = "no_answer"
	} else {
		f["outcome"] = "answered"
	}
	a.rt.Emit(event.Request, pk.Peer, f, "")
	return resp
}

// valueText renders a SET value for the event.
func valueText(v gosnmp.SnmpPDU) string {
	switch x := v.Value.(type) {
	case []byte:
		return string(x)
	case nil:
		return ""
	default:
		return fmt.Sprint(x)
	}
}

// respond computes the answer to a v1/v2c request, or nil for none (a wrong
// community, a PDU an agent does not answer).
func (a *agent) respond(req *gosnmp.SnmpPacket, access string) []byte {
	if access == "" {
		return nil // real agents stay silent (v2c authenticationFailure is only a trap)
	}
	v1 := req.Version == gosnmp.Version1
	out := &gosnmp.SnmpPacket{Version: req.Version, Community: req.Community, PDUType: gosnmp.GetResponse, RequestID: req.RequestID}
	now := a.now()
	echo := func() {
		out.Variables = make([]gosnmp.SnmpPDU, len(req.Variables))
		for i, v := range req.Variables {
			out.Variables[i] = gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.Null}
		}
	}
	fail := func(status gosnmp.SNMPError, index int) {
		echo()
		out.Error, out.ErrorIndex = status, uint8(index)
	}
	if len(req.Variables) > maxVarbinds {
		out.Error = gosnmp.TooBig
		return a.marshal(out)
	}
	switch req.PDUType {
	case gosnmp.GetRequest:
		for i, v := range req.Variables {
			oid, err := parseOID(v.Name)
			e, ok := a.mib.get(oid)
			if err != nil || !ok {
				if v1 {
					fail(gosnmp.NoSuchName, i+1)
					return a.marshal(out)
				}
				t := gosnmp.NoSuchObject
				if err == nil && a.mib.hasObject(oid) {
					t = gosnmp.NoSuchInstance
				}
				out.Variables = append(out.Variables, gosnmp.SnmpPDU{Name: v.Name, Type: t})
				continue
			}
			out.Variables = append(out.Variables, value(e, now))
		}
	case gosnmp.GetNextRequest:
		for i, v := range req.Variables {
			oid, _ := parseOID(v.Name)
			e, ok := a.mib.next(oid)
			if !ok {
				if v1 {
					fail(gosnmp.NoSuchName, i+1)
					return a.marshal(out)
				}
				out.Variables = append(out.Variables, gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.EndOfMibView})
				continue
			}
			out.Variables = append(out.Variables, value(e, now))
		}
	case gosnmp.GetBulkRequest:
		if v1 {
			return nil // not a v1 PDU: net-snmp drops it
		}
		out.Variables = a.bulk(req, now)
		for len(out.Variables) > 1 {
			b := a.marshal(out)
			if len(b) <= maxResponse {
				return b
			}
			out.Variables = out.Variables[:len(out.Variables)*3/4]
		}
	case gosnmp.SetRequest:
		switch {
		case v1:
			fail(gosnmp.NoSuchName, 1)
		case access == "read-write":
			fail(gosnmp.NotWritable, 1)
		default:
			fail(gosnmp.NoAccess, 1)
		}
	default:
		return nil
	}
	b := a.marshal(out)
	if len(b) > maxResponse {
		out.Variables, out.Error, out.ErrorIndex = nil, gosnmp.TooBig, 0
		if v1 {
			echo()
		}
		b = a.marshal(out)
	}
	return b
}

// bulk answers a GetBulkRequest (RFC 3416 4.2.3).
func (a *agent) bulk(req *gosnmp.SnmpPacket, now time.Time) []gosnmp.SnmpPDU {
	var out []gosnmp.SnmpPDU
	n := min(int(req.NonRepeaters), len(req.Variables))
	for _, v := range req.Variables[:n] {
		oid, _ := parseOID(v.Name)
		if e, ok := a.mib.next(oid); ok {
			out = append(out, value(e, now))
		} else {
			out = append(out, gosnmp.SnmpPDU{Name: v.Name, Type: gosnmp.EndOfMibView})
		}
	}
	reps := req.Variables[n:]
	if len(reps) == 0 {
		return out
	}
	cur := make([][]uint32, len(reps))
	for i, v := range reps {
		cur[i], _ = parseOID(v.Name)
	}
	for r := 0; r < int(min(req.MaxRepetitions, maxBulkVarbinds)) && len(out) < maxBulkVarbinds; r++ {
		allEnd := true
		for i := range reps {
			if e, ok := a.mib.next(cur[i]); ok {
				out = append(out, value(e, now))
				cur[i] = e.oid
				allEnd = false
			} else {
				out = append(out, gosnmp.SnmpPDU{Name: oidString(cur[i]), Type: gosnmp.EndOfMibView})
			}
		}
		if allEnd {
			break
		}
	}
	return out
}

func value(e entry, now time.Time) gosnmp.SnmpPDU {
	t, v := e.val(now)
	return gosnmp.SnmpPDU{Name: oidString(e.oid), Type: t, Value: v}
}

func (a *agent) marshal(p *gosnmp.SnmpPacket) []byte {
	b, err := p.MarshalMsg()
	if err != nil {
		a.rt.Log.Error("snmp response does not encode", "err", err)
		return nil
	}
	return b
}

// handleV3 answers SNMPv3 like net-snmp with no v3 users: discovery gets the
// usmStatsUnknownEngineIDs report with this decky's engine ID; anything addressed to
// it gets usmStatsUnknownUserNames. The user name and, for an authenticated
// message, its HMAC (crackable) are recorded.
func (a *agent) handleV3(pk *datagram) []byte {
	m, err := parseV3(pk.Data)
	if err != nil {
		a.malformed(pk, err.Error())
		return nil
	}
	f := map[string]string{"snmp_version": "3", "msg_id": strconv.FormatInt(m.MsgID, 10),
		"security_level": securityLevel(m.Flags), "engine_id": hex.EncodeToString(m.EngineID[:min(len(m.EngineID), 64)]),
		"oids": strings.Join(m.OIDs, ",")}
	if m.Encrypted {
		f["pdu"] = "encrypted"
	} else {
		f["pdu"] = pduName(gosnmp.PDUType(m.PDUType))
	}
	service.SetPrintableLimit(f, "username", string(m.User), 64)
	var resp []byte
	switch {
	case !a.p.v3:
		f["outcome"] = "no_answer"
	case m.SecModel != 3 || len(m.User) > 32 || len(m.EngineID) > 32 || m.Flags&flagReportable == 0:
		f["outcome"] = "no_answer" // dropped by net-snmp (bad model, sizes, or not reportable)
	default:
		now := a.now()
		counter := oidUnknownUserNames
		if !bytes.Equal(m.EngineID, a.p.engineID) {
			counter = oidUnknownEngineIDs
		}
		a.mu.Lock()
		a.unknown[oidString(counter)]++
		n := a.unknown[oidString(counter)]
		a.mu.Unlock()
		resp = report(m, a.p.engineID, a.p.boots, a.p.engineTime(now), counter, n)
		f["outcome"] = "report"
		f["report"] = "unknownUserName"
		if slices.Equal(counter, oidUnknownEngineIDs) {
			f["report"] = "unknownEngineID"
		}
	}
	a.rt.Emit(event.Request, pk.Peer, f, "")
	if len(m.User) > 0 {
		c := map[string]string{"snmp_version": "3", "security_level": f["security_level"], "engine_id": f["engine_id"], "outcome": "failure"}
		service.SetPrintableLimit(c, "username", string(m.User), 64)
		if line, mode, ok := hashcatLine(pk.Data, m); ok {
			c["hash"], c["hashcat_mode"] = line, mode
			c["secret_kind"] = "snmpv3_hmac"
			c["secret_b64"] = base64.StdEncoding.EncodeToString(m.AuthParams)
		}
		if c["hash"] != "" || a.credential(pk.Peer, "3|"+string(m.User)) {
			a.rt.Emit(event.Auth, pk.Peer, c, "")
		}
	}
	return resp
}
