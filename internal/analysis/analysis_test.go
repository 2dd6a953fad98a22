package analysis

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/store"
	"decnet/internal/store/storetest"
)

var t0 = time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)

// gen builds synthetic events with unique ids.
type gen struct {
	n    int
	recs []store.Record
}

func (g *gen) add(ip, decky, service, typ string, at time.Time, kv ...string) {
	f := map[string]string{}
	for i := 0; i+1 < len(kv); i += 2 {
		f[kv[i]] = kv[i+1]
	}
	g.n++
	e := event.Event{ID: fmt.Sprintf("ev-%06d", g.n), Time: at, Decky: decky, Service: service, Type: typ,
		AttackerIP: ip, AttackerPort: 40000 + g.n%20000, Fields: f}
	line, _ := event.Format(e) // a value the wire form refuses (hostile tests) is stored without a raw line
	g.recs = append(g.recs, store.Record{Event: e, RawLine: string(line)})
}

func openStore(t *testing.T, dsn string) store.Store {
	t.Helper()
	st, err := store.Open(context.Background(), dsn)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { st.Close() })
	return st
}

func ingest(t *testing.T, st store.Store, recs []store.Record) {
	t.Helper()
	for len(recs) > 0 {
		n := min(len(recs), 500)
		if _, err := st.Ingest(context.Background(), store.Batch{Records: recs[:n]}); err != nil {
			t.Fatal(err)
		}
		recs = recs[n:]
	}
}

func catchUp(t *testing.T, st store.Store, opt Options) *Engine {
	t.Helper()
	e := New(st, opt)
	if err := e.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	return e
}

func profileOf(t *testing.T, st store.Store, ip string) (*store.Attacker, *store.Behavior) {
	t.Helper()
	a, err := st.Attacker(context.Background(), ip)
	if err != nil || a == nil {
		t.Fatalf("attacker %s: %v, %v", ip, a, err)
	}
	b, err := st.Behavior(context.Background(), a.UUID)
	if err != nil || b == nil {
		t.Fatalf("behavior of %s: %v, %v", ip, b, err)
	}
	return a, b
}

func tool(b *store.Behavior, name string) (store.ToolGuess, bool) {
	for _, g := range b.ToolGuesses {
		if g.Tool == name {
			return g, true
		}
	}
	return store.ToolGuess{}, false
}

// scenarios writes one synthetic attacker per behaviour and tool.
func scenarios(g *gen) {
	at := func(s float64) time.Time { return t0.Add(time.Duration(s * float64(time.Second))) }

	// nmap -sS sweep seen by the sniffer: SYNs with nmap's measured signature, then a scan event.
	for i := 0; i < 30; i++ {
		g.add("10.0.1.1", "decky-01", "sniffer", event.Fingerprint, at(float64(i)*0.01), "fp_kind", "tcp_syn",
			"ttl", fmt.Sprint(37+i%23), "window", "1024", "mss", "1460", "options", "mss", "df", "0", "ip_len", "44", "dst_port", fmt.Sprint(1+i))
	}
	g.add("10.0.1.1", "decky-01", "sniffer", event.Scan, at(1), "port_count", "1000", "ports", "1,2,3,4,5,6,7,8,9,10,11,12", "deckies", "1", "syn_only", "true", "window_s", "60")

	// masscan: TTL 255, window 1024, no options.
	for i := 0; i < 12; i++ {
		g.add("10.0.1.2", fmt.Sprintf("decky-%02d", 1+i%3), "sniffer", event.Fingerprint, at(float64(i)*0.001), "fp_kind", "tcp_syn",
			"ttl", "255", "window", "1024", "options", "", "df", "0", "ip_len", "40", "dst_port", fmt.Sprint(80+i))
	}
	g.add("10.0.1.2", "decky-01", "sniffer", event.Scan, at(0.5), "port_count", "12", "ports", "80,81,82,83,84,85,86,87,88,89,90,91", "deckies", "3", "syn_only", "true")

	// zmap: window 65535, IP ID 54321.
	g.add("10.0.1.3", "decky-02", "sniffer", event.Fingerprint, at(0), "fp_kind", "tcp_syn", "ttl", "250", "window", "65535", "options", "", "ip_id", "54321", "dst_port", "443")

	// nmap -sV against services: connections to many services, nmap's HTTP probe path.
	for i, svc := range []string{"ssh", "http", "ftp", "smtp", "mysql"} {
		g.add("10.0.1.4", "decky-01", svc, event.Connect, at(float64(i)*0.2), "port", fmt.Sprint(20+i))
	}
	g.add("10.0.1.4", "decky-01", "http", event.Request, at(1.1), "method", "GET", "path", "/nice%20ports%2C/Tri%6Eity.txt%2ebak", "status", "404")

	// hydra against ssh: libssh client, 30 failed passwords 0.2 s apart.
	for i := 0; i < 30; i++ {
		g.add("10.0.2.1", "decky-01", "ssh", event.Auth, at(float64(i)*0.2), "username", "root", "password", fmt.Sprintf("pass%d", i),
			"outcome", "failure", "client_version", "SSH-2.0-libssh_0.10.6", "method", "password")
	}

	// medusa: libssh2, failed logins.
	for i := 0; i < 12; i++ {
		g.add("10.0.2.2", "decky-01", "ssh", event.Auth, at(float64(i)*0.3), "username", fmt.Sprintf("u%d", i), "password", "123456",
			"outcome", "failure", "client_version", "SSH-2.0-libssh2_1.10.0")
	}

	// An interactive person: OpenSSH, logs in, types commands with irregular pauses.
	g.add("10.0.3.1", "decky-01", "ssh", event.Connect, at(0), "port", "22")
	g.add("10.0.3.1", "decky-01", "ssh", event.Fingerprint, at(0.1), "client_version", "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", "hassh", "aae6b9604f6f3356543709a376d7f657")
	g.add("10.0.3.1", "decky-01", "ssh", event.Auth, at(4), "username", "admin", "password", "admin", "outcome", "success")
	s := 6.0
	for i, pause := range []float64{3.2, 7.9, 2.1, 15.4, 4.4, 9.8} {
		s += pause
		g.add("10.0.3.1", "decky-01", "ssh", event.Command, at(s), "command", []string{"id", "uname -a", "ls -la", "cat /etc/passwd", "w", "exit"}[i], "username", "admin")
	}

	// A beacon: every 60 s a short connect/auth/disconnect.
	for i := 0; i < 8; i++ {
		b := float64(i)*60 + float64(i%2)*0.3
		g.add("10.0.4.1", "decky-02", "telnet", event.Connect, at(b), "port", "23")
		g.add("10.0.4.1", "decky-02", "telnet", event.Auth, at(b+0.1), "username", "admin", "password", "admin", "outcome", "failure")
		g.add("10.0.4.1", "decky-02", "telnet", event.Disconnect, at(b+0.2), "port", "23")
	}

	// A lateral mover: in on decky-a, then decky-b and decky-c.
	g.add("10.0.5.1", "decky-a", "ssh", event.Auth, at(0), "username", "root", "password", "toor", "outcome", "success")
	g.add("10.0.5.1", "decky-a", "ssh", event.Command, at(5), "command", "ssh root@decky-b")
	g.add("10.0.5.1", "decky-b", "ssh", event.Connect, at(30), "port", "22")
	g.add("10.0.5.1", "decky-b", "ssh", event.Auth, at(31), "username", "root", "password", "toor", "outcome", "success")
	g.add("10.0.5.1", "decky-c", "mysql", event.Auth, at(90), "username", "root", "password", "toor", "outcome", "failure")

	// OS from passive SYNs.
	g.add("10.0.6.1", "decky-01", "sniffer", event.Fingerprint, at(0), "fp_kind", "tcp_syn", "ttl", "61", "window", "64240", "mss", "1460", "wscale", "7", "options", "mss,sok,ts,nop,ws", "df", "1", "dst_port", "22")
	g.add("10.0.6.2", "decky-01", "sniffer", event.Fingerprint, at(0), "fp_kind", "tcp_syn", "ttl", "120", "window", "64240", "mss", "1460", "wscale", "8", "options", "mss,nop,ws,nop,nop,sok", "df", "1", "dst_port", "445")
	g.add("10.0.6.3", "decky-01", "sniffer", event.Fingerprint, at(0), "fp_kind", "tcp_syn", "ttl", "63", "window", "65535", "mss", "1460", "wscale", "6", "options", "mss,nop,ws,nop,nop,ts,sok,eol+1", "df", "1", "dst_port", "22")
	g.add("10.0.6.4", "decky-01", "sniffer", event.Fingerprint, at(0), "fp_kind", "tcp_syn", "ttl", "64", "window", "65535", "mss", "1460", "wscale", "6", "options", "mss,nop,ws,sok,ts", "df", "1", "dst_port", "22")

	// HTTP clients by user agent and path.
	for i, ua := range []string{"curl/7.88.1", "python-requests/2.31.0", "Go-http-client/1.1", "sqlmap/1.7.2#stable (https://sqlmap.org)",
		"Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:000001)", "gobuster/3.6"} {
		g.add(fmt.Sprintf("10.0.7.%d", i+1), "decky-03", "http", event.Request, at(0), "method", "GET", "path", "/", "user_agent", ua, "status", "200")
	}
	g.add("10.0.7.10", "decky-03", "http", event.Request, at(0), "method", "GET", "path", "/item.php?id=1%20UNION%20ALL%20SELECT%20NULL,NULL--", "status", "200")
	for i := 0; i < 60; i++ {
		g.add("10.0.7.11", "decky-03", "http", event.Request, at(float64(i)*0.05), "method", "GET", "path", fmt.Sprintf("/dir%d", i), "status", "404", "user_agent", "Mozilla/5.0")
	}
	// SSH client libraries.
	for i, v := range []string{"SSH-2.0-paramiko_2.12.0", "SSH-2.0-Go", "SSH-2.0-Ruby/Net::SSH_7.2.0 x86_64-linux"} {
		g.add(fmt.Sprintf("10.0.8.%d", i+1), "decky-01", "ssh", event.Fingerprint, at(0), "client_version", v)
	}
	// The same attacker seen through the sniffer's TLS and SSH client fingerprints.
	g.add("10.0.9.1", "decky-01", "sniffer", event.Fingerprint, at(0), "fp_kind", "tls_client", "ja3", "e7d705a3286e19ea42f587b344ee6865", "ja4", "t13d1516h2_8daaf6152771_02713d6af862", "dst_port", "443")
	g.add("10.0.9.1", "decky-01", "sniffer", event.Fingerprint, at(0.1), "fp_kind", "tls_server", "ja3s", "decky-own", "dst_port", "443")
	// curl known only from its JA4 (measured, see tlsClientTable).
	g.add("10.0.9.2", "decky-01", "sniffer", event.Fingerprint, at(0), "fp_kind", "tls_client", "ja4", "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6", "sni", "decky-01.corp", "dst_port", "443")
}

func TestScenarios(t *testing.T) {
	for _, c := range []struct {
		name  string
		fresh func(testing.TB) string
	}{{"SQLite", storetest.SQLiteDSN}, {"MariaDB", storetest.MySQLDSN}} {
		t.Run(c.name, func(t *testing.T) {
			st := openStore(t, c.fresh(t))
			var g gen
			scenarios(&g)
			ingest(t, st, g.recs)
			catchUp(t, st, Options{BatchSize: 37})
			checkScenarios(t, st)
		})
	}
}

func checkScenarios(t *testing.T, st store.Store) {
	cases := []struct {
		ip       string
		class    string
		tool     string
		minConf  float64
		os       string
		deckies  int
		evidence string
	}{
		{ip: "10.0.1.1", class: ClassScanner, tool: "nmap", minConf: 0.9, evidence: "scan events"},
		{ip: "10.0.1.2", class: ClassScanner, tool: "masscan", minConf: 0.9, deckies: 3},
		{ip: "10.0.1.3", tool: "zmap", minConf: 0.9},
		{ip: "10.0.1.4", class: ClassScanner, tool: "nmap", minConf: 0.9, evidence: "probed 5 services"},
		{ip: "10.0.2.1", class: ClassBruteForcer, tool: "hydra", minConf: 0.85, evidence: "30 login attempts, 30 failed"},
		{ip: "10.0.2.1", tool: "libssh", minConf: 0.9},
		{ip: "10.0.2.2", class: ClassBruteForcer, tool: "medusa", minConf: 0.7},
		{ip: "10.0.3.1", class: ClassInteractive, tool: "openssh", minConf: 0.6, os: "Linux", evidence: "human pauses"},
		{ip: "10.0.4.1", class: ClassBeacon, evidence: "every 60."},
		{ip: "10.0.5.1", class: ClassLateral, deckies: 3, evidence: "got in on decky-a"},
		{ip: "10.0.6.1", os: "Linux"},
		{ip: "10.0.6.2", os: "Windows"},
		{ip: "10.0.6.3", os: "macOS"},
		{ip: "10.0.6.4", os: "FreeBSD"},
		{ip: "10.0.7.1", tool: "curl", minConf: 0.9},
		{ip: "10.0.7.2", tool: "python-requests", minConf: 0.9},
		{ip: "10.0.7.3", tool: "go-http-client", minConf: 0.9},
		{ip: "10.0.7.4", tool: "sqlmap", minConf: 0.95},
		{ip: "10.0.7.5", tool: "nikto", minConf: 0.95},
		{ip: "10.0.7.6", tool: "gobuster", minConf: 0.95},
		{ip: "10.0.7.10", tool: "sqlmap", minConf: 0.5},
		{ip: "10.0.7.11", tool: "gobuster", minConf: 0.3},
		{ip: "10.0.8.1", tool: "paramiko", minConf: 0.9},
		{ip: "10.0.8.2", tool: "go-ssh", minConf: 0.9},
		{ip: "10.0.8.3", tool: "metasploit", minConf: 0.6},
		{ip: "10.0.9.2", tool: "curl", minConf: 0.75},
	}
	for _, c := range cases {
		a, b := profileOf(t, st, c.ip)
		if c.class != "" && b.BehaviorClass != c.class {
			t.Errorf("%s: class %q, want %q; evidence %q", c.ip, b.BehaviorClass, c.class, b.Evidence)
		}
		if c.tool != "" {
			g, ok := tool(b, c.tool)
			if !ok || g.Confidence < c.minConf || len(g.Evidence) == 0 {
				t.Errorf("%s: tool %s = %+v (found %v), want confidence ≥ %.2f with evidence; all %+v", c.ip, c.tool, g, ok, c.minConf, b.ToolGuesses)
			}
		}
		if c.os != "" && b.OSGuess != c.os {
			t.Errorf("%s: os %q (%.2f), want %q; evidence %q", c.ip, b.OSGuess, b.OSConfidence, c.os, b.Evidence)
		}
		if c.deckies != 0 && len(a.Deckies) != c.deckies {
			t.Errorf("%s: deckies %v, want %d", c.ip, a.Deckies, c.deckies)
		}
		if c.evidence != "" && !strings.Contains(strings.Join(b.Evidence, "\n"), c.evidence) {
			t.Errorf("%s: evidence %q lacks %q", c.ip, b.Evidence, c.evidence)
		}
	}
	// Details of some.
	a, b := profileOf(t, st, "10.0.5.1")
	if a.TraversalPath != "decky-a -> decky-b -> decky-c" || !a.IsTraversal || a.EventCount != 5 || a.CommandCount != 1 || a.CredentialCount != 3 {
		t.Errorf("lateral mover row: %+v", a)
	}
	if !reflect.DeepEqual(a.Services, []string{"ssh", "mysql"}) {
		t.Errorf("lateral mover services %v", a.Services)
	}
	var phases []string
	for _, p := range b.Phases {
		phases = append(phases, p.Name)
	}
	if !reflect.DeepEqual(phases, []string{PhaseAccess, PhaseExecution, PhaseLateral, PhaseRecon}) {
		t.Errorf("lateral mover phases %v", phases)
	}
	a, b = profileOf(t, st, "10.0.2.1")
	if a.CredentialCount != 30 || len(a.Credentials) != 30 || a.Credentials[29].Secret != "pass29" || a.IsTraversal {
		t.Errorf("hydra row: %d credentials %+v", a.CredentialCount, a.Credentials)
	}
	if b.Timing.Events != 30 || b.Timing.Intervals != 29 || b.Timing.MedianS != 0.2 || b.Timing.Bursts != 1 || b.Timing.LongestBurst != 30 {
		t.Errorf("hydra timing %+v", b.Timing)
	}
	a, _ = profileOf(t, st, "10.0.3.1")
	if a.CommandCount != 6 || a.Commands[1].Command != "uname -a" {
		t.Errorf("interactive commands %+v", a.Commands)
	}
	a, b = profileOf(t, st, "10.0.1.1")
	if a.EventCount != 31 || len(a.Services) != 0 || len(a.Deckies) != 1 {
		t.Errorf("nmap sniffer row: %+v", a)
	}
	if b.OSGuess != "" {
		t.Errorf("crafted nmap probes gave an OS guess %q", b.OSGuess)
	}
	a, _ = profileOf(t, st, "10.0.9.1")
	var kinds []string
	for _, f := range a.Fingerprints {
		kinds = append(kinds, f.Kind+"="+f.Value)
	}
	if !reflect.DeepEqual(kinds, []string{"ja3=e7d705a3286e19ea42f587b344ee6865", "ja4=t13d1516h2_8daaf6152771_02713d6af862"}) {
		t.Errorf("fingerprints %v (the decky's own ja3s must not count)", kinds)
	}
}

// Two engines one after the other over the same store (a restart in the middle)
// give exactly what one engine gives over all events: counts, paths, lists and
// statistics continue instead of restarting.
func TestRestartContinues(t *testing.T) {
	for _, c := range []struct {
		name  string
		fresh func(testing.TB) string
	}{{"SQLite", storetest.SQLiteDSN}, {"MariaDB", storetest.MySQLDSN}} {
		t.Run(c.name, func(t *testing.T) {
			var g gen
			scenarios(&g)
			// A traversal split across the restart.
			g.add("10.0.5.9", "decky-x", "ssh", event.Auth, t0, "username", "a", "password", "b", "outcome", "success")
			half := len(g.recs) / 2
			g.add("10.0.5.9", "decky-y", "ssh", event.Command, t0.Add(time.Minute), "command", "whoami")
			var g2 gen
			g2.n = g.n
			g2.add("10.0.5.9", "decky-z", "ftp", event.Connect, t0.Add(2*time.Minute))

			fresh := c.fresh
			st := openStore(t, fresh(t))
			ingest(t, st, g.recs[:half])
			catchUp(t, st, Options{BatchSize: 50})
			ingest(t, st, g.recs[half:])
			ingest(t, st, g2.recs)
			catchUp(t, st, Options{BatchSize: 50}) // a new engine: resumes from the rows
			got := snapshot(t, st)

			var ref map[string]string
			if c.name == "SQLite" {
				st2 := openStore(t, fresh(t))
				ingest(t, st2, append(append([]store.Record{}, g.recs...), g2.recs...))
				catchUp(t, st2, Options{BatchSize: 50})
				ref = snapshot(t, st2)
			} else {
				// One MariaDB test database at a time: compare with SQLite.
				st2 := openStore(t, storetest.SQLiteDSN(t))
				ingest(t, st2, append(append([]store.Record{}, g.recs...), g2.recs...))
				catchUp(t, st2, Options{BatchSize: 50})
				ref = snapshot(t, st2)
			}
			if len(got) != len(ref) {
				t.Fatalf("%d attackers after a restart, %d without", len(got), len(ref))
			}
			for ip, w := range ref {
				if got[ip] != w {
					t.Errorf("attacker %s differs after a restart:\n got %s\nwant %s", ip, got[ip], w)
				}
			}
			a, _ := profileOf(t, st, "10.0.5.9")
			if a.TraversalPath != "decky-x -> decky-y -> decky-z" || a.EventCount != 3 {
				t.Errorf("path across the restart: %q, %d events", a.TraversalPath, a.EventCount)
			}
			// Replaying from the start (a lost cursor) doubles nothing.
			if err := st.SetCursor(context.Background(), CursorName, "0"); err != nil {
				t.Fatal(err)
			}
			catchUp(t, st, Options{})
			again := snapshot(t, st)
			for ip, w := range got {
				if again[ip] != w {
					t.Errorf("attacker %s changed after a replay:\n got %s\nwant %s", ip, again[ip], w)
				}
			}
		})
	}
}

// snapshot renders every attacker and profile without ids and times of writing.
func snapshot(t *testing.T, st store.Store) map[string]string {
	t.Helper()
	ctx := context.Background()
	list, err := st.Attackers(ctx, store.AttackerQuery{Limit: store.MaxLimit})
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]string{}
	for _, l := range list {
		a, b := profileOf(t, st, l.IP)
		a.UUID, a.UpdatedAt, b.AttackerUUID, b.UpdatedAt = "", time.Time{}, "", time.Time{}
		var s state
		if err := json.Unmarshal(a.AnalysisState, &s); err != nil {
			t.Fatal(err)
		}
		s.LastLogID = 0
		a.AnalysisState = nil
		j, _ := json.Marshal(struct {
			A *store.Attacker
			B *store.Behavior
			S state
		}{a, b, s})
		out[l.IP] = string(j)
	}
	return out
}

// failingStore is the real store with SaveAnalysis failing on demand.
type failingStore struct {
	store.Store
	fail atomic.Int32
}

func (f *failingStore) SaveAnalysis(ctx context.Context, b store.AnalysisBatch) error {
	if f.fail.Add(-1) >= 0 {
		return errors.New("injected failure")
	}
	return f.Store.SaveAnalysis(ctx, b)
}

// A batch that fails to commit is analysed again from the stored rows: nothing is
// counted twice.
func TestFailedSaveRetries(t *testing.T) {
	st := openStore(t, storetest.SQLiteDSN(t))
	var g gen
	for i := 0; i < 40; i++ {
		g.add("10.0.2.1", fmt.Sprintf("decky-%d", i%2), "ssh", event.Auth, t0.Add(time.Duration(i)*time.Second), "username", "root", "password", fmt.Sprint(i), "outcome", "failure")
	}
	ingest(t, st, g.recs)
	fs := &failingStore{Store: st}
	e := New(fs, Options{BatchSize: 10})
	if _, err := e.Step(context.Background()); err != nil {
		t.Fatal(err)
	}
	fs.fail.Store(1)
	if _, err := e.Step(context.Background()); err == nil {
		t.Fatal("the injected failure was not reported")
	}
	if err := e.CatchUp(context.Background()); err != nil {
		t.Fatal(err)
	}
	a, b := profileOf(t, st, "10.0.2.1")
	if a.EventCount != 40 || a.CredentialCount != 40 || b.Timing.Events != 40 || a.TraversalPath != "decky-0 -> decky-1" {
		t.Fatalf("after a failed save: %d events, %d credentials, timing %d, path %q", a.EventCount, a.CredentialCount, b.Timing.Events, a.TraversalPath)
	}
	if s := e.Stats(); s.Events != 40 || s.Cursor == 0 {
		t.Fatalf("stats %+v", s)
	}
}

// Events that arrive out of time order (several spools) still give the path in
// first-touch time order.
func TestPathInTimeOrder(t *testing.T) {
	st := openStore(t, storetest.SQLiteDSN(t))
	var g gen
	g.add("10.0.0.7", "decky-b", "ssh", event.Connect, t0.Add(10*time.Second))
	g.add("10.0.0.7", "decky-c", "ssh", event.Connect, t0.Add(20*time.Second))
	g.add("10.0.0.7", "decky-a", "sniffer", event.Fingerprint, t0, "fp_kind", "tcp_syn", "ttl", "64", "window", "64240", "options", "mss,sok,ts,nop,ws")
	g.add("10.0.0.7", "decky-c", "sniffer", event.Fingerprint, t0.Add(5*time.Second), "fp_kind", "tcp_syn", "ttl", "64", "window", "64240", "options", "mss,sok,ts,nop,ws")
	g.add("::ffff:10.0.0.7", "decky-b", "http", event.Request, t0.Add(30*time.Second), "path", "/")
	g.add("10.0.0.8", "prober", "prober", event.Fingerprint, t0, "fp_kind", "jarm", "jarm", "27d40d40d29d40d1dc42d43d00041d4689ee210389f4f6b4b5b1b93f92252d")
	ingest(t, st, g.recs)
	catchUp(t, st, Options{BatchSize: 2})
	a, _ := profileOf(t, st, "10.0.0.7")
	if a.TraversalPath != "decky-a -> decky-c -> decky-b" || a.EventCount != 5 {
		t.Fatalf("path %q (%d events), want decky-a -> decky-c -> decky-b", a.TraversalPath, a.EventCount)
	}
	p, _ := profileOf(t, st, "10.0.0.8")
	if len(p.Deckies) != 0 || p.EventCount != 0 || len(p.Fingerprints) != 1 || p.Fingerprints[0].Kind != "jarm" {
		t.Fatalf("prober-only attacker %+v: the prober is not a decky and its probes are not the attacker's events", p)
	}
}

// Hostile values stay bounded and storable.
func TestHostileValues(t *testing.T) {
	st := openStore(t, storetest.SQLiteDSN(t))
	var g gen
	big := strings.Repeat("\xff\x1b[31m\"]", 5000)
	g.add("10.6.6.6", "decky-\xff", "ssh\x00", event.Command, t0, "command", big, "username", big)
	g.add("10.6.6.6", "decky-1", "ssh", event.Auth, t0, "username", big, "password", big, "outcome", big, "client_version", big)
	g.add("10.6.6.6", "decky-1", "sniffer", event.Fingerprint, t0, "fp_kind", "tcp_syn", "ttl", "999", "window", "-5", "options", big)
	g.add("10.6.6.6", "decky-1", "sniffer", event.Scan, t0, "port_count", "99999999999999999999", "ports", big)
	for i := 0; i < 2*maxCommands; i++ {
		g.add("10.6.6.6", "decky-1", "ssh", event.Command, t0.Add(time.Duration(i)*time.Millisecond), "command", fmt.Sprint(i))
	}
	ingest(t, st, g.recs)
	catchUp(t, st, Options{})
	a, _ := profileOf(t, st, "10.6.6.6")
	if len(a.Commands) != maxCommands || a.CommandCount != 2*maxCommands+1 || a.Commands[maxCommands-1].Command != fmt.Sprint(2*maxCommands-1) {
		t.Fatalf("commands bounded wrong: %d kept, %d counted", len(a.Commands), a.CommandCount)
	}
	if len(a.Credentials[0].Secret) > maxSecretLen || len(a.Credentials[0].Username) > maxValueLen {
		t.Fatalf("credential not bounded")
	}
}

// hidingStore is the real store with some event ids not visible yet, as rows of
// another writer's transaction that has not committed.
type hidingStore struct {
	store.Store
	hide map[int64]bool
}

func (h *hidingStore) Logs(ctx context.Context, q store.LogQuery) ([]store.LogRow, error) {
	rows, err := h.Store.Logs(ctx, q)
	out := rows[:0]
	for _, r := range rows {
		if !h.hide[r.ID] {
			out = append(out, r)
		}
	}
	return out, err
}

// A hole in the ids at the tail is waited for: an event committed late (a lower id
// appearing after higher ones) is analysed, not skipped; a hole that never fills
// is passed once it is Settle old.
func TestIDHolesSettle(t *testing.T) {
	st := openStore(t, storetest.SQLiteDSN(t))
	var g gen
	for i := 0; i < 10; i++ {
		g.add("10.0.0.9", "decky-1", "ssh", event.Connect, t0.Add(time.Duration(i)*time.Second))
	}
	ingest(t, st, g.recs)
	hs := &hidingStore{Store: st, hide: map[int64]bool{5: true}}
	e := New(hs, Options{Settle: time.Hour})
	now := t0
	e.clock = func() time.Time { return now }
	ctx := context.Background()
	if n, err := e.Step(ctx); err != nil || n != 4 || !e.held {
		t.Fatalf("first step: %d events (held %v), %v; want the 4 before the hole", n, e.held, err)
	}
	if n, _ := e.Step(ctx); n != 0 {
		t.Fatalf("the hole was passed before it settled (%d events)", n)
	}
	delete(hs.hide, 5) // the late transaction commits
	if n, err := e.Step(ctx); err != nil || n != 6 || e.held {
		t.Fatalf("after the late commit: %d events, held %v, %v", n, e.held, err)
	}
	a, _ := profileOf(t, st, "10.0.0.9")
	if a.EventCount != 10 {
		t.Fatalf("%d events counted, want 10", a.EventCount)
	}
	// A permanent hole: passed once Settle has gone by.
	var g2 gen
	g2.n = g.n
	for i := 0; i < 5; i++ {
		g2.add("10.0.0.9", "decky-2", "ssh", event.Connect, t0.Add(time.Minute+time.Duration(i)*time.Second))
	}
	ingest(t, st, g2.recs)
	hs.hide[13] = true
	if n, _ := e.Step(ctx); n != 2 {
		t.Fatalf("before the permanent hole: %d events, want 2", n)
	}
	now = now.Add(2 * time.Hour)
	if n, _ := e.Step(ctx); n != 2 {
		t.Fatalf("past the settled hole: %d events, want 2", n)
	}
	a, _ = profileOf(t, st, "10.0.0.9")
	if a.EventCount != 14 || a.TraversalPath != "decky-1 -> decky-2" {
		t.Fatalf("after the hole: %d events, path %q", a.EventCount, a.TraversalPath)
	}
	// CatchUp waits for a hole to settle instead of stopping at it.
	var g3 gen
	g3.n = g2.n
	for i := 0; i < 3; i++ {
		g3.add("10.0.0.9", "decky-3", "ssh", event.Connect, t0.Add(2*time.Minute+time.Duration(i)*time.Second))
	}
	ingest(t, st, g3.recs)
	hs.hide[17] = true
	e2 := New(hs, Options{Settle: 50 * time.Millisecond})
	if err := e2.CatchUp(ctx); err != nil {
		t.Fatal(err)
	}
	a, _ = profileOf(t, st, "10.0.0.9")
	if a.EventCount != 16 {
		t.Fatalf("CatchUp stopped at a hole: %d events, want 16", a.EventCount)
	}
}

// nmap's crafted SYNs (a random TTL each: a new signature every time) must not crowd
// out the kernel's SYNs that nmap -sV sends later: those still decide the OS guess.
func TestCraftedSYNsLeaveRoomForTheOS(t *testing.T) {
	st := openStore(t, storetest.SQLiteDSN(t))
	var g gen
	for i := 0; i < 40; i++ {
		g.add("10.0.9.1", "decky-01", "sniffer", event.Fingerprint, t0.Add(time.Duration(i)*time.Millisecond), "fp_kind", "tcp_syn",
			"ttl", fmt.Sprint(37+i%23), "window", "1024", "mss", "1460", "options", "mss", "df", "0", "ip_len", "44", "dst_port", fmt.Sprint(1+i))
	}
	for i := 0; i < 3; i++ {
		g.add("10.0.9.1", "decky-01", "sniffer", event.Fingerprint, t0.Add(time.Second+time.Duration(i)*time.Millisecond), "fp_kind", "tcp_syn",
			"ttl", "64", "window", "64240", "mss", "1460", "wscale", "10", "options", "mss,sok,ts,nop,ws", "df", "1", "ip_len", "60", "dst_port", "22")
	}
	ingest(t, st, g.recs)
	catchUp(t, st, Options{})
	_, b := profileOf(t, st, "10.0.9.1")
	if b == nil || !strings.Contains(b.OSGuess, "Linux") {
		t.Fatalf("OS guess %+v, want Linux from the kernel's SYNs", b)
	}
	if _, ok := tool(b, "nmap"); !ok {
		t.Fatalf("the crafted SYNs no longer count as nmap evidence: %+v", b.ToolGuesses)
	}
}
