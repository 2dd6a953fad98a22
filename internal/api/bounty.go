package api

import (
	"bufio"
	"encoding/csv"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"time"

	"decnet/internal/store"
)

func (s *Server) handleBounty(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	q := store.BountyQuery{Type: v.Get("type"), Decky: v.Get("decky"), Service: v.Get("service"), AttackerIP: v.Get("attacker")}
	var err error
	if q.Limit, err = limitParam(v); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	if q.BeforeID, err = intParam(v, "before_id", 0, 1<<63-1); err != nil {
		writeError(w, http.StatusBadRequest, err.Error())
		return
	}
	rows, err := s.st.Bounty(r.Context(), q)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	out := struct {
		Items        []bountyJSON `json:"items"`
		NextBeforeID *int64       `json:"next_before_id"`
	}{Items: bountiesOut(rows)}
	if len(rows) == q.Limit {
		next := rows[len(rows)-1].ID
		out.NextBeforeID = &next
	}
	writeJSON(w, http.StatusOK, out)
}

// Export bounds.
const (
	exportPage = 1000
	maxExport  = 1_000_000
)

// csvPayloadColumns are the payload keys an export lifts into their own columns
// (credentials, fingerprints, artifacts); the whole payload follows as JSON.
var csvPayloadColumns = []string{"username", "password", "secret_kind", "secret_b64", "kind", "value", "sha256", "filename"}

// csvSafe defuses spreadsheet formulas: a cell starting with = + - @ (or a tab or
// carriage return, which some spreadsheets skip before one) is prefixed with '.
func csvSafe(v string) string {
	if v != "" && strings.ContainsRune("=+-@\t\r", rune(v[0])) {
		return "'" + v
	}
	return v
}

func (s *Server) handleBountyExport(w http.ResponseWriter, r *http.Request) {
	v := r.URL.Query()
	format := v.Get("format")
	if format == "" {
		format = "csv"
	}
	if format != "csv" && format != "json" {
		writeError(w, http.StatusBadRequest, "format must be csv or json")
		return
	}
	typ := v.Get("type")
	q := store.BountyQuery{Type: typ, Limit: exportPage}
	first, err := s.st.Bounty(r.Context(), q)
	if err != nil {
		s.queryError(w, r, err)
		return
	}
	name := "decnet-bounty"
	if typ != "" && store.ValidUsername(typ) {
		name += "-" + typ
	}
	name += "-" + time.Now().UTC().Format("20060102T150405Z") + "." + format
	h := w.Header()
	h.Set("Content-Disposition", `attachment; filename="`+name+`"`)
	if format == "csv" {
		h.Set("Content-Type", "text/csv; charset=utf-8")
	} else {
		h.Set("Content-Type", "application/json; charset=utf-8")
	}
	rc := http.NewResponseController(w)
	bw := bufio.NewWriterSize(w, 64<<10)
	defer bw.Flush()
	var cw *csv.Writer
	if format == "csv" {
		cw = csv.NewWriter(bw)
		cw.Write(append([]string{"id", "timestamp", "decky", "service", "attacker_ip", "bounty_type", "event_id"}, append(csvPayloadColumns, "payload")...))
	} else {
		bw.WriteString("[")
	}
	rows, n := first, 0
	for len(rows) > 0 && n < maxExport {
		rc.SetWriteDeadline(time.Now().Add(60 * time.Second)) // a long download extends the server's write timeout page by page
		for i := range rows {
			b := bountyOut(&rows[i])
			if cw != nil {
				var p map[string]any
				json.Unmarshal(b.Payload, &p)
				rec := []string{strconv.FormatInt(b.ID, 10), b.Timestamp.String(), b.Decky, b.Service, b.AttackerIP, b.BountyType, b.EventID}
				for _, k := range csvPayloadColumns {
					s, _ := p[k].(string)
					rec = append(rec, s)
				}
				rec = append(rec, string(b.Payload))
				for j := range rec {
					rec[j] = csvSafe(rec[j])
				}
				cw.Write(rec)
			} else {
				if n > 0 {
					bw.WriteString(",")
				}
				j, _ := json.Marshal(b)
				bw.WriteString("\n")
				bw.Write(j)
			}
			n++
		}
		if len(rows) < exportPage {
			break
		}
		q.BeforeID = rows[len(rows)-1].ID
		if rows, err = s.st.Bounty(r.Context(), q); err != nil {
			// The status line is sent; the truncated download is the only signal left.
			s.log.Error("bounty export failed midway", "err", err)
			return
		}
	}
	if cw != nil {
		cw.Flush()
	} else {
		bw.WriteString("\n]\n")
	}
}

func (t ts) String() string { return time.Time(t).UTC().Format(tsLayout) }
