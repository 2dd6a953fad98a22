package ingest

import (
	"encoding/json"
	"fmt"
	"os"
	"strings"
	"time"
	"unicode/utf8"

	"decnet/internal/event"
	"decnet/internal/spool"
	"decnet/internal/store"
)

// prepare turns a spool record into a storable record: it gives a record without a
// usable event_id its DerivedID, restores values that the spool's JSON could not
// carry byte-exact, and sets aside (RejectPath) a record the store would refuse, so
// one bad record never blocks a batch. ok is false for a rejected record. It also
// encodes the record's row with en (store.Encoder), here in the reading goroutine
// rather than in the store's single-file transaction.
func (in *Ingester) prepare(rec *spool.Record, en *store.Encoder) (store.Record, store.Encoded, bool) {
	s := store.Record{Event: rec.Event, RawLine: rec.RawLine}
	if s.ID == "" || len(s.ID) > store.MaxEventIDLen {
		s.ID = DerivedID(rec)
		in.derived.Add(1)
	}
	if restoreFromRaw(&s, rec.FieldsJSON) {
		in.repaired.Add(1)
	}
	e, err := en.EncodeJSON(&s, rec.FieldsJSON)
	if err != nil {
		in.reject(s, err)
		return s, e, false
	}
	return s, e, true
}

// restoreFromRaw fixes values that went through the spool's JSON: encoding/json
// writes invalid UTF-8 as U+FFFD, so a field or msg holding U+FFFD may have lost
// bytes. The raw line keeps every byte (the codec escapes them), so when it parses,
// each such value is replaced by the raw line's value for the same key — only when
// that value, with its invalid bytes replaced, is exactly the spooled one, so a
// collector's own changes (decky attribution, added fields) are never undone.
// fieldsJSON is the record's spool.Record.FieldsJSON: when set, every field value
// is in it as it is, so one search of it replaces a search of each value.
func restoreFromRaw(r *store.Record, fieldsJSON string) bool {
	suspect := strings.ContainsRune(r.Msg, utf8.RuneError)
	if fieldsJSON != "" {
		suspect = suspect || strings.ContainsRune(fieldsJSON, utf8.RuneError)
	} else {
		for _, v := range r.Fields {
			if strings.ContainsRune(v, utf8.RuneError) {
				suspect = true
				break
			}
		}
	}
	if !suspect || r.RawLine == "" {
		return false
	}
	raw, err := event.Parse([]byte(r.RawLine))
	if err != nil {
		return false
	}
	changed := false
	fields := r.Fields
	for k, v := range r.Fields {
		if !strings.ContainsRune(v, utf8.RuneError) {
			continue
		}
		if rv, ok := raw.Fields[k]; ok && rv != v && jsonLossy(rv) == v {
			if !changed {
				// Copy before writing: the map may be shared with the spool record.
				fields = make(map[string]string, len(r.Fields))
				for k2, v2 := range r.Fields {
					fields[k2] = v2
				}
			}
			fields[k] = rv
			changed = true
		}
	}
	r.Fields = fields
	if strings.ContainsRune(r.Msg, utf8.RuneError) && raw.Msg != r.Msg && jsonLossy(raw.Msg) == r.Msg {
		r.Msg = raw.Msg
		changed = true
	}
	return changed
}

// rejected is one line of the rejected-records file.
type rejected struct {
	RejectedAt time.Time         `json:"rejected_at"`
	Reason     string            `json:"reason"`
	Event      event.Event       `json:"event"`
	RawLine    string            `json:"raw_line"`
	FieldsB64  map[string][]byte `json:"fields_b64,omitempty"` // values that are not valid UTF-8, exact
}

// reject appends r and why to RejectPath (fsynced before the cursor can pass r). If
// even that fails, the record is logged in full (escaped) so it is still not lost
// silently.
func (in *Ingester) reject(r store.Record, why error) {
	n := in.rejected.Add(1)
	in.log.Warn("the store refuses a record; it is set aside", "event_id", r.ID, "reason", why, "file", in.cfg.RejectPath, "rejected_total", n)
	line := rejected{RejectedAt: time.Now().UTC(), Reason: why.Error(), Event: r.Event, RawLine: r.RawLine}
	for k, v := range r.Fields {
		if !utf8.ValidString(v) {
			if line.FieldsB64 == nil {
				line.FieldsB64 = map[string][]byte{}
			}
			line.FieldsB64[k] = []byte(v)
		}
	}
	b, err := json.Marshal(line)
	if err == nil {
		err = in.appendReject(append(b, '\n'))
	}
	if err != nil {
		in.setErr(err)
		in.log.Error("cannot write the rejected-records file; the record follows in this log", "err", err,
			"event_id", event.SafeTerminal(r.ID), "raw_line", event.SafeTerminal(r.RawLine))
	}
}

func (in *Ingester) appendReject(b []byte) error {
	in.rejectMu.Lock()
	defer in.rejectMu.Unlock()
	f, err := os.OpenFile(in.cfg.RejectPath, os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("ingest: open the rejected-records file: %w", err)
	}
	if _, err := f.Write(b); err != nil {
		f.Close()
		return fmt.Errorf("ingest: write the rejected-records file: %w", err)
	}
	if err := f.Sync(); err != nil {
		f.Close()
		return fmt.Errorf("ingest: fsync the rejected-records file: %w", err)
	}
	return f.Close()
}

// jsonLossy is what encoding/json makes of s: every byte that is not part of valid
// UTF-8 becomes U+FFFD (one per byte).
func jsonLossy(s string) string {
	if utf8.ValidString(s) {
		return s
	}
	var b strings.Builder
	b.Grow(len(s) + 8)
	for i := 0; i < len(s); {
		r, size := utf8.DecodeRuneInString(s[i:])
		if r == utf8.RuneError && size == 1 {
			b.WriteRune(utf8.RuneError)
		} else {
			b.WriteString(s[i : i+size])
		}
		i += size
	}
	return b.String()
}
