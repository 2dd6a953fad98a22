package analysis

import (
	"encoding/json"
	"math"
	"slices"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	"decnet/internal/event"
	"decnet/internal/store"
)

func TestWelfordMatchesDirect(t *testing.T) {
	xs := []float64{0.2, 3.5, 1.25, 9, 0, 4.75, 2.2, 2.2, 7.1}
	var w welford
	for _, x := range xs {
		w.add(x)
	}
	mean := 0.0
	for _, x := range xs {
		mean += x
	}
	mean /= float64(len(xs))
	v := 0.0
	for _, x := range xs {
		v += (x - mean) * (x - mean)
	}
	sd := math.Sqrt(v / float64(len(xs)))
	if math.Abs(w.Mean-mean) > 1e-12 || math.Abs(w.stdev()-sd) > 1e-12 || w.Min != 0 || w.Max != 9 || math.Abs(w.cv()-sd/mean) > 1e-12 {
		t.Fatalf("welford %+v (stdev %v), want mean %v stdev %v", w, w.stdev(), mean, sd)
	}
	// Resuming from the JSON form continues exactly.
	var half welford
	for _, x := range xs[:4] {
		half.add(x)
	}
	b, _ := json.Marshal(half)
	var resumed welford
	json.Unmarshal(b, &resumed)
	for _, x := range xs[4:] {
		resumed.add(x)
	}
	if resumed != w {
		t.Fatalf("resumed %+v, want %+v", resumed, w)
	}
}

func TestReservoirMedian(t *testing.T) {
	var r reservoir
	for _, x := range []float64{5, 1, 4, 2, 3} {
		r.add(x, 8)
	}
	if m := r.median(); m != 3 {
		t.Fatalf("median %v, want 3", m)
	}
	r.add(10, 8)
	if m := r.median(); m != 3.5 {
		t.Fatalf("median %v, want 3.5", m)
	}
	// Past its capacity the sample stays bounded and representative.
	var big reservoir
	for i := 0; i < 100000; i++ {
		big.add(float64(i%1000), reservoirCap)
	}
	if len(big.S) != reservoirCap || math.Abs(big.median()-500) > 100 {
		t.Fatalf("%d samples, median %v; want %d samples near 500", len(big.S), big.median(), reservoirCap)
	}
}

func TestTimingBursts(t *testing.T) {
	var tm timing
	offsets := []float64{0, 0.1, 0.2, 5, 5.5, 20, 20.9, 21.8, 22.7, 40}
	for _, s := range offsets {
		tm.add(t0.Add(time.Duration(s * float64(time.Second))))
	}
	// runs < 1 s apart: [0, .1, .2], [5, 5.5], [20 … 22.7]
	if tm.Bursts != 3 || tm.Longest != 4 || tm.Events != 10 || tm.W.N != 9 || tm.Sessions != 4 {
		t.Fatalf("timing %+v", tm)
	}
	// An older event than the last counts as a zero interval and does not move Last back.
	tm.add(t0)
	if !tm.Last.Equal(t0.Add(40*time.Second)) || tm.W.Min != 0 {
		t.Fatalf("out-of-order event: last %v min %v", tm.Last, tm.W.Min)
	}
}

func TestNormOptions(t *testing.T) {
	for in, want := range map[string]string{
		"":                                "",
		"MSS,SOK,TS,NOP,WS":               "mss,sok,ts,nop,ws",
		"mss,nop,ws,nop,nop,ts,sok,eol+1": "mss,nop,ws,nop,nop,ts,sok,eol",
		" mss , ws:7 ":                    "mss,ws",
	} {
		if got := normOptions(in); got != want {
			t.Errorf("normOptions(%q) = %q, want %q", in, got, want)
		}
	}
}

// The SYN table against the values measured from real tools (see synTable) and
// p0f's OS signatures.
func TestSynTable(t *testing.T) {
	cases := []struct {
		name  string
		f     map[string]string
		label string
		tool  bool
	}{
		{"nmap -sS (measured)", map[string]string{"ttl": "44", "window": "1024", "mss": "1460", "options": "mss", "df": "0", "ip_len": "44"}, "nmap", true},
		{"nmap -sS window 4096", map[string]string{"ttl": "59", "window": "4096", "mss": "1460", "options": "mss", "df": "0"}, "nmap", true},
		{"nmap -O P1 (measured)", map[string]string{"ttl": "53", "window": "1", "mss": "1460", "wscale": "10", "options": "ws,nop,mss,ts,sok", "df": "0"}, "nmap", true},
		{"nmap -O P2 (measured)", map[string]string{"ttl": "45", "window": "63", "mss": "1400", "wscale": "0", "options": "mss,ws,sok,ts,eol", "df": "0"}, "nmap", true},
		{"nmap -O P4 (measured)", map[string]string{"ttl": "58", "window": "4", "wscale": "10", "options": "sok,ts,ws,eol", "df": "0"}, "nmap", true},
		{"nmap -O T3 31337 (measured)", map[string]string{"ttl": "59", "window": "31337", "mss": "265", "wscale": "10", "options": "ws,nop,mss,ts,sok", "df": "0"}, "nmap", true},
		{"masscan (measured)", map[string]string{"ttl": "255", "window": "1024", "options": "", "df": "0", "ip_len": "40"}, "masscan", true},
		{"masscan two hops away", map[string]string{"ttl": "253", "window": "1024", "options": "", "df": "0"}, "masscan", true},
		{"zmap (source)", map[string]string{"ttl": "255", "window": "65535", "options": "", "ip_id": "54321"}, "zmap", true},
		{"Linux (this host, measured)", map[string]string{"ttl": "64", "window": "65495", "mss": "65495", "wscale": "10", "options": "mss,sok,ts,nop,ws", "df": "1"}, "Linux", false},
		{"Linux a hop away", map[string]string{"ttl": "63", "window": "64240", "mss": "1460", "wscale": "7", "options": "mss,sok,ts,nop,ws", "df": "1"}, "Linux", false},
		{"Windows 10", map[string]string{"ttl": "128", "window": "64240", "mss": "1460", "wscale": "8", "options": "mss,nop,ws,nop,nop,sok", "df": "1"}, "Windows", false},
		{"macOS", map[string]string{"ttl": "64", "window": "65535", "mss": "1460", "wscale": "6", "options": "mss,nop,ws,nop,nop,ts,sok,eol+1", "df": "1"}, "macOS", false},
		{"FreeBSD", map[string]string{"ttl": "64", "window": "65535", "mss": "1460", "wscale": "6", "options": "mss,nop,ws,sok,ts", "df": "1"}, "FreeBSD", false},
		{"OpenBSD", map[string]string{"ttl": "64", "window": "16384", "mss": "1460", "wscale": "3", "options": "mss,nop,nop,sok,nop,ws,nop,nop,ts", "df": "1"}, "OpenBSD", false},
		{"Linux layout with TTL 128 is not Linux", map[string]string{"ttl": "128", "window": "64240", "options": "mss,sok,ts,nop,ws"}, "", false},
		{"window 1024 but DF set is not nmap", map[string]string{"ttl": "50", "window": "1024", "mss": "1460", "options": "mss", "df": "1"}, "", false},
	}
	for _, c := range cases {
		s, ok := parseSyn(c.f)
		if !ok {
			t.Fatalf("%s: parseSyn refused %v", c.name, c.f)
		}
		m, why, ok := matchSyn(s)
		if c.label == "" {
			if ok {
				t.Errorf("%s: matched %s, want no match", c.name, m.Label)
			}
			continue
		}
		if !ok || m.Label != c.label || m.Tool != c.tool || why == "" {
			t.Errorf("%s: got %q (tool %v, %q), want %q", c.name, m.Label, m.Tool, why, c.label)
		}
	}
	for _, bad := range []map[string]string{{}, {"ttl": "0", "window": "1"}, {"ttl": "300", "window": "1"}, {"ttl": "64", "window": "70000"}, {"ttl": "x", "window": "1"}} {
		if _, ok := parseSyn(bad); ok {
			t.Errorf("parseSyn(%v) accepted", bad)
		}
	}
	if initialTTL(37) != 64 || initialTTL(120) != 128 || initialTTL(200) != 255 || initialTTL(30) != 32 {
		t.Error("initialTTL")
	}
}

func TestClientRules(t *testing.T) {
	cases := map[string]string{
		"SSH-2.0-libssh_0.10.6":                  "libssh",
		"SSH-2.0-libssh2_1.10.0":                 "libssh2",
		"SSH-2.0-paramiko_2.12.0":                "paramiko",
		"SSH-2.0-Go":                             "go-ssh",
		"SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3": "openssh",
		"SSH-2.0-PuTTY_Release_0.78":             "putty",
		"SSH-2.0-Ruby/Net::SSH_7.2.0":            "metasploit",
		"SSH-2.0-Gopher":                         "",
	}
	for v, want := range cases {
		a := newAcc("u", "ip")
		a.sshClient(v)
		if want == "" {
			if len(a.st.Tools) != 0 {
				t.Errorf("%q: tools %v, want none", v, a.st.Tools)
			}
			continue
		}
		if a.st.Tools[want] == nil {
			t.Errorf("%q: tools %v, want %s", v, a.st.Tools, want)
		}
	}
	uas := map[string]string{
		"curl/8.5.0": "curl", "python-requests/2.31.0": "python-requests", "Go-http-client/2.0": "go-http-client",
		"sqlmap/1.7.2#stable (https://sqlmap.org)": "sqlmap", "Mozilla/5.00 (Nikto/2.5.0) (Evasions:None) (Test:Port Check)": "nikto",
		"gobuster/3.6": "gobuster", "Mozilla/5.0 (compatible; Nmap Scripting Engine; https://nmap.org/book/nse.html)": "nmap",
		"Mozilla/5.0 (Hydra)": "hydra", "Wget/1.21.3": "wget", "Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0": "",
	}
	for ua, want := range uas {
		a := newAcc("u", "ip")
		a.userAgent(ua)
		if (want == "" && len(a.st.Tools) != 0) || (want != "" && a.st.Tools[want] == nil) {
			t.Errorf("%q: tools %v, want %q", ua, a.st.Tools, want)
		}
	}
}

func TestClassPriority(t *testing.T) {
	// A brute-forcer that got in and then typed like a person is "interactive",
	// with the brute force kept in the evidence.
	a := newAcc("u", "10.0.0.1")
	id := int64(0)
	add := func(typ string, s float64, kv ...string) {
		id++
		f := map[string]string{}
		for i := 0; i+1 < len(kv); i += 2 {
			f[kv[i]] = kv[i+1]
		}
		a.apply(&store.LogRow{ID: id, Record: store.Record{Event: event.Event{ID: "x", Time: t0.Add(time.Duration(s * float64(time.Second))),
			Decky: "d1", Service: "ssh", Type: typ, AttackerIP: "10.0.0.1", Fields: f}}})
	}
	for i := 0; i < 20; i++ {
		add(event.Auth, float64(i)*0.3, "username", "root", "password", string(rune('a'+i)), "outcome", "failure")
	}
	add(event.Auth, 7, "username", "root", "password", "toor", "outcome", "success")
	s := 10.0
	for _, p := range []float64{2.5, 8, 3.1, 12} {
		s += p
		add(event.Command, s, "command", "ls")
	}
	a.finishRow()
	b := a.profile(t0)
	if b.BehaviorClass != ClassInteractive {
		t.Fatalf("class %q, evidence %q", b.BehaviorClass, b.Evidence)
	}
	ev := strings.Join(b.Evidence, "\n")
	if !strings.Contains(ev, "chosen") || !strings.Contains(ev, "brute_forcer: 21 login attempts") {
		t.Fatalf("evidence %q", b.Evidence)
	}
	// Replaying an event id already counted changes nothing.
	before := a.row.EventCount
	a.apply(&store.LogRow{ID: 3, Record: store.Record{Event: event.Event{Time: t0, Decky: "d9", Service: "ssh", Type: event.Connect}}})
	if a.row.EventCount != before || slices.Contains(a.row.Deckies, "d9") {
		t.Fatal("a replayed event id was counted again")
	}
}

func FuzzParseSyn(f *testing.F) {
	f.Add("44", "1024", "1460", "", "mss", "0", "")
	f.Add("255", "1024", "", "", "", "0", "54321")
	f.Add("64", "65535", "1460", "6", "mss,nop,ws,nop,nop,ts,sok,eol+1", "1", "")
	f.Add("-1", "x", "\xff", "", "MSS:1460,,,+", "", "")
	f.Fuzz(func(t *testing.T, ttl, win, mss, ws, opts, df, ipid string) {
		s, ok := parseSyn(map[string]string{"ttl": ttl, "window": win, "mss": mss, "wscale": ws, "options": opts, "df": df, "ip_id": ipid})
		if !ok {
			return
		}
		if s.TTL < 1 || s.TTL > 255 || s.Window < 0 || s.Window > 65535 || len(s.Options) > 128 {
			t.Fatalf("parseSyn accepted out-of-range values: %+v", s)
		}
		if normOptions(s.Options) != s.Options {
			t.Fatalf("options not normalised: %q", s.Options)
		}
		matchSyn(s)
		fallbackOS(s)
		_ = s.key()
	})
}

// Whatever an event holds, the accumulator stays bounded and storable.
func FuzzApply(f *testing.F) {
	f.Add("ssh", "auth", "decky-1", "root", "pw", "SSH-2.0-libssh_0.10.6", "/", "1,2,3", "mss,sok")
	f.Add("sniffer", "fingerprint", "", "", "", "", "", "", "mss")
	f.Add("http", "request", "d\xff", "\x00", "\xff\xfe", "curl/8", "/nice%20ports%2C/Tri%6Eity.txt%2ebak", "99999999999", "")
	f.Fuzz(func(t *testing.T, service, typ, decky, user, pw, ident, path, ports, opts string) {
		a := newAcc("u", "10.0.0.1")
		for i := int64(1); i <= 3; i++ {
			e := event.Event{Time: t0.Add(time.Duration(i) * time.Second), Decky: decky, Service: service, Type: typ, AttackerIP: "10.0.0.1",
				Fields: map[string]string{"username": user, "password": pw, "client_version": ident, "path": path, "ports": ports,
					"fp_kind": "tcp_syn", "ttl": "64", "window": "1024", "options": opts, "command": path, "user_agent": ident, "outcome": "failure"}}
			a.apply(&store.LogRow{ID: i, Record: store.Record{Event: e}})
		}
		a.finishRow()
		b := a.profile(t0)
		for _, d := range a.row.Deckies {
			if d == "" || len(d) > store.MaxNameLen || !utf8.ValidString(d) {
				t.Fatalf("unstorable decky %q", d)
			}
		}
		for _, s := range a.row.Services {
			if s == "" || len(s) > store.MaxNameLen || !utf8.ValidString(s) {
				t.Fatalf("unstorable service %q", s)
			}
		}
		if !utf8.ValidString(a.row.TraversalPath) || !utf8.ValidString(b.OSGuess) {
			t.Fatal("invalid UTF-8 in the row")
		}
		if _, err := json.Marshal(&a.st); err != nil {
			t.Fatal(err)
		}
		for _, c := range a.row.Commands {
			if len(c.Command) > maxCommandLen {
				t.Fatal("command not bounded")
			}
		}
	})
}
