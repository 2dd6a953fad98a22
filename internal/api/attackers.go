package api

import (
	"encoding/json"
	"net/http"

	"decnet/internal/store"
)

// attackerJSON is one attacker in a list.
type attackerJSON struct {
	UUID            string   `json:"uuid"`
	IP              string   `json:"ip"`
	FirstSeen       ts       `json:"first_seen"`
	LastSeen        ts       `json:"last_seen"`
	EventCount      int64    `json:"event_count"`
	Deckies         []string `json:"deckies"`
	Services        []string `json:"services"`
	IsTraversal     bool     `json:"is_traversal"`
	TraversalPath   string   `json:"traversal_path"`
	BehaviorClass   string   `json:"behavior_class"`
	OSGuess         string   `json:"os_guess"`
	CredentialCount int64    `json:"credential_count"`
	CommandCount    int64    `json:"command_count"`
}

func attackerOut(a *store.Attacker) attackerJSON {
	out := attackerJSON{UUID: a.UUID, IP: a.IP, FirstSeen: ts(a.FirstSeen), LastSeen: ts(a.LastSeen), EventCount: a.EventCount,
		Deckies: a.Deckies, Services: a.Services, IsTraversal: a.IsTraversal, TraversalPath: a.TraversalPath,
		BehaviorClass: a.BehaviorClass, OSGuess: a.OSGuess, CredentialCount: a.CredentialCount, CommandCount: a.CommandCount}
	if out.Deckies == nil {
		out.Deckies = []string{}
	}
	if out.Services == nil {
		out.Services = []string{}
	}
	return out
}

// attackerSorts maps the API's sort names to the store's.
var attackerSorts = map[string]string{
	"":            store.SortLastSeen,
	"last_seen":   store.SortLastSeen,
	"first_seen":  store.SortFirstSeen,
	"event_count": store.SortEvents,
	"deckies":     store.SortDeckies,
}

func (s *Server) handleAttackers(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := store.AttackerQuery{IP: v.Get("ip"), Decky: v.Get("decky"), Service: v.Get("service"), BehaviorClass: v.Get("class")}
	var ok bool
	if q.Sort, ok = attackerSorts[v.Get("sort")]; !ok {
		writeError(w, http.StatusBadRequest, "sort must be last_seen, first_seen, event_count or deckies")
		return
	}
	switch v.Get("order") {
	case "", "desc":
	case "asc":
		q.Ascending = true
	default:
		writeError(w, http.StatusBadRequest, "order must be asc or desc")
		return
	}
	switch v.Get("traversal") {
	case "", "false":
	case "true":
		q.TraversalOnly = true
	default:
		writeError(w, http.StatusBadRequest, "traversal must be true or false")
		return
	}
	var err error
	if q.Limit, err = limitParam(v); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	off, err := intParam(v, "offset", 0, 1_000_000)
	if err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	q.Offset = int(off)
	list, err := s.st.Attackers(r.Context(), q)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	total, err := s.st.CountAttackers(r.Context(), q)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	out := struct {
		Items []attackerJSON `json:"items"`
		Total int64          `json:"total"`
	}{Items: make([]attackerJSON, len(list)), Total: total}
	for i := range list {
		out.Items[i] = attackerOut(&list[i])
	}
	writeJSON(w, http.StatusOK, out)
}

// detailLimit bounds the credentials, fingerprints and timeline of one attacker.
const (
	detailBounty   = 500
	detailTimeline = 200
)

func (s *Server) handleAttacker(w http.ResponseWriter, r *http.Request) {
	key := r.PathValue("key")
	a, err := s.st.Attacker(r.Context(), key)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	if a == nil {
		writeError(w, http.StatusNotFound, "no such attacker")
		return
	}
	beh, err := s.st.Behavior(r.Context(), a.UUID)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	creds, err := s.st.Bounty(r.Context(), store.BountyQuery{Type: "credential", AttackerIP: a.IP, Limit: detailBounty})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	fps, err := s.st.Bounty(r.Context(), store.BountyQuery{Type: "fingerprint", AttackerIP: a.IP, Limit: detailBounty})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	timeline, err := s.st.Logs(r.Context(), store.LogQuery{AttackerIP: a.IP, Limit: detailTimeline})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	type attackerDetail struct {
		attackerJSON
		Fingerprints []store.AttackerFingerprint `json:"fingerprints"`
		Commands     []store.AttackerCommand     `json:"commands"`
		Credentials  []store.AttackerCredential  `json:"recent_credentials"`
	}
	type behaviorJSON struct {
		OSGuess       string            `json:"os_guess"`
		OSConfidence  float64           `json:"os_confidence"`
		BehaviorClass string            `json:"behavior_class"`
		ToolGuesses   []store.ToolGuess `json:"tool_guesses"`
		Timing        store.TimingStats `json:"timing_stats"`
		Phases        []store.Phase     `json:"phases"`
		Evidence      []string          `json:"evidence"`
		UpdatedAt     ts                `json:"updated_at"`
	}
	d := attackerDetail{attackerJSON: attackerOut(a), Fingerprints: a.Fingerprints, Commands: a.Commands, Credentials: a.Credentials}
	if d.Fingerprints == nil {
		d.Fingerprints = []store.AttackerFingerprint{}
	}
	if d.Commands == nil {
		d.Commands = []store.AttackerCommand{}
	}
	if d.Credentials == nil {
		d.Credentials = []store.AttackerCredential{}
	}
	var bj *behaviorJSON
	if beh != nil {
		bj = &behaviorJSON{OSGuess: beh.OSGuess, OSConfidence: beh.OSConfidence, BehaviorClass: beh.BehaviorClass,
			ToolGuesses: beh.ToolGuesses, Timing: beh.Timing, Phases: beh.Phases, Evidence: beh.Evidence, UpdatedAt: ts(beh.UpdatedAt)}
		if bj.ToolGuesses == nil {
			bj.ToolGuesses = []store.ToolGuess{}
		}
		if bj.Phases == nil {
			bj.Phases = []store.Phase{}
		}
		if bj.Evidence == nil {
			bj.Evidence = []string{}
		}
	}
	writeJSON(w, http.StatusOK, struct {
		Attacker     attackerDetail `json:"attacker"`
		Behavior     *behaviorJSON  `json:"behavior"`
		Credentials  []bountyJSON   `json:"credentials"`
		Fingerprints []bountyJSON   `json:"fingerprints"`
		Timeline     []logJSON      `json:"timeline"`
	}{d, bj, bountiesOut(creds), bountiesOut(fps), logsOut(timeline)})
}

// bountyJSON is one bounty row as the API returns it.
type bountyJSON struct {
	ID         int64           `json:"id"`
	Timestamp  ts              `json:"timestamp"`
	Decky      string          `json:"decky"`
	Service    string          `json:"service"`
	AttackerIP string          `json:"attacker_ip"`
	BountyType string          `json:"bounty_type"`
	Payload    json.RawMessage `json:"payload"`
	EventID    string          `json:"event_id"`
}

func bountyOut(b *store.BountyRow) bountyJSON {
	p := b.Payload
	if len(p) == 0 || !json.Valid(p) {
		p = json.RawMessage("{}")
	}
	return bountyJSON{ID: b.ID, Timestamp: ts(b.Time), Decky: b.Decky, Service: b.Service, AttackerIP: b.AttackerIP,
		BountyType: b.Type, Payload: p, EventID: b.EventID}
}

func bountiesOut(rows []store.BountyRow) []bountyJSON {
	out := make([]bountyJSON, len(rows))
	for i := range rows {
		out[i] = bountyOut(&rows[i])
	}
	return out
}
