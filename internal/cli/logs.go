package cli

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"fmt"
	"io"
	"sort"
	"strconv"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/spf13/cobra"

	"decnet/internal/event"
	"decnet/internal/query"
	"decnet/internal/store"
)

func init() { register(newLogsCmd) }

// logsPoll is how often `logs --follow` asks the database for new events.
const logsPoll = 500 * time.Millisecond

func newLogsCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "logs [query…]",
		Short: "Search and follow stored events",
		Long: `Logs prints stored events that match a search query, oldest first: the newest --limit
matches, then (with --follow) every new match as it is stored.

Query syntax (all terms must match):
  decky:NAME  service:SLUG  event:TYPE  attacker:IP  since:WHEN  until:WHEN
  KEY:VALUE (a field equals VALUE)   word or "free text" (contained in the message,
  raw line or a field). WHEN is RFC 3339, a date, or a duration back from now (15m, 2h, 7d).
Each argument is one term: an argument with spaces is searched as one phrase
(user_agent:'curl 8.5' as one field value), unless it holds a quoted query itself.

Everything an attacker controls is printed escaped: control characters, invalid UTF-8
and bidirectional controls appear as \xHH and a backslash as \\ (the query syntax reads
the same escapes, so printed text can be searched). Long values are cut unless --full.
--json prints one JSON object per line with every byte: values that are not valid UTF-8
are in fields_b64 / msg_b64 (base64) instead of fields / msg.

Examples:
  decnet logs service:ssh event:auth
  decnet logs attacker:10.0.0.7 since:1h --follow
  decnet logs password:hunter2 --json`,
	}
	var pf pipelineFlags
	pf.addDB(c)
	since := c.Flags().String("since", "", "only events at or after WHEN (RFC 3339, date, or duration back: 15m, 2h, 7d)")
	until := c.Flags().String("until", "", "only events before WHEN")
	limit := c.Flags().Int("limit", 100, "print at most this many (the newest) matching events (max 10000)")
	follow := c.Flags().BoolP("follow", "f", false, "keep printing new matching events as they are stored")
	asJSON := c.Flags().Bool("json", false, "one JSON object per line")
	full := c.Flags().Bool("full", false, "print long values whole instead of cut")
	c.RunE = func(c *cobra.Command, args []string) error {
		if *limit < 1 || *limit > 10000 {
			return usageErr(fmt.Errorf("--limit %d must be between 1 and 10000", *limit))
		}
		text := logsQueryText(args)
		if *since != "" {
			text += " since:" + quoteTerm(*since)
		}
		if *until != "" {
			text += " until:" + quoteTerm(*until)
		}
		q, err := query.Parse(text)
		if err != nil {
			return usageErr(err)
		}
		st, err := pf.openStore(c)
		if err != nil {
			return err
		}
		defer st.Close()

		out := bufio.NewWriterSize(c.OutOrStdout(), 64<<10)
		defer out.Flush()
		print := func(r *store.LogRow) error {
			if *asJSON {
				return writeLogJSON(out, r)
			}
			return writeLogLine(out, r, !*full)
		}

		q.Limit = *limit
		q.Ascending = false
		rows, err := st.Logs(c.Context(), q)
		if err != nil {
			return fmt.Errorf("cannot query the events: %w", err)
		}
		last := q.AfterID
		for i := len(rows) - 1; i >= 0; i-- {
			if err := print(&rows[i]); err != nil {
				return err
			}
		}
		if len(rows) > 0 {
			last = rows[0].ID
		}
		if err := out.Flush(); err != nil || !*follow {
			return err
		}

		// Follow: poll the database by id. (A separate process cannot use the
		// in-process bus; the API's live stream does.)
		q.Ascending = true
		q.Limit = 1000
		tick := time.NewTicker(logsPoll)
		defer tick.Stop()
		failing := false
		for {
			q.AfterID = last
			rows, err := st.Logs(c.Context(), q)
			switch {
			case c.Context().Err() != nil:
				return nil
			case err != nil:
				if !failing {
					fmt.Fprintln(c.ErrOrStderr(), "decnet: "+event.SafeTerminal("cannot query new events (retrying): "+err.Error()))
				}
				failing = true
			default:
				failing = false
				for i := range rows {
					if err := print(&rows[i]); err != nil {
						return err
					}
					last = rows[i].ID
				}
				if err := out.Flush(); err != nil {
					return err
				}
				if len(rows) == q.Limit {
					continue // more are waiting
				}
			}
			select {
			case <-c.Context().Done():
				return nil
			case <-tick.C:
			}
		}
	}
	return c
}

// logsQueryText joins the arguments into one query: each argument is one term, so an
// argument with white space (its shell quotes already removed) is quoted again —
// as a whole phrase, or as the value of KEY:VALUE — unless it holds quotes itself
// (the user wrote query syntax).
func logsQueryText(args []string) string {
	terms := make([]string, 0, len(args))
	for _, a := range args {
		if !strings.ContainsAny(a, " \t\r\n\f\v") || strings.Contains(a, `"`) {
			terms = append(terms, a)
			continue
		}
		if k, v, ok := strings.Cut(a, ":"); ok && k != "" && !strings.ContainsAny(k, " \t\r\n\f\v") {
			terms = append(terms, k+":"+quoteTerm(v))
			continue
		}
		terms = append(terms, quoteTerm(a))
	}
	return strings.Join(terms, " ")
}

// quoteTerm quotes v for the query syntax (`"` → `\"`; backslashes are kept, so the
// escapes printed by logs can be pasted back).
func quoteTerm(v string) string {
	v = strings.ReplaceAll(v, `"`, `\"`)
	if strings.HasSuffix(v, `\`) && !strings.HasSuffix(v, `\\`) {
		v = v[:len(v)-1] + `\x5c` // a lone final backslash would escape the closing quote
	}
	return `"` + v + `"`
}

// maxCell is how many bytes of one value the line output prints without --full.
const maxCell = 256

// writeLogLine prints one event as one line of text. Every attacker-controlled string
// goes through event.SafeTerminal, so no control character reaches the terminal.
func writeLogLine(w io.Writer, r *store.LogRow, cut bool) error {
	var b strings.Builder
	b.WriteString(r.Time.UTC().Format("2006-01-02T15:04:05.000000Z"))
	b.WriteString("  #")
	b.WriteString(strconv.FormatInt(r.ID, 10))
	b.WriteString("  ")
	b.WriteString(cell(r.Decky, cut))
	b.WriteString("  ")
	b.WriteString(cell(r.Service, cut))
	b.WriteString("  ")
	b.WriteString(cell(r.Type, cut))
	b.WriteString("  ")
	if r.AttackerIP == "" {
		b.WriteString("-")
	} else {
		b.WriteString(cell(r.AttackerIP, cut))
		if r.AttackerPort != 0 {
			b.WriteString(":" + strconv.Itoa(r.AttackerPort))
		}
	}
	keys := make([]string, 0, len(r.Fields))
	for k := range r.Fields {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	for _, k := range keys {
		b.WriteString("  ")
		b.WriteString(cell(k, cut))
		b.WriteByte('=')
		b.WriteString(quoteCell(r.Fields[k], cut))
	}
	if r.Msg != "" {
		b.WriteString("  msg=")
		b.WriteString(quoteCell(r.Msg, cut))
	}
	b.WriteByte('\n')
	_, err := io.WriteString(w, b.String())
	return err
}

// cell is s made safe for a terminal, cut to maxCell bytes (noting how much was cut).
func cell(s string, cut bool) string {
	if cut && len(s) > maxCell {
		return event.SafeTerminal(s[:maxCell]) + fmt.Sprintf("…(+%d bytes)", len(s)-maxCell)
	}
	return event.SafeTerminal(s)
}

// quoteCell is cell, in quotes (`"` as `\"`) when the value is empty or holds a
// space or a quote, so a line splits unambiguously and pastes into a query.
func quoteCell(s string, cut bool) string {
	c := cell(s, cut)
	if s == "" || strings.ContainsAny(c, " \"") {
		return quoteTerm(c)
	}
	return c
}

// logJSON is the --json form of one event.
type logJSON struct {
	ID           int64             `json:"id"`
	EventID      string            `json:"event_id"`
	Timestamp    time.Time         `json:"timestamp"`
	Decky        string            `json:"decky"`
	Service      string            `json:"service"`
	EventType    string            `json:"event_type"`
	AttackerIP   string            `json:"attacker_ip"`
	AttackerPort int               `json:"attacker_port,omitempty"`
	Fields       map[string]string `json:"fields"`
	FieldsB64    map[string]string `json:"fields_b64,omitempty"` // values that are not valid UTF-8, base64
	Msg          string            `json:"msg,omitempty"`
	MsgB64       string            `json:"msg_b64,omitempty"`
	RawLine      string            `json:"raw_line"`
}

// writeLogJSON prints one event as one JSON line. JSON strings cannot carry invalid
// UTF-8 (encoding/json would replace it), so such values move to the *_b64 members
// and every byte survives.
func writeLogJSON(w io.Writer, r *store.LogRow) error {
	j := logJSON{ID: r.ID, EventID: r.Event.ID, Timestamp: r.Time, Decky: r.Decky, Service: r.Service, EventType: r.Type,
		AttackerIP: r.AttackerIP, AttackerPort: r.AttackerPort, Fields: map[string]string{}, RawLine: r.RawLine}
	for k, v := range r.Fields {
		if utf8.ValidString(k) && utf8.ValidString(v) {
			j.Fields[k] = v
			continue
		}
		if j.FieldsB64 == nil {
			j.FieldsB64 = map[string]string{}
		}
		// A key that is not valid UTF-8 cannot be a JSON key either: it is encoded too.
		key := k
		if !utf8.ValidString(k) {
			key = "b64:" + base64.StdEncoding.EncodeToString([]byte(k))
		}
		j.FieldsB64[key] = base64.StdEncoding.EncodeToString([]byte(v))
	}
	if utf8.ValidString(r.Msg) {
		j.Msg = r.Msg
	} else {
		j.MsgB64 = base64.StdEncoding.EncodeToString([]byte(r.Msg))
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(j)
}
