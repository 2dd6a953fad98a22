package analysis

import (
	"encoding/json"
	"fmt"
	"hash/fnv"
	"slices"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"decnet/internal/bounty"
	"decnet/internal/event"
	"decnet/internal/store"
)

// Bounds on what one attacker's accumulator holds, so a hostile source cannot
// grow it without limit.
const (
	maxDeckies      = 256  // deckies kept in the path (more are counted)
	maxServices     = 64   // distinct services kept
	maxFingerprints = 64   // distinct fingerprints kept
	maxCommands     = 100  // most recent commands kept
	maxCredentials  = 50   // most recent credentials kept
	maxPorts        = 1024 // distinct destination ports kept
	maxHashSet      = 1024 // distinct usernames / passwords / paths counted exactly up to this
	maxSynSigs      = 16   // distinct SYN signatures kept (not counting a tool's crafted ones)
	maxToolSynSigs  = 4    // distinct crafted SYN signatures (nmap, masscan…) kept
	maxToolEvidence = 5    // evidence strings per tool
	maxCommandLen   = 1024
	maxSecretLen    = 256
	maxValueLen     = 512
	stateVersion    = 1
)

// Sources that are not the attacker's own actions on a decky.
const (
	serviceSniffer = "sniffer"
	serviceProber  = "prober"
)

// hashSet counts distinct strings exactly up to maxHashSet by keeping 64-bit FNV
// hashes; past that it saturates (Full).
type hashSet struct {
	H    []uint64 `json:"h,omitempty"`
	Full bool     `json:"full,omitempty"`
	m    map[uint64]struct{}
}

func (h *hashSet) add(s string) bool {
	if h.m == nil {
		h.m = make(map[uint64]struct{}, len(h.H))
		for _, x := range h.H {
			h.m[x] = struct{}{}
		}
	}
	f := fnv.New64a()
	f.Write([]byte(s))
	x := f.Sum64()
	if _, ok := h.m[x]; ok {
		return false
	}
	if len(h.H) >= maxHashSet {
		h.Full = true
		return false
	}
	h.m[x] = struct{}{}
	h.H = append(h.H, x)
	return true
}

func (h *hashSet) count() int { return len(h.H) }

// toolAcc is the evidence gathered for one tool.
type toolAcc struct {
	Conf     float64  `json:"conf"`
	Hits     int64    `json:"hits"`
	Evidence []string `json:"ev"`
}

type synAcc struct {
	Sig   synSig `json:"sig"`
	Count int64  `json:"n"`
}

// state is everything the engine needs, besides the attacker row itself, to
// continue an attacker's analysis after a restart. It is stored as JSON in the
// row's analysis_state.
type state struct {
	V         int           `json:"v"`
	LastLogID int64         `json:"last_log_id"` // events up to this logs.id are counted
	DeckyAt   []time.Time   `json:"decky_at"`    // first touch of each of row.Deckies
	MoreDecky int64         `json:"more_deckies,omitempty"`
	Timing    timing        `json:"timing"`
	Cmd       cmdTiming     `json:"cmd"`
	Phases    []store.Phase `json:"phases,omitempty"`

	AuthAttempts  int64    `json:"auth_attempts"`
	AuthFailures  int64    `json:"auth_failures"`
	AuthSuccesses int64    `json:"auth_successes"`
	Users         hashSet  `json:"users"`
	Passwords     hashSet  `json:"passwords"`
	Engaged       []string `json:"engaged,omitempty"` // deckies with a login success or a command, in order
	LateralMoves  int64    `json:"lateral_moves"`

	Scans        int64 `json:"scans"`
	MaxPortCount int   `json:"max_port_count"`
	Ports        []int `json:"ports,omitempty"`
	Connects     int64 `json:"connects"`

	Requests  int64   `json:"requests"`
	NotFound  int64   `json:"not_found"`
	Paths     hashSet `json:"paths"`
	Downloads int64   `json:"downloads"`
	Uploads   int64   `json:"uploads"`

	Syn   []synAcc            `json:"syn,omitempty"`
	Tools map[string]*toolAcc `json:"tools,omitempty"`
}

// acc is one attacker being analysed: its row and its state.
type acc struct {
	row   store.Attacker
	st    state
	dirty bool
	ports map[int]struct{}
}

func newAcc(uuid, ip string) *acc {
	return &acc{row: store.Attacker{UUID: uuid, IP: ip}, st: state{V: stateVersion}}
}

// loadAcc resumes an attacker from its stored row. A state this engine cannot
// read (an older format, damage) is restarted empty: the row's counters, path
// and lists are kept, only the statistics start again.
func loadAcc(row *store.Attacker) (*acc, error) {
	a := &acc{row: *row}
	a.row.AnalysisState = nil
	var err error
	if len(row.AnalysisState) > 0 {
		err = json.Unmarshal(row.AnalysisState, &a.st)
	}
	if err != nil || a.st.V != stateVersion || len(a.st.DeckyAt) != len(a.row.Deckies) {
		a.st = state{V: stateVersion}
		for range a.row.Deckies {
			a.st.DeckyAt = append(a.st.DeckyAt, a.row.FirstSeen)
		}
		if err == nil {
			err = fmt.Errorf("analysis state version %d is not %d", a.st.V, stateVersion)
		}
		return a, fmt.Errorf("the stored analysis state of attacker %s cannot be resumed (%w); its statistics restart from here", row.IP, err)
	}
	return a, nil
}

// text makes attacker-controlled text storable: valid UTF-8, bounded.
func text(s string, n int) string {
	if !utf8.ValidString(s) {
		s = strings.ToValidUTF8(s, "\uFFFD")
	}
	return cut(s, n)
}

// isActivity reports whether e is an action of the attacker towards a decky that
// counts for timing (sniffer fingerprints mirror service events and are rate
// limited; prober events are ours).
func isActivity(e *store.LogRow) bool {
	switch e.Service {
	case serviceProber:
		return false
	case serviceSniffer:
		return e.Type == event.Scan
	}
	return true
}

// apply adds one stored event to the accumulator.
func (a *acc) apply(e *store.LogRow) {
	if e.ID <= a.st.LastLogID {
		return // already counted (a replay after a cursor reset)
	}
	a.st.LastLogID = e.ID
	a.dirty = true
	t := e.Time.UTC()
	prober := e.Service == serviceProber
	if !prober || a.row.FirstSeen.IsZero() {
		if a.row.FirstSeen.IsZero() || t.Before(a.row.FirstSeen) {
			a.row.FirstSeen = t
		}
		if t.After(a.row.LastSeen) {
			a.row.LastSeen = t
		}
	}
	if !prober {
		a.row.EventCount++
		a.touchDecky(e.Decky, t)
	}
	if e.Service != "" && !prober && e.Service != serviceSniffer && len(a.row.Services) < maxServices {
		if s := text(e.Service, store.MaxNameLen); !slices.Contains(a.row.Services, s) {
			a.row.Services = append(a.row.Services, s)
		}
	}
	if isActivity(e) {
		a.st.Timing.add(t)
	}
	a.fingerprints(e, t)
	if e.Service == serviceSniffer && e.Fields["fp_kind"] == "tcp_syn" {
		a.syn(e)
	}
	a.phase(e, t)
	switch e.Type {
	case event.Connect:
		a.st.Connects++
		a.port(e.Fields["port"])
	case event.Auth:
		a.auth(e, t)
	case event.Command:
		a.command(e, t)
	case event.Request:
		a.request(e)
	case event.Scan:
		a.scan(e)
	case event.DownloadAttempt:
		a.st.Downloads++
	case event.FileUpload:
		a.st.Uploads++
	}
	if e.Type != event.Auth && e.IsCredential() {
		a.credential(e, t)
	}
	if e.Service == serviceSniffer {
		a.port(e.Fields["dst_port"])
	}
}

// touchDecky adds decky to the traversal path, in first-touch time order.
func (a *acc) touchDecky(decky string, t time.Time) {
	if decky == "" {
		return
	}
	decky = text(decky, store.MaxNameLen)
	if i := slices.Index(a.row.Deckies, decky); i >= 0 {
		if t.Before(a.st.DeckyAt[i]) { // an earlier event arrived late (another spool)
			a.st.DeckyAt[i] = t
			a.sortPath()
		}
		return
	}
	if len(a.row.Deckies) >= maxDeckies {
		a.st.MoreDecky++
		return
	}
	a.row.Deckies = append(a.row.Deckies, decky)
	a.st.DeckyAt = append(a.st.DeckyAt, t)
	a.sortPath()
	if len(a.st.Engaged) > 0 && !slices.Contains(a.st.Engaged, decky) {
		a.st.LateralMoves++ // a new decky touched after getting in somewhere else
		a.addPhase(PhaseLateral, t)
	}
}

func (a *acc) sortPath() {
	idx := make([]int, len(a.row.Deckies))
	for i := range idx {
		idx[i] = i
	}
	sort.SliceStable(idx, func(i, j int) bool { return a.st.DeckyAt[idx[i]].Before(a.st.DeckyAt[idx[j]]) })
	d := make([]string, len(idx))
	at := make([]time.Time, len(idx))
	for i, k := range idx {
		d[i], at[i] = a.row.Deckies[k], a.st.DeckyAt[k]
	}
	a.row.Deckies, a.st.DeckyAt = d, at
}

// finishRow derives the row's summary columns from the accumulated data.
func (a *acc) finishRow() {
	a.row.IsTraversal = len(a.row.Deckies) >= 2
	a.row.TraversalPath = strings.Join(a.row.Deckies, " -> ")
	if a.st.MoreDecky > 0 {
		a.row.TraversalPath += fmt.Sprintf(" -> … (+%d more)", a.st.MoreDecky)
	}
}

func (a *acc) engage(decky string) {
	if decky != "" && !slices.Contains(a.st.Engaged, decky) && len(a.st.Engaged) < maxDeckies {
		a.st.Engaged = append(a.st.Engaged, text(decky, store.MaxNameLen))
	}
}

// fingerprintKinds are the event fields that describe the attacker's client (or,
// from the prober, the attacker's own servers).
var fingerprintKinds = []string{"ja3", "ja4", "hassh", "client_version", "user_agent", "jarm", "hassh_server"}

func (a *acc) fingerprints(e *store.LogRow, t time.Time) {
	if e.Service == serviceSniffer {
		switch e.Fields["fp_kind"] {
		case "tls_server", "ssh_server":
			return // the decky's own answer
		}
	}
	for _, kind := range fingerprintKinds {
		v := e.Fields[kind]
		if v == "" || kind == "hassh_server" && e.Service != serviceProber {
			continue
		}
		a.addFingerprint(kind, text(v, maxValueLen), e, t)
		switch kind {
		case "client_version":
			a.sshClient(v)
		case "user_agent":
			a.userAgent(v)
		case "ja4":
			a.tlsClient(v)
		case "hassh":
			a.hassh(v)
		}
	}
	if e.Service == serviceSniffer && e.Type == event.Fingerprint && e.Fields["fp_kind"] == "http" && e.Fields["path"] != "" {
		a.path(e.Fields["path"])
	}
}

func (a *acc) addFingerprint(kind, v string, e *store.LogRow, t time.Time) {
	for i := range a.row.Fingerprints {
		f := &a.row.Fingerprints[i]
		if f.Kind == kind && f.Value == v {
			f.Count++
			if t.After(f.LastSeen) {
				f.LastSeen = t
			}
			return
		}
	}
	if len(a.row.Fingerprints) >= maxFingerprints {
		return
	}
	a.row.Fingerprints = append(a.row.Fingerprints, store.AttackerFingerprint{Kind: kind, Value: v,
		Service: text(e.Service, store.MaxNameLen), Decky: text(e.Decky, store.MaxNameLen), FirstSeen: t, LastSeen: t, Count: 1})
}

func (a *acc) tool(h hit, arg string) {
	if a.st.Tools == nil {
		a.st.Tools = map[string]*toolAcc{}
	}
	ta := a.st.Tools[h.Tool]
	if ta == nil {
		if len(a.st.Tools) >= 64 {
			return
		}
		ta = &toolAcc{}
		a.st.Tools[h.Tool] = ta
	}
	ta.Hits++
	ta.Conf = max(ta.Conf, h.Conf)
	why := h.Why
	if strings.Contains(why, "%q") {
		why = fmt.Sprintf(why, text(arg, 200))
	}
	if len(ta.Evidence) < maxToolEvidence && !slices.Contains(ta.Evidence, why) {
		ta.Evidence = append(ta.Evidence, why)
	}
}

func (a *acc) sshClient(v string) {
	for _, r := range sshClientRules {
		if r.re.MatchString(v) {
			for _, h := range r.tools {
				a.tool(h, v)
			}
			return
		}
	}
}

func (a *acc) userAgent(v string) {
	for _, r := range userAgentRules {
		if r.re.MatchString(v) {
			a.tool(r.hit, v)
			return
		}
	}
}

func (a *acc) path(p string) {
	a.st.Paths.add(p)
	for _, r := range pathRules {
		if r.re.MatchString(p) {
			a.tool(r.hit, p)
		}
	}
}

func (a *acc) syn(e *store.LogRow) {
	s, ok := parseSyn(e.Fields)
	if !ok {
		return
	}
	m, why, matched := matchSyn(s)
	crafted := matched && m.Tool
	for i := range a.st.Syn {
		if a.st.Syn[i].Sig == s {
			a.st.Syn[i].Count++
			return
		}
	}
	// A scanner's crafted SYNs (nmap randomises their TTL: each is a new signature)
	// get a few slots of their own, so they never crowd out the kernel's SYNs the
	// OS guess is made from.
	n := 0
	for _, x := range a.st.Syn {
		if xm, _, ok := matchSyn(x.Sig); (ok && xm.Tool) == crafted {
			n++
		}
	}
	if (crafted && n < maxToolSynSigs) || (!crafted && n < maxSynSigs) {
		a.st.Syn = append(a.st.Syn, synAcc{Sig: s, Count: 1})
		a.addFingerprint("tcp_syn", s.key(), e, e.Time.UTC())
	}
	if crafted {
		a.tool(hit{Tool: m.Label, Conf: m.Conf, Why: why}, "")
	}
}

func (a *acc) port(s string) {
	p, err := strconv.Atoi(s)
	if err != nil || p <= 0 || p > 65535 {
		return
	}
	if a.ports == nil {
		a.ports = make(map[int]struct{}, len(a.st.Ports))
		for _, x := range a.st.Ports {
			a.ports[x] = struct{}{}
		}
	}
	if _, ok := a.ports[p]; ok || len(a.st.Ports) >= maxPorts {
		return
	}
	a.ports[p] = struct{}{}
	a.st.Ports = append(a.st.Ports, p)
}

func (a *acc) scan(e *store.LogRow) {
	a.st.Scans++
	if n, err := strconv.Atoi(e.Fields["port_count"]); err == nil && n > a.st.MaxPortCount {
		a.st.MaxPortCount = n
	}
	for i, p := range strings.Split(e.Fields["ports"], ",") {
		if i >= 64 {
			break
		}
		a.port(strings.TrimSpace(p))
	}
}

func (a *acc) auth(e *store.LogRow, t time.Time) {
	a.st.AuthAttempts++
	switch strings.ToLower(e.Fields["outcome"]) {
	case "success", "ok", "accepted":
		a.st.AuthSuccesses++
		a.engage(e.Decky)
	case "failure", "failed", "fail", "denied", "rejected":
		a.st.AuthFailures++
	}
	if u, ok := e.Fields["username"]; ok {
		a.st.Users.add(u)
	}
	if e.IsCredential() {
		if s, ok := bounty.Secret(&e.Event); ok {
			a.st.Passwords.add(string(s))
		}
		a.credential(e, t)
	}
}

func (a *acc) credential(e *store.LogRow, t time.Time) {
	a.row.CredentialCount++
	secret := e.Fields["password"]
	if secret == "" {
		if s, ok := bounty.Secret(&e.Event); ok {
			secret = string(s)
		}
	}
	kind := e.Fields["secret_kind"]
	if kind == "" {
		kind = "plaintext"
	}
	c := store.AttackerCredential{Time: t, Decky: text(e.Decky, store.MaxNameLen), Service: text(e.Service, store.MaxNameLen),
		Username: text(e.Fields["username"], maxValueLen), Secret: text(secret, maxSecretLen), SecretKind: text(kind, 64),
		Outcome: text(e.Fields["outcome"], 32)}
	a.row.Credentials = append(a.row.Credentials, c)
	if len(a.row.Credentials) > maxCredentials {
		a.row.Credentials = slices.Delete(a.row.Credentials, 0, len(a.row.Credentials)-maxCredentials)
	}
}

func (a *acc) command(e *store.LogRow, t time.Time) {
	a.row.CommandCount++
	a.engage(e.Decky)
	a.st.Cmd.add(t)
	cmd := e.Fields["command"]
	if cmd == "" {
		cmd = e.Msg
	}
	a.row.Commands = append(a.row.Commands, store.AttackerCommand{Time: t, Decky: text(e.Decky, store.MaxNameLen),
		Service: text(e.Service, store.MaxNameLen), Command: text(cmd, maxCommandLen), Username: text(e.Fields["username"], maxValueLen)})
	if len(a.row.Commands) > maxCommands {
		a.row.Commands = slices.Delete(a.row.Commands, 0, len(a.row.Commands)-maxCommands)
	}
}

func (a *acc) request(e *store.LogRow) {
	a.st.Requests++
	if e.Fields["status"] == "404" {
		a.st.NotFound++
	}
	if p := e.Fields["path"]; p != "" {
		a.path(p)
	}
}

// Phase names.
const (
	PhaseRecon     = "recon"
	PhaseAccess    = "credential_access"
	PhaseExecution = "execution"
	PhaseDelivery  = "delivery"
	PhaseLateral   = "lateral_movement"
)

func phaseOf(e *store.LogRow) string {
	switch e.Type {
	case event.Scan, event.Connect, event.Disconnect, event.Banner, event.Fingerprint, event.Request:
		if e.Service == serviceProber {
			return ""
		}
		return PhaseRecon
	case event.Auth:
		return PhaseAccess
	case event.Command, event.DownloadAttempt:
		return PhaseExecution
	case event.FileUpload:
		return PhaseDelivery
	}
	return ""
}

func (a *acc) phase(e *store.LogRow, t time.Time) {
	if name := phaseOf(e); name != "" {
		a.addPhase(name, t)
	}
}

func (a *acc) addPhase(name string, t time.Time) {
	for i := range a.st.Phases {
		p := &a.st.Phases[i]
		if p.Name == name {
			p.Events++
			if t.Before(p.First) {
				p.First = t
			}
			if t.After(p.Last) {
				p.Last = t
			}
			return
		}
	}
	a.st.Phases = append(a.st.Phases, store.Phase{Name: name, First: t, Last: t, Events: 1})
}
