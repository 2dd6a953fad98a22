package e2e

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os/exec"
	"regexp"
	"slices"
	"sort"
	"strings"
	"sync"
	"testing"
	"time"

	"decnet/internal/lab"
	"decnet/internal/store"
	"decnet/internal/testenv"
)

// intelAttacker mirrors `decnet attackers <ip> --json` (the detail, with the profile).
type intelAttacker struct {
	UUID          string                      `json:"uuid"`
	IP            string                      `json:"ip"`
	EventCount    int64                       `json:"event_count"`
	Deckies       []string                    `json:"deckies"`
	Services      []string                    `json:"services"`
	IsTraversal   bool                        `json:"is_traversal"`
	TraversalPath string                      `json:"traversal_path"`
	BehaviorClass string                      `json:"behavior_class"`
	OSGuess       string                      `json:"os_guess"`
	CommandCount  int64                       `json:"command_count"`
	Fingerprints  []store.AttackerFingerprint `json:"fingerprints"`
	Behavior      *struct {
		OSGuess       string            `json:"os_guess"`
		OSConfidence  float64           `json:"os_confidence"`
		BehaviorClass string            `json:"behavior_class"`
		ToolGuesses   []store.ToolGuess `json:"tool_guesses"`
		Timing        store.TimingStats `json:"timing_stats"`
		Evidence      []string          `json:"evidence"`
	} `json:"behavior"`
}

func (a *intelAttacker) tool(name string) *store.ToolGuess {
	if a.Behavior == nil {
		return nil
	}
	for i := range a.Behavior.ToolGuesses {
		if a.Behavior.ToolGuesses[i].Tool == name {
			return &a.Behavior.ToolGuesses[i]
		}
	}
	return nil
}

func (a *intelAttacker) fingerprint(kind string) []store.AttackerFingerprint {
	var out []store.AttackerFingerprint
	for _, f := range a.Fingerprints {
		if f.Kind == kind {
			out = append(out, f)
		}
	}
	return out
}

// attackerNS is one extra attacker: its own network namespace with a macvlan
// child of the lab's attacker-side veth, so it has its own MAC and lab address and
// its profile never mixes with another scenario's.
type attackerNS struct {
	name string // dnt-att-<n>
	link string // dnt-mv<n>
	ip   netip.Addr
}

// run runs name in the attacker's namespace (`ip netns exec`).
func (a attackerNS) run(t *testing.T, timeout time.Duration, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	out, err := exec.CommandContext(ctx, "ip", append([]string{"netns", "exec", a.name, name}, args...)...).CombinedOutput()
	if ctx.Err() != nil {
		err = fmt.Errorf("%w (killed after %v)", err, timeout)
	}
	return string(out), err
}

var attackerNSRE = regexp.MustCompile(`^dnt-att-[0-9]+$`)

// removeAttackerNamespaces deletes every dnt-att-<n> namespace (never the lab's own
// dnt-attacker) and returns their names.
func removeAttackerNamespaces(t *testing.T) []string {
	t.Helper()
	out, err := exec.Command("ip", "netns", "list").CombinedOutput()
	if err != nil {
		t.Fatalf("ip netns list: %v\n%s", err, out)
	}
	var removed []string
	for _, line := range strings.Split(string(out), "\n") {
		f := strings.Fields(line)
		if len(f) == 0 || !attackerNSRE.MatchString(f[0]) {
			continue
		}
		if o, err := exec.Command("ip", "netns", "del", f[0]).CombinedOutput(); err != nil {
			t.Errorf("could not remove attacker namespace %s: %v\n%s", f[0], err, o)
			continue
		}
		removed = append(removed, f[0])
	}
	return removed
}

// newAttackers creates n attacker namespaces dnt-att-1..n on the lab, with the lab
// addresses .201, .202, … (the fleet allocates from the bottom of the subnet; the
// lab's own attacker is .250, its reserved gateway .254).
func newAttackers(t *testing.T, l *lab.Lab, n int) []attackerNS {
	t.Helper()
	if stale := removeAttackerNamespaces(t); len(stale) > 0 {
		t.Logf("removed stale attacker namespaces left by an earlier run: %s", strings.Join(stale, ", "))
	}
	t.Cleanup(func() {
		removeAttackerNamespaces(t)
		for i := 1; i <= n; i++ { // a child never moved into its namespace
			exec.Command("ip", "-n", l.Namespace, "link", "del", fmt.Sprintf("dnt-mv%d", i)).Run()
		}
	})
	must := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	var out []attackerNS
	for i := 1; i <= n; i++ {
		a := attackerNS{name: fmt.Sprintf("dnt-att-%d", i), link: fmt.Sprintf("dnt-mv%d", i), ip: addrAt(l.Subnet, 200+i)}
		if !l.Subnet.Contains(a.ip) || a.ip == l.AttackerIP || a.ip == l.Gateway || a.ip == l.HostIP {
			t.Fatalf("attacker address %v collides with the lab's own addresses", a.ip)
		}
		exec.Command("ip", "-n", l.Namespace, "link", "del", a.link).Run() // stale, if any
		must("netns", "add", a.name)
		must("netns", "exec", a.name, "sh", "-c",
			"echo 1 > /proc/sys/net/ipv6/conf/all/disable_ipv6 && echo 1 > /proc/sys/net/ipv6/conf/default/disable_ipv6")
		must("-n", l.Namespace, "link", "add", a.link, "link", l.Peer, "type", "macvlan", "mode", "bridge")
		must("-n", l.Namespace, "link", "set", a.link, "netns", a.name)
		must("-n", a.name, "addr", "add", fmt.Sprintf("%s/%d", a.ip, l.Subnet.Bits()), "dev", a.link)
		must("-n", a.name, "link", "set", "lo", "up")
		must("-n", a.name, "link", "set", a.link, "up")
		out = append(out, a)
	}
	return out
}

// intelScenario is one attacker's run and what its profile must show.
type intelScenario struct {
	name  string
	att   attackerNS
	run   func(t *testing.T)
	check func(a *intelAttacker, ev *sniffed) []string
}

// sniffed summarises the sniffer's events for one attacker.
type sniffed struct {
	kinds       map[string]int // fp_kind → count
	scans       int
	sshHassh    []string // hassh of ssh_client fingerprints
	serviceEvts []string // compact lines of the decky services' events (for reports)
	snifferEvts []string
}

func sniffedFor(ctx context.Context, st store.Store, ip string) (*sniffed, error) {
	rows, err := st.Logs(ctx, store.LogQuery{AttackerIP: ip, Ascending: true, Limit: store.MaxLimit})
	if err != nil {
		return nil, err
	}
	s := &sniffed{kinds: map[string]int{}}
	for _, r := range rows {
		var keys []string
		for k := range r.Fields {
			if !strings.HasSuffix(k, "_b64") && k != "hassh_algorithms" && k != "ja3_full" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		var kv []string
		for _, k := range keys {
			v := r.Fields[k]
			if len(v) > 60 {
				v = v[:60] + "…"
			}
			kv = append(kv, k+"="+v)
		}
		line := fmt.Sprintf("%s %s/%s %s %s", r.Time.UTC().Format("15:04:05.000"), r.Decky, r.Service, r.Type, strings.Join(kv, " "))
		if r.Service != "sniffer" {
			s.serviceEvts = append(s.serviceEvts, line)
			continue
		}
		s.snifferEvts = append(s.snifferEvts, line)
		switch r.Type {
		case "scan":
			s.scans++
		case "fingerprint":
			k := r.Fields["fp_kind"]
			s.kinds[k]++
			if k == "ssh_client" && r.Fields["hassh"] != "" {
				s.sshHassh = append(s.sshHassh, r.Fields["hassh"])
			}
		}
	}
	return s, nil
}

// TestAttackerScenarios runs real attacker tools, each from its own attacker
// namespace and lab address, against a fleet of three deckies under `decnet run`
// (collector, sniffer, ingesters, analysis), and checks the profile the analysis
// built for each attacker: nmap and masscan sweeps are scanners with the tool named
// from their SYNs, hydra on ssh is a brute-forcer named from its libssh client, an
// openssh session typing commands with human pauses is interactive, and an attacker
// that logs in on one decky and then touches two more has the three in order as its
// traversal path. Each profile must also carry the sniffer's fingerprints.
func TestAttackerScenarios(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireDocker(t)
	testenv.RequireTool(t, "ip", "nmap", "masscan", "hydra", "sshpass", "ssh", "curl", "bash")
	bin := testenv.BuildDecnet(t)
	l := testenv.SharedLab(t)

	stateDir, dir := t.TempDir(), t.TempDir()
	ini := writeFile(t, dir, "intel.ini", fmt.Sprintf(`# three deckies for the attacker-intelligence scenarios
[general]
net = %s
gw = %s
interface = %s

[intel]
amount = 3
distro = debian
services = ssh, http

[intel.ssh]
users = root:toor99, admin:admin
`, l.Subnet, l.Gateway, l.Parent))
	t.Cleanup(func() {
		if out, errs, code := run(t, bin, "teardown", "--all", "--state-dir", stateDir); code != 0 {
			t.Logf("cleanup teardown: exit %d: %s %s", code, out, errs)
		}
	})
	mustRun(t, bin, "deploy", "--config", ini, "--state-dir", stateDir)
	pipeline := startRun(t, bin, stateDir)

	var fleet []deckyStatus
	decodeJSON(t, mustRun(t, bin, "status", "--json", "--state-dir", stateDir), &fleet)
	checkAnnounced(t, l, fleet)
	if len(fleet) != 3 {
		t.Fatalf("status shows %d deckies, want 3: %+v", len(fleet), fleet)
	}
	sort.Slice(fleet, func(i, j int) bool {
		return netip.MustParseAddr(fleet[i].IP).Less(netip.MustParseAddr(fleet[j].IP))
	})
	var ips []string
	for _, d := range fleet {
		ips = append(ips, d.IP)
		mustAccept(t, d.IP+":22")
		mustAccept(t, d.IP+":80")
	}
	d1, d2, d3 := fleet[0], fleet[1], fleet[2]

	atts := newAttackers(t, l, 5)
	for _, a := range atts {
		if slices.Contains(ips, a.ip.String()) {
			t.Fatalf("attacker address %v is a decky's", a.ip)
		}
	}
	sshOpts := []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no",
		"-o", "ConnectTimeout=10", "-o", "NumberOfPasswordPrompts=1"}
	sshCmd := func(pw, target string, extra ...string) []string {
		return append(append([]string{"-p", pw, "ssh"}, sshOpts...), append([]string{target}, extra...)...)
	}

	// hasSniffedSyn checks the sniffer's tcp_syn reached the profile (OS guess too,
	// unless the only SYNs were crafted by a tool, which say nothing of the OS).
	synProblems := func(a *intelAttacker, ev *sniffed, wantOS bool) []string {
		var p []string
		if ev.kinds["tcp_syn"] == 0 {
			p = append(p, "the sniffer wrote no tcp_syn fingerprint for this attacker")
		}
		if len(a.fingerprint("tcp_syn")) == 0 {
			p = append(p, "the profile has no tcp_syn fingerprint")
		}
		if wantOS && (a.Behavior == nil || a.Behavior.OSGuess != "Linux" || a.Behavior.OSConfidence <= 0) {
			p = append(p, fmt.Sprintf("OS guess is %q, want Linux from the kernel's SYNs", a.OSGuess))
		}
		return p
	}
	toolProblems := func(a *intelAttacker, names ...string) []string {
		var p []string
		for _, n := range names {
			g := a.tool(n)
			switch {
			case g == nil:
				p = append(p, fmt.Sprintf("no %s tool guess", n))
			case g.Confidence <= 0 || len(g.Evidence) == 0:
				p = append(p, fmt.Sprintf("tool guess %s has confidence %.2f and %d evidence lines", n, g.Confidence, len(g.Evidence)))
			}
		}
		return p
	}
	classProblem := func(a *intelAttacker, want string) []string {
		if a.Behavior == nil {
			return []string{"not profiled yet"}
		}
		if a.Behavior.BehaviorClass != want || a.BehaviorClass != want {
			return []string{fmt.Sprintf("behaviour class is %q, want %q", a.Behavior.BehaviorClass, want)}
		}
		if !slices.ContainsFunc(a.Behavior.Evidence, func(e string) bool {
			return strings.HasPrefix(e, want+": ") || strings.HasPrefix(e, want+" (chosen")
		}) {
			return []string{fmt.Sprintf("no evidence line says why the class is %s: %q", want, a.Behavior.Evidence)}
		}
		return nil
	}
	hasshProblems := func(a *intelAttacker, ev *sniffed) []string {
		var p []string
		if len(ev.sshHassh) == 0 {
			return []string{"the sniffer wrote no ssh_client fingerprint (hassh) for this attacker"}
		}
		fps := a.fingerprint("hassh")
		for _, h := range ev.sshHassh {
			if !slices.ContainsFunc(fps, func(f store.AttackerFingerprint) bool { return f.Value == h }) {
				p = append(p, fmt.Sprintf("the sniffer's client HASSH %s is not among the profile's hassh fingerprints %v", h, fps))
			}
		}
		if len(a.fingerprint("client_version")) == 0 {
			p = append(p, "no client_version fingerprint")
		}
		return p
	}

	pws := []string{"letmein1", "dragon22", "qwerty!9", "monkey77", "sunshine", "trustno1", "baseball", "iloveyou", "master99", "shadow12", "superman", "hunter42"}
	pwFile := writeFile(t, dir, "hydra.txt", strings.Join(pws, "\n")+"\n")

	scenarios := []intelScenario{
		{name: "A nmap -sS -sV sweep", att: atts[0],
			run: func(t *testing.T) {
				args := append([]string{"-Pn", "-n", "-sS", "-sV", "-p", "21,22,23,25,80,110,143,443,445,3306,3389,8080"}, ips...)
				out, err := atts[0].run(t, 4*time.Minute, "nmap", args...)
				if open := regexp.MustCompile(`(?m)^22/tcp\s+open\s+ssh\s`).FindAllString(out, -1); err != nil || len(open) != len(ips) {
					t.Errorf("nmap found ssh open on %d of %d deckies: %v\n%s", len(open), len(ips), err, out)
				}
			},
			check: func(a *intelAttacker, ev *sniffed) []string {
				p := classProblem(a, "scanner")
				p = append(p, toolProblems(a, "nmap")...)
				if ev.scans == 0 {
					p = append(p, "the sniffer wrote no scan event")
				}
				return append(p, synProblems(a, ev, true)...)
			}},
		{name: "B masscan", att: atts[1],
			run: func(t *testing.T) {
				// masscan has its own stack: it needs the adapter, its address and a
				// next-hop MAC; with no router on the lab, each decky is its own hop.
				for _, d := range fleet {
					// masscan sends each probe once unless told to retry; a SYN or
					// SYN-ACK lost on a busy machine is not what this scenario tests.
					out, err := atts[1].run(t, 2*time.Minute, "masscan", "-p1-1000", d.IP, "--rate", "2000", "--wait", "2", "--retries", "2",
						"--adapter", atts[1].link, "--adapter-ip", atts[1].ip.String(), "--router-mac", d.MAC)
					if err != nil || !strings.Contains(out, "Discovered open port") {
						t.Errorf("masscan %s: %v\n%s", d.IP, err, out)
					}
				}
			},
			check: func(a *intelAttacker, ev *sniffed) []string {
				p := classProblem(a, "scanner")
				p = append(p, toolProblems(a, "masscan")...)
				if ev.scans == 0 {
					p = append(p, "the sniffer wrote no scan event")
				}
				return append(p, synProblems(a, ev, false)...)
			}},
		{name: "C hydra ssh", att: atts[2],
			run: func(t *testing.T) {
				out, err := atts[2].run(t, 3*time.Minute, "hydra", "-l", "root", "-P", pwFile, "-t", "4", "-I", "ssh://"+d1.IP)
				if err != nil || !strings.Contains(out, "0 valid password") {
					t.Errorf("hydra: %v\n%s", err, out)
				} else {
					t.Logf("hydra:\n%s", lastLines(out, 4))
				}
			},
			check: func(a *intelAttacker, ev *sniffed) []string {
				p := classProblem(a, "brute_forcer")
				p = append(p, toolProblems(a, "hydra", "libssh")...)
				p = append(p, hasshProblems(a, ev)...)
				return append(p, synProblems(a, ev, true)...)
			}},
		{name: "D interactive ssh", att: atts[3],
			run: func(t *testing.T) {
				// Typed by a person: a pause to read the prompt, then irregular pauses.
				script := "(sleep 3; printf 'whoami\\n'; sleep 4.5; printf 'uname -a\\n'; sleep 2; printf 'id\\n'; sleep 5.5; " +
					"printf 'ls -la /root\\n'; sleep 2.5; printf 'cat /etc/passwd\\n'; sleep 3.5; printf 'exit\\n'; sleep 1) | " +
					"sshpass -p toor99 ssh -tt " + strings.Join(sshOpts, " ") + " root@" + d2.IP
				out, err := atts[3].run(t, 2*time.Minute, "bash", "-c", script)
				if err != nil || !strings.Contains(out, "root:x:0:0") {
					t.Errorf("interactive ssh: %v\n%s", err, out)
				}
			},
			check: func(a *intelAttacker, ev *sniffed) []string {
				p := classProblem(a, "interactive")
				if a.CommandCount < 5 {
					p = append(p, fmt.Sprintf("%d commands recorded, want at least 5", a.CommandCount))
				}
				p = append(p, toolProblems(a, "openssh")...)
				p = append(p, hasshProblems(a, ev)...)
				return append(p, synProblems(a, ev, true)...)
			}},
		{name: "E traversal", att: atts[4],
			run: func(t *testing.T) {
				// In on the first decky, then on to the second and third.
				if out, err := atts[4].run(t, time.Minute, "sshpass", sshCmd("toor99", "root@"+d1.IP, "id")...); err != nil {
					t.Errorf("ssh %s: %v\n%s", d1.Name, err, out)
				}
				time.Sleep(4 * time.Second)
				if out, err := atts[4].run(t, time.Minute, "curl", "-sS", "-o", "/dev/null", "http://"+d2.IP+"/"); err != nil {
					t.Errorf("curl %s: %v\n%s", d2.Name, err, out)
				}
				time.Sleep(4 * time.Second)
				if out, err := atts[4].run(t, time.Minute, "sshpass", sshCmd("not-it", "admin@"+d3.IP, "id")...); err == nil {
					t.Errorf("ssh %s with a wrong password succeeded:\n%s", d3.Name, out)
				}
			},
			check: func(a *intelAttacker, ev *sniffed) []string {
				var p []string
				want := d1.Name + " -> " + d2.Name + " -> " + d3.Name
				if a.TraversalPath != want || !a.IsTraversal {
					p = append(p, fmt.Sprintf("traversal path %q (is_traversal %v), want %q", a.TraversalPath, a.IsTraversal, want))
				}
				p = append(p, classProblem(a, "lateral_mover")...)
				p = append(p, toolProblems(a, "curl", "openssh")...)
				return append(p, synProblems(a, ev, true)...)
			}},
	}

	start := time.Now()
	var wg sync.WaitGroup
	for _, sc := range scenarios {
		wg.Add(1)
		go func() {
			defer wg.Done()
			s := time.Now()
			sc.run(t)
			t.Logf("scenario %s (%s) ran in %v", sc.name, sc.att.ip, time.Since(s).Round(time.Second))
		}()
	}
	wg.Wait()
	t.Logf("all scenarios ran in %v", time.Since(start).Round(time.Second))
	if t.Failed() {
		t.Fatalf("a tool failed; decnet run output:\n%s", pipeline.String())
	}

	// The sniffer reports a scan when its 60 s window ends, and the analysis waits a
	// few seconds for the ingesters: poll until every profile has settled.
	st, err := store.Open(context.Background(), store.DefaultDSN(stateDir))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	got := map[string]*intelAttacker{}
	evs := map[string]*sniffed{}
	problems := map[string][]string{}
	settled := map[string]time.Duration{}
	deadline := time.Now().Add(3 * time.Minute)
	for {
		problems = map[string][]string{}
		for _, sc := range scenarios {
			ip := sc.att.ip.String()
			ev, err := sniffedFor(context.Background(), st, ip)
			if err != nil {
				t.Fatalf("reading the events of %s: %v", ip, err)
			}
			evs[ip] = ev
			out, errs, code := run(t, bin, "attackers", ip, "--json", "--state-dir", stateDir)
			if code != 0 {
				problems[sc.name] = []string{fmt.Sprintf("decnet attackers %s: exit %d: %s", ip, code, strings.TrimSpace(errs))}
				continue
			}
			a := &intelAttacker{}
			decodeJSON(t, out, a)
			got[ip] = a
			if a.IP != ip {
				problems[sc.name] = []string{fmt.Sprintf("decnet attackers %s shows attacker %q", ip, a.IP)}
				continue
			}
			if p := sc.check(a, ev); len(p) > 0 {
				problems[sc.name] = p
			} else if _, ok := settled[sc.name]; !ok {
				settled[sc.name] = time.Since(start).Round(time.Second)
			}
		}
		if len(problems) == 0 || time.Now().After(deadline) {
			break
		}
		time.Sleep(3 * time.Second)
	}
	for _, sc := range scenarios {
		if d, ok := settled[sc.name]; ok {
			t.Logf("profile of %s (%s) was as expected %v after the scenarios started", sc.name, sc.att.ip, d)
		}
	}

	// The list shows every attacker with the same class and path as the detail.
	var list []intelAttacker
	decodeJSON(t, mustRun(t, bin, "attackers", "--json", "--limit", "1000", "--state-dir", stateDir), &list)
	for _, sc := range scenarios {
		ip := sc.att.ip.String()
		i := slices.IndexFunc(list, func(a intelAttacker) bool { return a.IP == ip })
		if i < 0 {
			t.Errorf("%s: attacker %s missing from `decnet attackers --json` (%d attackers listed)", sc.name, ip, len(list))
			continue
		}
		if d := got[ip]; d != nil && (list[i].BehaviorClass != d.BehaviorClass || list[i].TraversalPath != d.TraversalPath) {
			t.Errorf("%s: the list says class %q path %q, the detail %q %q", sc.name, list[i].BehaviorClass, list[i].TraversalPath, d.BehaviorClass, d.TraversalPath)
		}
	}

	var tbl strings.Builder
	fmt.Fprintf(&tbl, "\n%-22s %-15s %-14s %-9s %-44s %s\n", "SCENARIO", "IP", "CLASS", "OS", "TOOLS", "PATH")
	for _, sc := range scenarios {
		ip := sc.att.ip.String()
		a := got[ip]
		if a == nil {
			fmt.Fprintf(&tbl, "%-22s %-15s (no profile)\n", sc.name, ip)
			continue
		}
		var tools []string
		if a.Behavior != nil {
			for _, g := range a.Behavior.ToolGuesses {
				tools = append(tools, fmt.Sprintf("%s:%.2f", g.Tool, g.Confidence))
			}
		}
		os := a.OSGuess
		if os == "" {
			os = "-"
		}
		fmt.Fprintf(&tbl, "%-22s %-15s %-14s %-9s %-44s %s\n", sc.name, ip, a.BehaviorClass, os, strings.Join(tools, ","), a.TraversalPath)
	}
	t.Log(tbl.String())

	for _, sc := range scenarios {
		p := problems[sc.name]
		if len(p) == 0 {
			continue
		}
		ip := sc.att.ip.String()
		var b strings.Builder
		if a := got[ip]; a != nil {
			js, _ := json.MarshalIndent(a, "", "  ")
			fmt.Fprintf(&b, "profile:\n%s\n", js)
		}
		if ev := evs[ip]; ev != nil {
			fmt.Fprintf(&b, "sniffer events (%d, fp kinds %v, %d scans):\n%s\n", len(ev.snifferEvts), ev.kinds, ev.scans, head(ev.snifferEvts, 40))
			fmt.Fprintf(&b, "service events (%d):\n%s\n", len(ev.serviceEvts), head(ev.serviceEvts, 60))
		}
		t.Errorf("%s (%s): the profile did not settle as expected within 3 minutes:\n  - %s\n%s", sc.name, ip, strings.Join(p, "\n  - "), b.String())
	}
	if t.Failed() {
		t.Logf("decnet run output:\n%s", lastLines(pipeline.String(), 80))
	}
}

func head(lines []string, n int) string {
	if len(lines) > n {
		return strings.Join(lines[:n], "\n") + fmt.Sprintf("\n… (%d more)", len(lines)-n)
	}
	return strings.Join(lines, "\n")
}

func lastLines(s string, n int) string {
	lines := strings.Split(strings.TrimRight(s, "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}
