package api

import (
	"encoding/json"
	"net/http/httptest"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/store"
)

// logsPage is what appendLogsPage writes with raw lines, briefPage without, for
// encoding/json to compare with.
type logsPage struct {
	Items        []logJSON `json:"items"`
	NextBeforeID *int64    `json:"next_before_id"`
}

type briefPage struct {
	Items        []logBriefJSON `json:"items"`
	NextBeforeID *int64         `json:"next_before_id"`
}

func briefsOut(rows []store.LogRow) []logBriefJSON {
	out := make([]logBriefJSON, len(rows))
	for i, l := range logsOut(rows) {
		out[i] = l.logBriefJSON
	}
	return out
}

func hostileRow(id int64, s string) store.LogRow {
	return store.LogRow{ID: id, Record: store.Record{Event: event.Event{
		ID: "ev-" + s, Time: time.Unix(1700000000, 123456789).In(time.FixedZone("x", 3600)), Decky: s, Service: "ssh", Type: s,
		AttackerIP: s, AttackerPort: 65535, Fields: map[string]string{s: s, "b": "<script>&", "a": "\u2028\u2029\x00\x1f\x7f"}, Msg: s,
	}, RawLine: "raw " + s}}
}

var jsonCorpus = []string{"", "plain", `q"uo\te`, "<script>alert(1)</script>&amp;", "\b\f\n\r\t\x00\x01\x1b[31m",
	"\xff\xfe bad \xc3", "\u2028\u2029", "é☃😀", "\xed\xa0\x80", "a\xe2\x80"}

// The hand-written page is byte for byte what encoding/json makes of it.
func TestLogsPageJSON(t *testing.T) {
	var rows []store.LogRow
	for i, s := range jsonCorpus {
		rows = append(rows, hostileRow(int64(i+1), s))
	}
	rows = append(rows, store.LogRow{ID: 99}) // nil fields: {}
	next := int64(7)
	for _, tc := range []struct {
		rows []store.LogRow
		next *int64
	}{{rows, &next}, {rows[:1], nil}, {nil, nil}} {
		want, brief := httptest.NewRecorder(), httptest.NewRecorder()
		writeJSON(want, 200, logsPage{Items: logsOut(tc.rows), NextBeforeID: tc.next})
		writeJSON(brief, 200, briefPage{Items: briefsOut(tc.rows), NextBeforeID: tc.next})
		if got := appendLogsPage(nil, tc.rows, tc.next, true); string(got) != want.Body.String() {
			t.Errorf("page of %d rows:\n got %s\nwant %s", len(tc.rows), got, want.Body.String())
		}
		if got := appendLogsPage(nil, tc.rows, tc.next, false); string(got) != brief.Body.String() {
			t.Errorf("page of %d rows without raw lines:\n got %s\nwant %s", len(tc.rows), got, brief.Body.String())
		}
		// The same from row cache entries.
		var entries [][]byte
		for i := range tc.rows {
			e, _ := appendLogEntry(nil, &tc.rows[i], nil)
			entries = append(entries, e)
		}
		for _, raw := range []bool{true, false} {
			if got := string(appendLogsItems(nil, entries, tc.next, raw)); got != string(appendLogsPage(nil, tc.rows, tc.next, raw)) {
				t.Errorf("page of %d rows from entries (raw %v):\n got %s", len(tc.rows), raw, got)
			}
			for _, e := range entries {
				if n := len(appendEntryJSON(nil, e, raw)); n != entryJSONLen(e, raw) {
					t.Errorf("entryJSONLen(raw %v) = %d, appendEntryJSON appends %d", raw, entryJSONLen(e, raw), n)
				}
			}
		}
	}
}

func FuzzAppendLogJSON(f *testing.F) {
	for _, s := range jsonCorpus {
		f.Add(s, s, "k", int64(1))
	}
	f.Fuzz(func(t *testing.T, a, b, k string, id int64) {
		r := hostileRow(id, a)
		r.Msg, r.RawLine = b, b
		r.Fields[k] = b
		want, err := json.Marshal(logOut(&r))
		if err != nil {
			t.Fatal(err)
		}
		if got, _, _ := appendLogJSON(nil, &r, nil); string(got) != string(want) {
			t.Fatalf("\n got %s\nwant %s", got, want)
		}
		want, err = json.Marshal(logOut(&r).logBriefJSON)
		if err != nil {
			t.Fatal(err)
		}
		entry, _ := appendLogEntry([]byte("prefix"), &r, nil)
		if got := appendEntryJSON(nil, entry[len("prefix"):], false); string(got) != string(want) {
			t.Fatalf("without the raw line:\n got %s\nwant %s", got, want)
		}
	})
}
