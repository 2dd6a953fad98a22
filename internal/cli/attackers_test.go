package cli

import (
	"context"
	"encoding/json"
	"fmt"
	"strings"
	"testing"
	"time"

	"decnet/internal/bounty"
	"decnet/internal/event"
	"decnet/internal/store"
)

// attackersState is a state directory whose default SQLite database holds events
// of three attackers (with their bounty, as the ingester stores them).
func attackersState(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	st, err := store.Open(context.Background(), store.DefaultDSN(dir))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	t0 := time.Date(2026, 11, 26, 1, 0, 0, 0, time.UTC)
	var recs []store.Record
	add := func(ip, decky, service, typ string, at time.Duration, kv ...string) {
		f := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			f[kv[i]] = kv[i+1]
		}
		e := event.Event{ID: fmt.Sprintf("a-%04d", len(recs)), Time: t0.Add(at), Decky: decky, Service: service, Type: typ, AttackerIP: ip, AttackerPort: 50000, Fields: f}
		line, _ := event.Format(e)
		recs = append(recs, store.Record{Event: e, RawLine: string(line)})
	}
	// hydra at decky-01
	for i := 0; i < 20; i++ {
		add("10.47.0.66", "decky-01", "ssh", event.Auth, time.Duration(i)*200*time.Millisecond,
			"username", "root", "password", fmt.Sprintf("pw%d", i), "secret_kind", "plaintext", "outcome", "failure", "client_version", "SSH-2.0-libssh_0.10.6")
	}
	// a person moving decky-01 -> decky-02 -> decky-03, typing a hostile command
	add("10.47.0.77", "decky-01", "ssh", event.Auth, 0, "username", "admin", "password", "admin", "outcome", "success")
	add("10.47.0.77", "decky-01", "ssh", event.Command, 5*time.Second, "command", "echo \x1b[31mred\x1b]0;title\x07")
	add("10.47.0.77", "decky-02", "ssh", event.Connect, time.Minute, "port", "22")
	add("10.47.0.77", "decky-03", "telnet", event.Connect, 2*time.Minute, "port", "23")
	// a scanner
	add("10.47.0.88", "decky-02", "sniffer", event.Scan, 0, "port_count", "500", "ports", "1,2,3", "deckies", "1", "syn_only", "true")
	add("10.47.0.88", "decky-02", "sniffer", event.Fingerprint, 0, "fp_kind", "tcp_syn", "ttl", "255", "window", "1024", "options", "", "df", "0")
	if _, err := st.Ingest(context.Background(), store.Batch{Records: recs, Bounty: bounty.ExtractAll(recs)}); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestAttackersCommand(t *testing.T) {
	dir := attackersState(t)
	code, out, errs := run(t, "attackers", "--state-dir", dir)
	if code != ExitOK || !strings.Contains(out, "no attackers match") {
		t.Fatalf("before analysis: exit %d %q %q", code, out, errs)
	}
	code, out, errs = run(t, "analyze", "--once", "--state-dir", dir)
	if code != ExitOK || !strings.Contains(out, "analysed 26 events") {
		t.Fatalf("analyze --once: exit %d %q %q", code, out, errs)
	}
	// Again: nothing new, nothing doubled.
	if code, out, _ = run(t, "analyze", "--once", "--state-dir", dir); code != ExitOK || !strings.Contains(out, "analysed 0 events") {
		t.Fatalf("second analyze: %d %q", code, out)
	}

	code, out, errs = run(t, "attackers", "--state-dir", dir)
	if code != ExitOK {
		t.Fatalf("attackers: exit %d: %s", code, errs)
	}
	for _, want := range []string{"IP", "TRAVERSAL", "10.47.0.66", "brute_forcer", "10.47.0.77", "lateral_mover", "decky-01 -> decky-02 -> decky-03", "10.47.0.88", "scanner", "(1-3 of 3 attackers)"} {
		if !strings.Contains(out, want) {
			t.Errorf("list lacks %q:\n%s", want, out)
		}
	}
	lines := strings.Split(strings.TrimSpace(out), "\n")
	if !strings.HasPrefix(lines[1], "10.47.0.77") { // newest last_seen first
		t.Errorf("default order is not newest first:\n%s", out)
	}

	filters := []struct {
		args []string
		want []string
	}{
		{[]string{"--traversal"}, []string{"10.47.0.77"}},
		{[]string{"--class", "brute_forcer"}, []string{"10.47.0.66"}},
		{[]string{"--decky", "decky-02"}, []string{"10.47.0.77", "10.47.0.88"}},
		{[]string{"--service", "telnet"}, []string{"10.47.0.77"}},
		{[]string{"--sort", "events", "--limit", "1"}, []string{"10.47.0.66"}},
		{[]string{"--sort", "events", "--asc", "--offset", "1", "--limit", "1"}, []string{"10.47.0.77"}},
		{[]string{"--sort", "first_seen", "--asc"}, []string{"10.47.0.66", "10.47.0.77", "10.47.0.88"}},
		{[]string{"--since", "2026-11-26T01:01:00Z"}, []string{"10.47.0.77"}},
	}
	for _, f := range filters {
		code, out, errs := run(t, append([]string{"attackers", "--state-dir", dir, "--json"}, f.args...)...)
		if code != ExitOK {
			t.Fatalf("%v: exit %d %s", f.args, code, errs)
		}
		var got []attackerJSON
		if err := json.Unmarshal([]byte(out), &got); err != nil {
			t.Fatalf("%v: not JSON: %v\n%s", f.args, err, out)
		}
		var ips []string
		for _, a := range got {
			ips = append(ips, a.IP)
		}
		if strings.Join(ips, ",") != strings.Join(f.want, ",") {
			t.Errorf("%v: %v, want %v", f.args, ips, f.want)
		}
	}

	// Detail.
	code, out, errs = run(t, "attackers", "--state-dir", dir, "10.47.0.66")
	if code != ExitOK {
		t.Fatalf("detail: exit %d %s", code, errs)
	}
	for _, want := range []string{"Attacker 10.47.0.66", "class        brute_forcer", "hydra", "libssh", "20 login attempts",
		"Credentials (bounty: 20)", "root : pw19", "client_version", "SSH-2.0-libssh_0.10.6", "credential_access"} {
		if !strings.Contains(out, want) {
			t.Errorf("detail lacks %q:\n%s", want, out)
		}
	}
	code, out, _ = run(t, "attackers", "--state-dir", dir, "10.47.0.77")
	if code != ExitOK || !strings.Contains(out, "path         decky-01 -> decky-02 -> decky-03") || !strings.Contains(out, "[traversal]") {
		t.Fatalf("lateral detail: %d\n%s", code, out)
	}
	if strings.ContainsAny(out, "\x1b\x07") || !strings.Contains(out, `echo \x1b[31mred\x1b]0;title\x07`) {
		t.Errorf("a hostile command reached the terminal unescaped:\n%q", out)
	}
	// By UUID, as JSON, with the profile and the bounty.
	var list []attackerJSON
	_, out, _ = run(t, "attackers", "--state-dir", dir, "--json", "--class", "scanner")
	json.Unmarshal([]byte(out), &list)
	if len(list) != 1 {
		t.Fatalf("scanner list %s", out)
	}
	code, out, _ = run(t, "attackers", "--state-dir", dir, "--json", list[0].UUID)
	var one attackerJSON
	if err := json.Unmarshal([]byte(out), &one); err != nil || code != ExitOK {
		t.Fatalf("detail json: %d %v\n%s", code, err, out)
	}
	if one.IP != "10.47.0.88" || one.Behavior == nil || one.Behavior.BehaviorClass != "scanner" || len(one.Behavior.ToolGuesses) == 0 ||
		one.Behavior.ToolGuesses[0].Tool != "masscan" || len(one.Behavior.ToolGuesses[0].Evidence) == 0 {
		t.Fatalf("detail json: %+v", one)
	}
	_, out, _ = run(t, "attackers", "--state-dir", dir, "--json", "10.47.0.66")
	json.Unmarshal([]byte(out), &one)
	var payload map[string]string
	if len(one.Bounty) != 20 || json.Unmarshal(one.Bounty[0].Payload, &payload) != nil || payload["username"] != "root" || payload["password"] != "pw19" {
		t.Fatalf("bounty in detail json: %d rows, first %s", len(one.Bounty), one.Bounty[0].Payload)
	}

	// Errors.
	if code, _, errs := run(t, "attackers", "--state-dir", dir, "10.9.9.9"); code != ExitFailure || !strings.Contains(errs, "no attacker 10.9.9.9") {
		t.Errorf("unknown attacker: exit %d %q", code, errs)
	}
	for _, bad := range [][]string{{"--sort", "ip"}, {"--limit", "0"}, {"--offset", "-1"}, {"--since", "yesterday-ish"}, {"a", "b"}} {
		if code, _, errs := run(t, append([]string{"attackers", "--state-dir", dir}, bad...)...); code != ExitUsage {
			t.Errorf("%v: exit %d (%s), want %d", bad, code, errs, ExitUsage)
		}
	}
	if code, _, _ := run(t, "analyze", "--state-dir", dir, "--batch-size", "0"); code != ExitUsage {
		t.Errorf("analyze --batch-size 0: exit %d", code)
	}
}

// `decnet analyze` without --once keeps running and picks up new events until stopped.
func TestAnalyzeFollows(t *testing.T) {
	dir := attackersState(t)
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan int, 1)
	go func() {
		var out, errb strings.Builder
		done <- Run(ctx, []string{"analyze", "--state-dir", dir, "--poll-interval", "20ms"}, &out, &errb)
	}()
	deadline := time.Now().Add(30 * time.Second)
	for {
		code, out, _ := run(t, "attackers", "--state-dir", dir, "--json")
		var list []attackerJSON
		json.Unmarshal([]byte(out), &list)
		if code == ExitOK && len(list) == 3 {
			break
		}
		if time.Now().After(deadline) {
			cancel()
			t.Fatalf("analyze did not fill the attackers table: %s", out)
		}
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("analyze exited %d", code)
	}
}
