package cli

import (
	"bufio"
	"encoding/base64"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/spf13/cobra"

	"decnet/internal/analysis"
	"decnet/internal/query"
	"decnet/internal/store"
)

func init() {
	register(newAttackersCmd)
	register(newAnalyzeCmd)
}

func newAnalyzeCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "analyze",
		Short: "Correlate stored events into attackers and profile them",
		Long: `Analyze runs the attacker intelligence worker: it reads stored events in order from its
cursor, groups them by attacker IP, and keeps the attackers table (first/last seen, events,
deckies in first-touch order and the traversal path, services, fingerprints, commands,
credentials) and each attacker's profile (timing, behaviour class with its evidence, OS guess,
tool guesses) up to date. It runs until Ctrl-C or SIGTERM; --once analyses what is stored and
exits. A restart continues where it stopped: nothing is lost or counted twice.

Examples:
  decnet analyze --once
  decnet analyze --db 'mysql://decnet:secret@tcp(db.example:3306)/decnet'`,
		Args: cobra.NoArgs,
	}
	var pf pipelineFlags
	pf.addDB(c)
	once := c.Flags().Bool("once", false, "analyse every stored event, then exit")
	batch := c.Flags().Int("batch-size", analysis.DefaultBatchSize, "events per database transaction (1-10000)")
	poll := c.Flags().Duration("poll-interval", analysis.DefaultPollInterval, "how often to look for new events")
	c.RunE = func(c *cobra.Command, _ []string) error {
		if *batch < 1 || *batch > store.MaxLimit {
			return usageErr(fmt.Errorf("--batch-size %d must be between 1 and %d", *batch, store.MaxLimit))
		}
		if *poll <= 0 {
			return usageErr(fmt.Errorf("--poll-interval %s must be positive", *poll))
		}
		log := slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
		var st store.Store
		var err error
		if *once {
			st, err = pf.openStore(c)
		} else {
			st, err = pf.openStoreWaiting(c.Context(), c, log)
		}
		if err != nil {
			if c.Context().Err() != nil {
				return nil
			}
			return err
		}
		defer st.Close()
		e := analysis.New(st, analysis.Options{BatchSize: *batch, PollInterval: *poll, Log: log})
		if *once {
			if err := e.CatchUp(c.Context()); err != nil {
				return err
			}
			s := e.Stats()
			fmt.Fprintf(c.OutOrStdout(), "analysed %d events into %d attacker updates; cursor at event %d\n", s.Events, s.Attackers, s.Cursor)
			return nil
		}
		return e.Run(c.Context())
	}
	return c
}

func newAttackersCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "attackers [ip|uuid]",
		Short: "List attackers, or show one attacker's path, profile, credentials and fingerprints",
		Long: `Attackers lists the attackers the analysis worker (` + "`decnet analyze`" + `, or ` + "`decnet run`" + `) has
correlated from the stored events: one row per source address with its first and last
sighting, event count, deckies touched, behaviour class and traversal path. With an IP
address or attacker UUID it shows that attacker in detail: the traversal path, the profile
(behaviour class and the evidence that decided it, OS guess, timing), tool guesses with their
evidence, the credentials harvested from it (bounty), its fingerprints and recent commands.

Everything an attacker controls is printed escaped (control characters and invalid UTF-8 as
\xHH). --json prints the same data as JSON.

Examples:
  decnet attackers
  decnet attackers --traversal --sort deckies
  decnet attackers --class brute_forcer --since 24h
  decnet attackers 10.47.0.66 --json`,
		Args: cobra.MaximumNArgs(1),
	}
	var pf pipelineFlags
	pf.addDB(c)
	asJSON := c.Flags().Bool("json", false, "print JSON")
	sortBy := c.Flags().String("sort", store.SortLastSeen, "list order: last_seen, first_seen, events or deckies (largest/newest first)")
	asc := c.Flags().Bool("asc", false, "sort ascending (oldest/smallest first)")
	limit := c.Flags().Int("limit", 100, "list at most this many attackers (1-10000)")
	offset := c.Flags().Int("offset", 0, "skip this many attackers of the list (paging)")
	decky := c.Flags().String("decky", "", "only attackers that touched this decky")
	service := c.Flags().String("service", "", "only attackers that touched this service")
	class := c.Flags().String("class", "", "only attackers of this behaviour class (scanner, brute_forcer, interactive, beacon, lateral_mover, unknown)")
	traversal := c.Flags().Bool("traversal", false, "only attackers that touched two or more deckies")
	since := c.Flags().String("since", "", "only attackers last seen at or after WHEN (RFC 3339, date, or duration back: 15m, 2h, 7d)")
	full := c.Flags().Bool("full", false, "print long values whole instead of cut")
	c.RunE = func(c *cobra.Command, args []string) error {
		switch *sortBy {
		case store.SortLastSeen, store.SortFirstSeen, store.SortEvents, store.SortDeckies:
		default:
			return usageErr(fmt.Errorf("--sort %q must be last_seen, first_seen, events or deckies", *sortBy))
		}
		if *limit < 1 || *limit > store.MaxLimit {
			return usageErr(fmt.Errorf("--limit %d must be between 1 and %d", *limit, store.MaxLimit))
		}
		if *offset < 0 {
			return usageErr(fmt.Errorf("--offset %d must not be negative", *offset))
		}
		q := store.AttackerQuery{Decky: *decky, Service: *service, BehaviorClass: *class, TraversalOnly: *traversal,
			Sort: *sortBy, Ascending: *asc, Limit: *limit, Offset: *offset}
		if *since != "" {
			lq, err := query.Parse("since:" + quoteTerm(*since))
			if err != nil {
				return usageErr(fmt.Errorf("--since: %w", err))
			}
			q.Since = lq.Since
		}
		st, err := pf.openStore(c)
		if err != nil {
			return err
		}
		defer st.Close()
		out := bufio.NewWriterSize(c.OutOrStdout(), 64<<10)
		defer out.Flush()
		if len(args) == 1 {
			return showAttacker(c, st, out, args[0], *asJSON, !*full)
		}
		list, err := st.Attackers(c.Context(), q)
		if err != nil {
			return fmt.Errorf("cannot list the attackers: %w", err)
		}
		if *asJSON {
			js := make([]attackerJSON, 0, len(list))
			for i := range list {
				js = append(js, toAttackerJSON(&list[i], nil))
			}
			return writeAttackersJSON(out, js)
		}
		total, err := st.CountAttackers(c.Context(), q)
		if err != nil {
			return fmt.Errorf("cannot count the attackers: %w", err)
		}
		return writeAttackerTable(out, list, total, *offset, !*full)
	}
	return c
}

// attackerJSON is the --json form of an attacker (the detail adds behavior and credentials).
type attackerJSON struct {
	UUID            string                      `json:"uuid"`
	IP              string                      `json:"ip"`
	FirstSeen       time.Time                   `json:"first_seen"`
	LastSeen        time.Time                   `json:"last_seen"`
	EventCount      int64                       `json:"event_count"`
	Deckies         []string                    `json:"deckies"`
	Services        []string                    `json:"services"`
	IsTraversal     bool                        `json:"is_traversal"`
	TraversalPath   string                      `json:"traversal_path"`
	BehaviorClass   string                      `json:"behavior_class"`
	OSGuess         string                      `json:"os_guess"`
	CommandCount    int64                       `json:"command_count"`
	CredentialCount int64                       `json:"credential_count"`
	Fingerprints    []store.AttackerFingerprint `json:"fingerprints,omitempty"`
	Commands        []store.AttackerCommand     `json:"commands,omitempty"`
	Credentials     []store.AttackerCredential  `json:"recent_credentials,omitempty"`
	Behavior        *behaviorJSON               `json:"behavior,omitempty"`
	Bounty          []bountyCredJSON            `json:"bounty_credentials,omitempty"`
	UpdatedAt       time.Time                   `json:"updated_at"`
}

type behaviorJSON struct {
	OSGuess       string            `json:"os_guess"`
	OSConfidence  float64           `json:"os_confidence"`
	BehaviorClass string            `json:"behavior_class"`
	ToolGuesses   []store.ToolGuess `json:"tool_guesses"`
	Timing        store.TimingStats `json:"timing_stats"`
	Phases        []store.Phase     `json:"phases"`
	Evidence      []string          `json:"evidence"`
	UpdatedAt     time.Time         `json:"updated_at"`
}

// bountyCredJSON is one credential from the bounty table: its payload as stored
// (username, password, secret_b64 with the exact bytes, secret_kind, …).
type bountyCredJSON struct {
	ID      int64           `json:"id"`
	Time    time.Time       `json:"time"`
	Decky   string          `json:"decky"`
	Service string          `json:"service"`
	Payload json.RawMessage `json:"payload"`
}

func toAttackerJSON(a *store.Attacker, b *store.Behavior) attackerJSON {
	j := attackerJSON{UUID: a.UUID, IP: a.IP, FirstSeen: a.FirstSeen, LastSeen: a.LastSeen, EventCount: a.EventCount,
		Deckies: a.Deckies, Services: a.Services, IsTraversal: a.IsTraversal, TraversalPath: a.TraversalPath,
		BehaviorClass: a.BehaviorClass, OSGuess: a.OSGuess, CommandCount: a.CommandCount, CredentialCount: a.CredentialCount,
		Fingerprints: a.Fingerprints, Commands: a.Commands, Credentials: a.Credentials, UpdatedAt: a.UpdatedAt}
	if j.Deckies == nil {
		j.Deckies = []string{}
	}
	if j.Services == nil {
		j.Services = []string{}
	}
	if b != nil {
		j.Behavior = &behaviorJSON{OSGuess: b.OSGuess, OSConfidence: b.OSConfidence, BehaviorClass: b.BehaviorClass,
			ToolGuesses: b.ToolGuesses, Timing: b.Timing, Phases: b.Phases, Evidence: b.Evidence, UpdatedAt: b.UpdatedAt}
	}
	return j
}

func writeAttackersJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

const timeFmt = "2006-01-02 15:04:05Z"

func writeAttackerTable(w io.Writer, list []store.Attacker, total int64, offset int, cut bool) error {
	if len(list) == 0 {
		msg := "no attackers match\n"
		if total == 0 && offset == 0 {
			msg = "no attackers match (the list fills as `decnet analyze` or `decnet run` analyses stored events)\n"
		}
		_, err := io.WriteString(w, msg)
		return err
	}
	tw := tabwriter.NewWriter(w, 2, 4, 2, ' ', 0)
	fmt.Fprintln(tw, "IP\tFIRST SEEN\tLAST SEEN\tEVENTS\tDECKIES\tCLASS\tTRAVERSAL")
	for _, a := range list {
		class := a.BehaviorClass
		if class == "" {
			class = "-"
		}
		path := "-"
		if a.IsTraversal {
			path = a.TraversalPath
		}
		fmt.Fprintf(tw, "%s\t%s\t%s\t%d\t%d\t%s\t%s\n", cell(a.IP, cut), a.FirstSeen.UTC().Format(timeFmt), a.LastSeen.UTC().Format(timeFmt),
			a.EventCount, len(a.Deckies), cell(class, cut), cell(path, cut))
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	_, err := fmt.Fprintf(w, "(%d-%d of %d attackers)\n", offset+1, offset+len(list), total)
	return err
}

func showAttacker(c *cobra.Command, st store.Store, w io.Writer, key string, asJSON, cut bool) error {
	ctx := c.Context()
	a, err := st.Attacker(ctx, key)
	if err != nil {
		return fmt.Errorf("cannot read attacker %s: %w", key, err)
	}
	if a == nil {
		return errors.New("no attacker " + key + " is stored (see `decnet attackers` for the list)")
	}
	b, err := st.Behavior(ctx, a.UUID)
	if err != nil {
		return fmt.Errorf("cannot read the profile of attacker %s: %w", key, err)
	}
	creds, err := st.Bounty(ctx, store.BountyQuery{Type: "credential", AttackerIP: a.IP, Limit: 200})
	if err != nil {
		return fmt.Errorf("cannot read the credentials of attacker %s: %w", key, err)
	}
	if asJSON {
		j := toAttackerJSON(a, b)
		for _, cr := range creds {
			j.Bounty = append(j.Bounty, bountyCredJSON{ID: cr.ID, Time: cr.Time, Decky: cr.Decky, Service: cr.Service, Payload: cr.Payload})
		}
		return writeAttackersJSON(w, j)
	}
	return writeAttackerDetail(w, a, b, creds, cut)
}

func writeAttackerDetail(w io.Writer, a *store.Attacker, b *store.Behavior, creds []store.BountyRow, cut bool) error {
	var s strings.Builder
	p := func(format string, args ...any) { fmt.Fprintf(&s, format, args...) }
	p("Attacker %s  (uuid %s)\n", cell(a.IP, cut), cell(a.UUID, cut))
	p("  first seen   %s\n  last seen    %s\n", a.FirstSeen.UTC().Format(timeFmt), a.LastSeen.UTC().Format(timeFmt))
	p("  events       %d  (%d commands, %d credential attempts)\n", a.EventCount, a.CommandCount, a.CredentialCount)
	if len(a.Deckies) == 0 {
		p("  deckies      none\n")
	} else {
		trav := ""
		if a.IsTraversal {
			trav = "  [traversal]"
		}
		p("  deckies      %d%s\n  path         %s\n", len(a.Deckies), trav, cell(a.TraversalPath, cut))
	}
	if len(a.Services) > 0 {
		p("  services     %s\n", cell(strings.Join(a.Services, ", "), cut))
	}
	p("\nProfile\n")
	if b == nil {
		p("  not profiled yet\n")
	} else {
		p("  class        %s\n", cell(b.BehaviorClass, cut))
		if b.OSGuess != "" {
			p("  os guess     %s (confidence %.2f)\n", cell(b.OSGuess, cut), b.OSConfidence)
		} else {
			p("  os guess     unknown\n")
		}
		tm := b.Timing
		p("  timing       %d events, interval mean %.3f s, median %.3f s, stdev %.3f s, cv %.2f; %d bursts (longest %d events); %.2f events/min\n",
			tm.Events, tm.MeanS, tm.MedianS, tm.StdevS, tm.CV, tm.Bursts, tm.LongestBurst, tm.EventsPerMin)
		if len(b.Phases) > 0 {
			p("  phases\n")
			for _, ph := range b.Phases {
				p("    %-18s %s .. %s  (%d events)\n", cell(ph.Name, cut), ph.First.UTC().Format(timeFmt), ph.Last.UTC().Format(timeFmt), ph.Events)
			}
		}
		if len(b.Evidence) > 0 {
			p("  evidence\n")
			for _, e := range b.Evidence {
				p("    - %s\n", cell(e, cut))
			}
		}
		p("\nTool guesses\n")
		if len(b.ToolGuesses) == 0 {
			p("  none\n")
		}
		for _, t := range b.ToolGuesses {
			p("  %-16s %.2f\n", cell(t.Tool, cut), t.Confidence)
			for _, e := range t.Evidence {
				p("    - %s\n", cell(e, cut))
			}
		}
	}
	p("\nCredentials (bounty: %d)\n", len(creds))
	for _, cr := range creds {
		var pl map[string]string
		_ = json.Unmarshal(cr.Payload, &pl)
		secret := pl["password"]
		if secret == "" {
			if raw, err := base64.StdEncoding.DecodeString(pl["secret_b64"]); err == nil {
				secret = string(raw)
			}
		}
		kind := pl["secret_kind"]
		if kind == "" {
			kind = "plaintext"
		}
		p("  %s  %s  %s  %s : %s  [%s]\n", cr.Time.UTC().Format(timeFmt), cell(cr.Decky, cut), cell(cr.Service, cut),
			quoteCell(pl["username"], cut), quoteCell(secret, cut), cell(kind, cut))
	}
	p("\nFingerprints (%d)\n", len(a.Fingerprints))
	for _, f := range a.Fingerprints {
		p("  %-14s %s  (%s on %s, %d×, %s .. %s)\n", cell(f.Kind, cut), quoteCell(f.Value, cut), cell(f.Service, cut), cell(f.Decky, cut),
			f.Count, f.FirstSeen.UTC().Format(timeFmt), f.LastSeen.UTC().Format(timeFmt))
	}
	p("\nCommands (%d, the last %d shown)\n", a.CommandCount, len(a.Commands))
	for _, cmd := range a.Commands {
		user := cmd.Username
		if user == "" {
			user = "?"
		}
		p("  %s  %s  %s  %s$ %s\n", cmd.Time.UTC().Format(timeFmt), cell(cmd.Decky, cut), cell(cmd.Service, cut), cell(user, cut), cell(cmd.Command, cut))
	}
	_, err := io.WriteString(w, s.String())
	return err
}
