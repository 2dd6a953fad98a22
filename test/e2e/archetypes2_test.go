package e2e

import (
	"context"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/lab"
	"decnet/internal/service/servicetest"
	"decnet/internal/services/vnc"
	"decnet/internal/testenv"
)

// part2Port is one port of a part-2 decky and what nmap -sV must print for it.
type part2Port struct {
	proto string         // tcp or udp
	port  int            // the service's real port (nmap's probes depend on it)
	want  *regexp.Regexp // matched against nmap's port line after "PORT/PROTO ": state, service, version
	// light marks a port no nmap probe identifies (on the real product too):
	// it is scanned in a --version-light nmap of its own.
	light bool
}

// part2Decky is one decky of TestArchetypesPart2: its INI section, the services
// it must run, what nmap must say about its ports, and extra NSE scripts to run
// in the same nmap invocation.
type part2Decky struct {
	name     string
	ini      string
	services []string
	ports    []part2Port
	scripts  string
}

func tcp(port int, re string) part2Port {
	return part2Port{proto: "tcp", port: port, want: regexp.MustCompile(re)}
}
func udp(port int, re string) part2Port {
	return part2Port{proto: "udp", port: port, want: regexp.MustCompile(re)}
}

// unidentified marks p as a port no nmap probe identifies.
func unidentified(p part2Port) part2Port { p.light = true; return p }

// smb445 is what nmap says of a Windows 10+ SMB server (SMB1 off): no probe
// names it, so it is scanned with the unidentified ports.
var smb445 = unidentified(tcp(445, `^open\s+microsoft-ds\?$`))

// part2Fleet is one decky per part-2 archetype plus one carrying every part-2
// service no archetype has. Distros are pinned so the personas nmap sees are
// known. Where nmap 7.93 cannot name a real product either, the assertion is
// what nmap says of the real one, and a real client proves the service below.
var part2Fleet = []part2Decky{
	{name: "wks", ini: "archetype = windows-workstation\ndistro = windows10\n",
		services: []string{"smb", "rdp"},
		ports: []part2Port{
			smb445,
			tcp(3389, `^open\s+ms-wbt-server\s+Microsoft Terminal Services$`),
		}},
	{name: "srv", ini: "archetype = windows-server\ndistro = windows2019\n",
		services: []string{"smb", "rdp", "ldap"},
		ports: []part2Port{
			smb445,
			tcp(3389, `^open\s+ms-wbt-server\s+Microsoft Terminal Services$`),
			tcp(389, `^open\s+ldap\s+Microsoft Windows Active Directory LDAP \(Domain: corp\.local, Site: Default-First-Site-Name\)$`),
		}},
	{name: "dc", ini: "archetype = domain-controller\ndistro = windows2022\n",
		services: []string{"ldap", "smb", "rdp", "llmnr"},
		ports: []part2Port{
			tcp(389, `^open\s+ldap\s+Microsoft Windows Active Directory LDAP \(Domain: corp\.local, Site: Default-First-Site-Name\)$`),
			smb445,
			tcp(3389, `^open\s+ms-wbt-server\s+Microsoft Terminal Services$`),
			// Windows answers LLMNR and mDNS only for its own name (dig proves it
			// below) and advertises no DNS-SD services, so no nmap probe gets an
			// answer: open|filtered, as for a real DC.
			unidentified(udp(5353, `^open\|filtered\s+zeroconf$`)),
			unidentified(udp(5355, `^open\|filtered\s+llmnr$`)),
		}},
	{name: "printer", ini: "archetype = printer\ndistro = alpine\n",
		services: []string{"snmp", "ftp"},
		ports: []part2Port{
			udp(161, `^open\s+snmp\s+SNMPv1 server; net-snmp SNMPv3 server \(public\)$`),
			tcp(21, `^open\s+ftp\s+vsftpd 3\.0\.5$`),
		}},
	{name: "iot", ini: "archetype = iot-device\ndistro = alpine\n",
		services: []string{"mqtt", "snmp", "telnet"},
		ports: []part2Port{
			// nmap's mqtt-subscribe (a version script) names the broker from
			// $SYS/broker/version, in the service column.
			tcp(1883, `^open\s+mosquitto version 2\.0\.18$`),
			udp(161, `^open\s+snmp\s+SNMPv1 server; net-snmp SNMPv3 server \(public\)$`),
			tcp(23, `^open\s+telnet\s+BusyBox telnetd$`),
		}},
	{name: "ics", ini: "archetype = industrial-control\ndistro = debian\n",
		services: []string{"conpot", "snmp"},
		ports: []part2Port{
			tcp(502, `^open\s+modbus\s+Modbus TCP$`),
			tcp(102, `^open\s+iso-tsap\s+Siemens S7 PLC$`),
			udp(161, `^open\s+snmp\s+SNMPv1 server; net-snmp SNMPv3 server \(public\)$`),
		},
		scripts: "modbus-discover"},
	{name: "voip", ini: "archetype = voip-server\ndistro = debian\n\n[voip.sip]\nusers = 1001:Secret1\n",
		services: []string{"sip"},
		ports: []part2Port{
			tcp(5060, `^open\s+sip-proxy\s+FreePBX 16\.0\.33 \(Asterisk 18\.20\.0\)$`),
			udp(5060, `^open\s+sip-proxy\s+FreePBX 16\.0\.33 \(Asterisk 18\.20\.0\)$`),
		}},
	{name: "mon", ini: "archetype = monitoring-node\ndistro = debian\n",
		services: []string{"snmp", "ssh"},
		ports: []part2Port{
			udp(161, `^open\s+snmp\s+SNMPv1 server; net-snmp SNMPv3 server \(public\)$`),
			tcp(22, `^open\s+ssh\s+OpenSSH 9\.2p1 Debian 2\+deb12u3 \(protocol 2\.0\)$`),
		}},
	{name: "devops", ini: "archetype = devops-host\ndistro = ubuntu22\n",
		services: []string{"docker_api", "ssh", "k8s"},
		ports: []part2Port{
			tcp(2375, `^open\s+docker\s+Docker 24\.0\.7 \(API 1\.43\)$`),
			tcp(22, `^open\s+ssh\s+OpenSSH 8\.9p1 Ubuntu 3ubuntu0\.10 \(Ubuntu Linux; protocol 2\.0\)$`),
			// nmap 7.93 has no match for a kube-apiserver: it prints the TLS
			// service as unrecognised, with the anonymous 403 Status in its
			// fingerprint (checked below).
			unidentified(tcp(6443, `^open\s+ssl/`)),
		}},
	{name: "misc", ini: "services = vnc, mssql, mongodb, elasticsearch, tftp, dns, smtp_relay\ndistro = debian\n" +
		// nmap 7.93 matches Elasticsearch's root document only as 6.x–7.13 send it
		// (content-type first): 7.14+ put X-elastic-product before it and are
		// "unrecognized" even when real. The persona's version key picks one nmap knows.
		"\n[misc.elasticsearch]\nversion = 7.10.2\n",
		services: []string{"vnc", "mssql", "mongodb", "elasticsearch", "tftp", "dns", "smtp_relay"},
		ports: []part2Port{
			tcp(5900, `^open\s+vnc\s+VNC \(protocol 3\.8\)$`),
			tcp(1433, `^open\s+ms-sql-s\s+Microsoft SQL Server 2019 15\.00\.2000`),
			// mongod 6.0+ refuses nmap's OP_QUERY serverStatus probe, so nmap names
			// it from the HTTP-on-the-driver-port answer, as for a real 7.0.
			tcp(27017, `^open\s+mongodb\s+MongoDB 2\.5\.1 or later$`),
			tcp(9200, `^open\s+http\s+Elasticsearch REST API 7\.10\.2 \(name: [^;]+; cluster: elasticsearch; Lucene 8\.7\.0\)$`),
			tcp(25, `^open\s+smtp\s+Postfix smtpd$`),
			tcp(53, `^open\s+domain\s+ISC BIND 9\.18\.28-1~deb12u2 \(Debian Linux\)$`),
			udp(53, `^open\s+domain\s+ISC BIND 9\.18\.28-1~deb12u2 \(Debian Linux\)$`),
			// tftpd-hpa answers from a fresh port (the TFTP transfer ID), which
			// nmap cannot tie to its probe: open|filtered, as for the real one.
			// The tftp client below proves the service.
			unidentified(udp(69, `^open\|filtered\s+tftp$`)),
		},
		// nmap's MongoDB client sends OP_QUERY listDatabases, which mongod 6.0+
		// refuses: the decky answers as a real 7.0 does.
		scripts: "mongodb-databases"},
}

// TestArchetypesPart2 deploys one decky of each part-2 archetype (and one with
// the part-2 services no archetype carries) on the shared lab, then from the
// attacker namespace checks that nmap -sV (and -sU for the UDP services) names
// every service as the persona's product, and that real clients see what the
// real products would show them while their credentials and requests become
// events.
func TestArchetypesPart2(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireDocker(t)
	testenv.RequireTool(t, "nmap", "nsenter", "ss", "ldapsearch", "snmpget", "dig", "mosquitto_sub", "docker", "curl",
		"xvfb-run", "xfreerdp", "sipsak", "tftp", "hydra", "tsql", "swaks")
	bin := testenv.BuildDecnet(t)
	l := testenv.SharedLab(t)
	stateDir, dir := t.TempDir(), t.TempDir()

	var ini strings.Builder
	fmt.Fprintf(&ini, "[general]\nnet = %s\ngw = %s\ninterface = %s\n", l.Subnet, l.Gateway, l.Parent)
	for _, d := range part2Fleet {
		fmt.Fprintf(&ini, "\n[%s]\n%s", d.name, d.ini)
	}
	cfg := writeFile(t, dir, "archetypes2.ini", ini.String())

	// A crashed earlier run can leave labelled containers behind: teardown --all
	// with no state removes what the engine labels as ours.
	if out, errs, code := run(t, bin, "teardown", "--all", "--state-dir", stateDir); code != 0 {
		t.Logf("stale-fleet teardown: exit %d: %s %s", code, out, errs)
	}
	t.Cleanup(func() {
		if os.Getenv("DECNET_KEEP_FLEET") == "" {
			run(t, bin, "teardown", "--all", "--state-dir", stateDir)
		}
	})
	start := time.Now()
	mustRun(t, bin, "deploy", "--config", cfg, "--state-dir", stateDir)
	t.Logf("deploy took %v", time.Since(start).Round(time.Millisecond))

	var fleet []deckyStatus
	decodeJSON(t, mustRun(t, bin, "status", "--json", "--state-dir", stateDir), &fleet)
	checkAnnounced(t, l, fleet)
	by := map[string]deckyStatus{}
	for _, d := range fleet {
		by[d.Name] = d
	}
	for _, want := range part2Fleet {
		d, ok := by[want.name]
		if !ok {
			t.Fatalf("decky %s missing from status: %+v", want.name, fleet)
		}
		var got []string
		for _, s := range d.Services {
			got = append(got, s.Name)
			if s.State != "running" {
				t.Errorf("%s/%s is %s", d.Name, s.Name, s.State)
			}
		}
		if !sameSet(got, want.services) {
			t.Errorf("%s runs %v, want %v", d.Name, got, want.services)
		}
	}
	if t.Failed() {
		t.FailNow()
	}

	start = time.Now()
	var wg sync.WaitGroup
	for _, d := range part2Fleet {
		wg.Add(1)
		go func() {
			defer wg.Done()
			waitPorts(t, by[d.name], d.ports)
		}()
	}
	wg.Wait()
	if t.Failed() {
		t.FailNow()
	}
	t.Logf("every service port listened %v after deploy returned", time.Since(start).Round(time.Millisecond))

	t.Run("nmap -sV and -sU name every service as the persona's product", func(t *testing.T) {
		start := time.Now()
		// Per decky, one nmap for the ports nmap can identify (default -sV
		// intensity) and, beside it, one for the ports no probe identifies, with
		// --version-light: nmap says the same of those either way, but at the
		// default intensity it spends two minutes sending them every probe.
		// All nmaps run at once: they wait on probe timeouts, not on the CPU.
		outs := make([]string, len(part2Fleet))
		var mu sync.Mutex
		for i, d := range part2Fleet {
			for _, light := range []bool{false, true} {
				args := []string{"-Pn", "-n", "-sV"}
				if light {
					args = append(args, "--version-light")
				}
				var ps []string
				for _, p := range d.ports {
					if p.light != light {
						continue
					}
					ps = append(ps, fmt.Sprintf("%c:%d", strings.ToUpper(p.proto)[0], p.port))
					flag := map[string]string{"tcp": "-sS", "udp": "-sU"}[p.proto]
					if !slices.Contains(args, flag) {
						args = append(args, flag)
					}
				}
				if len(ps) == 0 {
					continue
				}
				args = append(args, "-p", strings.Join(ps, ","))
				if d.scripts != "" && !light {
					args = append(args, "--script", d.scripts)
				}
				args = append(args, by[d.name].IP)
				wg.Add(1)
				go func() {
					defer wg.Done()
					out, err := attacker(t, l, 3*time.Minute, "nmap", args...)
					if err != nil {
						t.Errorf("nmap %s: %v\n%s", strings.Join(args, " "), err, out)
					}
					mu.Lock()
					outs[i] += "$ nmap " + strings.Join(args, " ") + "\n" + out
					mu.Unlock()
				}()
			}
		}
		wg.Wait()
		t.Logf("nmap of all deckies took %v", time.Since(start).Round(time.Millisecond))
		for i, d := range part2Fleet {
			out := outs[i]
			bad := false
			for _, p := range d.ports {
				line := regexp.MustCompile(fmt.Sprintf(`(?m)^%d/%s +(.*)$`, p.port, p.proto)).FindStringSubmatch(out)
				if line == nil || !p.want.MatchString(strings.TrimSpace(line[1])) {
					bad = true
					t.Errorf("%s %d/%s: nmap says %q, want %s", d.name, p.port, p.proto, line, p.want)
				}
			}
			if bad || testing.Verbose() {
				t.Logf("nmap %s (%s):\n%s", d.name, by[d.name].IP, out)
			}
		}
		outOf := func(name string) string {
			return outs[slices.IndexFunc(part2Fleet, func(d part2Decky) bool { return d.name == name })]
		}
		// s7-info (a version script) and modbus-discover show the PLC's identity.
		for _, want := range []string{"Device identification: Schneider Electric BMX P34 2020 v2.7", "Module: 6ES7 315-2EH14-0AB0",
			"System Name: SIMATIC 300(1)", "Copyright: Original Siemens Equipment"} {
			if !strings.Contains(outOf("ics"), want) {
				t.Errorf("ics: modbus-discover / s7-info output lacks %q", want)
			}
		}
		for _, want := range []string{"mongodb-databases:", "errmsg = Unsupported OP_QUERY command: listDatabases.", "codeName = UnsupportedOpQueryCommand"} {
			if !strings.Contains(outOf("misc"), want) {
				t.Errorf("misc: mongodb-databases output lacks %q", want)
			}
		}
		// The unrecognised TLS service on 6443 is the API server: its anonymous 403.
		if fp := fingerprint(outOf("devops")); !strings.Contains(fp, "Audit-Id") || !strings.Contains(fp, `system:anonymous`) {
			t.Errorf("devops 6443: nmap's fingerprint is not the Kubernetes API server's anonymous answer:\n%s", fp)
		}
	})

	t.Run("real clients see the persona and their secrets become events", func(t *testing.T) {
		me := l.AttackerIP.String()
		from := func(typ string, kv ...string) func(event.Event) bool {
			match := servicetest.Type(typ, kv...)
			return func(e event.Event) bool { return e.AttackerIP == me && match(e) }
		}
		wks, srv, dc, iot, voip, devops, misc := by["wks"], by["srv"], by["dc"], by["iot"], by["voip"], by["devops"], by["misc"]

		// rdp: FreeRDP's NLA handshake; the NetNTLMv2 response verifies with the password.
		home := t.TempDir()
		out, _ := attackerEnv(t, l, time.Minute, []string{"HOME=" + home}, "xvfb-run", "-a", "xfreerdp", "/v:"+wks.IP, "/u:alice", "/p:Secret1",
			"/d:CORP", "/cert:ignore", "+auth-only", "/log-level:INFO")
		if !strings.Contains(out, "ERRCONNECT_LOGON_FAILURE") {
			t.Errorf("xfreerdp did not report a logon failure:\n%s", out)
		}
		e := waitEvents(t, containerOf(t, wks, "rdp"), 1, 15*time.Second, "rdp NetNTLMv2",
			from(event.Auth, "username=alice", "domain=CORP", "secret_kind=ntlmv2"))[0]
		if !credentialFor(t, e, "Secret1") {
			t.Errorf("rdp: captured hash %q does not verify with the password", e.Fields["hash"])
		}

		// ldap: the anonymous rootDSE of the persona domain, and a simple bind captured.
		out, _ = attacker(t, l, 30*time.Second, "ldapsearch", "-x", "-H", "ldap://"+dc.IP, "-s", "base", "-b", "", "defaultNamingContext", "dnsHostName")
		if !strings.Contains(out, "defaultNamingContext: DC=corp,DC=local") {
			t.Errorf("ldapsearch rootDSE:\n%s", out)
		}
		// (nmap's probe searched the rootDSE too: the attributes tell ldapsearch's apart.)
		waitEvents(t, containerOf(t, dc, "ldap"), 1, 10*time.Second, "ldap rootDSE search", func(e event.Event) bool {
			return from(event.Request, "operation=search", "rootdse=true")(e) && strings.Contains(e.Fields["attributes"], "defaultNamingContext")
		})
		bindDN := "CN=alice,CN=Users,DC=corp,DC=local"
		out, _ = attacker(t, l, 30*time.Second, "ldapsearch", "-x", "-H", "ldap://"+srv.IP, "-D", bindDN, "-w", "Secret1", "-s", "base", "-b", "")
		if !strings.Contains(out, "ldap_bind: Invalid credentials (49)") || !strings.Contains(out, "AcceptSecurityContext error, data 52e") {
			t.Errorf("ldapsearch simple bind: want AD's invalid-credentials answer:\n%s", out)
		}
		waitEvents(t, containerOf(t, srv, "ldap"), 1, 10*time.Second, "ldap simple bind",
			from(event.Auth, "username="+bindDN, "password=Secret1", "secret_kind=plaintext"))

		// llmnr: a unicast LLMNR query for the decky's own name is answered and logged.
		out, _ = attacker(t, l, 30*time.Second, "dig", "+tries=1", "+time=3", "-p", "5355", "@"+dc.IP, dc.Hostname, "A")
		if !strings.Contains(out, dc.IP) {
			t.Errorf("dig LLMNR %s did not get the decky's address:\n%s", dc.Hostname, out)
		}
		waitEvents(t, containerOf(t, dc, "llmnr"), 1, 10*time.Second, "llmnr query",
			from(event.Request, "protocol=llmnr", "query_name="+dc.Hostname+".", "query_type=A", "answered=true"))
		// mdns: the same name under .local, asked the legacy-unicast way.
		out, _ = attacker(t, l, 30*time.Second, "dig", "+tries=1", "+time=3", "-p", "5353", "@"+dc.IP, dc.Hostname+".local", "A")
		if !regexp.MustCompile(`(?i)` + regexp.QuoteMeta(dc.Hostname) + `\.local\.\s+\d+\s+IN\s+A\s+` + regexp.QuoteMeta(dc.IP)).MatchString(out) {
			t.Errorf("dig mDNS %s.local did not get the decky's address:\n%s", dc.Hostname, out)
		}
		waitEvents(t, containerOf(t, dc, "llmnr"), 1, 10*time.Second, "mdns query",
			from(event.Request, "protocol=mdns", "query_name="+dc.Hostname+".local.", "query_type=A", "answered=true"))

		// snmp: sysDescr through the v2c community, which is captured.
		out, _ = attacker(t, l, 30*time.Second, "snmpget", "-v2c", "-c", "public", "-t", "3", "-r", "1", iot.IP, "1.3.6.1.2.1.1.1.0")
		if !strings.Contains(out, `STRING: "Linux `+iot.Hostname+` `) {
			t.Errorf("snmpget sysDescr does not name the decky's persona (%s):\n%s", iot.Hostname, out)
		}
		waitEvents(t, containerOf(t, iot, "snmp"), 1, 10*time.Second, "snmp community",
			from(event.Auth, "password=public", "secret_kind=snmp_community", "snmp_version=2c"))

		// mqtt: the broker's $SYS version, with the CONNECT credentials captured.
		out, _ = attacker(t, l, 30*time.Second, "mosquitto_sub", "-h", iot.IP, "-u", "sensor", "-P", "Hunter2", "-t", "$SYS/broker/version", "-C", "1", "-W", "10")
		if !strings.Contains(out, "mosquitto version 2.0.18") {
			t.Errorf("mosquitto_sub $SYS/broker/version:\n%s", out)
		}
		waitEvents(t, containerOf(t, iot, "mqtt"), 1, 10*time.Second, "mqtt credential",
			from(event.Auth, "username=sensor", "password=Hunter2"))

		// sip: REGISTER with digest authentication; the digest is captured.
		out, _ = attacker(t, l, 30*time.Second, "sipsak", "-vvvvv", "-U", "-s", "sip:1001@"+voip.IP, "-a", "Secret1", "-u", "1001", "-C", "empty")
		if !strings.Contains(out, "401 Unauthorized") || !strings.Contains(out, "200 OK") {
			t.Errorf("sipsak REGISTER:\n%s", out)
		}
		waitEvents(t, containerOf(t, voip, "sip"), 1, 10*time.Second, "sip digest",
			from(event.Auth, "username=1001", "secret_kind=sip_digest", "outcome=success", "method=REGISTER"))

		// docker_api: the docker CLI pointed at the decky.
		out, _ = attackerEnv(t, l, time.Minute, []string{"DOCKER_HOST=tcp://" + devops.IP + ":2375", "DOCKER_CONFIG=" + t.TempDir(),
			"DOCKER_CONTEXT=", "DOCKER_TLS_VERIFY=", "DOCKER_API_VERSION="}, "docker", "version", "--format", "{{.Server.Version}} {{.Server.Os}}")
		if strings.TrimSpace(out) != "24.0.7 linux" {
			t.Errorf("docker version: %q", out)
		}
		waitEvents(t, containerOf(t, devops, "docker_api"), 1, 10*time.Second, "docker version request",
			func(e event.Event) bool {
				return e.AttackerIP == me && e.Type == event.Request && strings.HasSuffix(e.Fields["path"], "/version") &&
					strings.HasPrefix(e.Fields["user_agent"], "Docker-Client/")
			})

		// k8s: /version over TLS, and a bearer token recorded.
		out, _ = attacker(t, l, 30*time.Second, "curl", "-sSk", "https://"+devops.IP+":6443/version")
		if !strings.Contains(out, `"gitVersion": "v1.29.4"`) {
			t.Errorf("curl k8s /version:\n%s", out)
		}
		out, _ = attacker(t, l, 30*time.Second, "curl", "-sSk", "-H", "Authorization: Bearer dnt-e2e-token", "https://"+devops.IP+":6443/api/v1/namespaces")
		if !strings.Contains(out, `"kind": "NamespaceList"`) {
			t.Errorf("curl k8s namespaces with a bearer token:\n%s", out)
		}
		waitEvents(t, containerOf(t, devops, "k8s"), 1, 10*time.Second, "k8s bearer token",
			from(event.Auth, "secret_kind=bearer_token", "token=dnt-e2e-token"))

		// elasticsearch: the root document of the persona version.
		out, _ = attacker(t, l, 30*time.Second, "curl", "-sS", "http://"+misc.IP+":9200/")
		if !strings.Contains(out, `"number" : "7.10.2"`) || !strings.Contains(out, "You Know, for Search") {
			t.Errorf("curl elasticsearch /:\n%s", out)
		}
		waitEvents(t, containerOf(t, misc, "elasticsearch"), 1, 10*time.Second, "elasticsearch request", func(e event.Event) bool {
			return from(event.Request, "method=GET", "path=/")(e) && strings.HasPrefix(e.Fields["user_agent"], "curl/")
		})

		// dns: the persona zone's SOA, the query recorded.
		out, _ = attacker(t, l, 30*time.Second, "dig", "+tries=1", "+time=3", "@"+misc.IP, "corp.local", "SOA")
		if !strings.Contains(out, "status: NOERROR") || !regexp.MustCompile(`corp\.local\.\s+\d+\s+IN\s+SOA`).MatchString(out) {
			t.Errorf("dig corp.local SOA:\n%s", out)
		}
		waitEvents(t, containerOf(t, misc, "dns"), 1, 10*time.Second, "dns query", from(event.Request, "query_name=corp.local.", "query_type=SOA"))

		// tftp: a bait file read.
		out, _ = attacker(t, l, 30*time.Second, "tftp", misc.IP, "-m", "octet", "-c", "get", "pxelinux.cfg/default", dir+"/pxelinux.cfg")
		if b, err := os.ReadFile(dir + "/pxelinux.cfg"); err != nil || len(b) == 0 {
			t.Errorf("tftp get pxelinux.cfg/default: %v\n%s", err, out)
		}
		waitEvents(t, containerOf(t, misc, "tftp"), 1, 10*time.Second, "tftp read", from(event.Request, "opcode=rrq", "filename=pxelinux.cfg/default", "outcome=sent"))

		// mssql: FreeTDS's tsql login; the de-obfuscated password is captured.
		conf := writeFile(t, dir, "freetds.conf", "[global]\n\ttds version = 7.4\n\tencryption = request\n")
		out, _ = attackerEnv(t, l, 30*time.Second, []string{"FREETDSCONF=" + conf, "HOME=" + dir}, "tsql", "-H", misc.IP, "-p", "1433", "-U", "sa", "-P", "Secret1")
		if !strings.Contains(out, "Login failed for user 'sa'") {
			t.Errorf("tsql:\n%s", out)
		}
		waitEvents(t, containerOf(t, misc, "mssql"), 1, 10*time.Second, "mssql credential", from(event.Auth, "username=sa", "password=Secret1", "secret_kind=plaintext"))

		// vnc: hydra's VNC module; the challenge/response cracks back to the password.
		out, _ = attacker(t, l, time.Minute, "hydra", "-p", "Secret1", "-t", "1", "-I", "vnc://"+misc.IP)
		e = waitEvents(t, containerOf(t, misc, "vnc"), 1, 15*time.Second, "vnc response", from(event.Auth, "secret_kind=vnc_des"))[0]
		ch, err1 := hex.DecodeString(e.Fields["challenge"])
		resp, err2 := hex.DecodeString(e.Fields["response"])
		if pw, ok := vnc.Crack(ch, resp, []string{"wrong", "Secret1"}); err1 != nil || err2 != nil || !ok || pw != "Secret1" {
			t.Errorf("vnc: the captured response %v does not crack to hydra's password (hydra said:\n%s)", e.Fields, out)
		}

		// smtp_relay: foreign mail is accepted and queued like Postfix.
		out, _ = attacker(t, l, time.Minute, "swaks", "--server", misc.IP, "--to", "victim@example.org", "--from", "spam@x.example")
		if !regexp.MustCompile(`<-  250 2\.0\.0 Ok: queued as [0-9A-F]{10,11}`).MatchString(out) {
			t.Errorf("swaks through the open relay:\n%s", out)
		}
		waitEvents(t, containerOf(t, misc, "smtp_relay"), 1, 10*time.Second, "relayed rcpt",
			from(event.Command, "verb=RCPT", "to=victim@example.org", "outcome=relayed"))
	})

	if os.Getenv("DECNET_KEEP_FLEET") == "" {
		mustRun(t, bin, "teardown", "--all", "--state-dir", stateDir)
	}
}

// attackerEnv runs a command in the attacker namespace with extra environment.
func attackerEnv(t *testing.T, l *lab.Lab, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := l.Command(ctx, name, args...)
	cmd.Env = append(os.Environ(), env...)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// waitPorts waits until every port of d listens inside the decky's network
// namespace (UDP ones included, which a dial cannot tell): deploy returns once
// the containers run, a moment before each service has bound its ports.
func waitPorts(t *testing.T, d deckyStatus, ports []part2Port) {
	t.Helper()
	// Runs in a goroutine of its own: errors are reported with t.Errorf, never t.Fatal.
	pidOut, err := exec.Command("docker", "inspect", "-f", "{{.State.Pid}}", d.Base.Container).CombinedOutput()
	pid := strings.TrimSpace(string(pidOut))
	if err != nil {
		t.Errorf("docker inspect %s: %v: %s", d.Base.Container, err, pid)
		return
	}
	deadline := time.Now().Add(60 * time.Second)
	for {
		b, err := exec.Command("nsenter", "--net=/proc/"+pid+"/ns/net", "ss", "-Hlntu").CombinedOutput()
		out := string(b)
		if err != nil {
			t.Errorf("ss in %s's namespace: %v: %s", d.Name, err, out)
			return
		}
		listening := map[string]bool{}
		for _, line := range strings.Split(out, "\n") {
			f := strings.Fields(line)
			if len(f) < 5 {
				continue
			}
			if i := strings.LastIndexByte(f[4], ':'); i >= 0 {
				listening[f[0]+"/"+f[4][i+1:]] = true
			}
		}
		var missing []string
		for _, p := range ports {
			if !listening[p.proto+"/"+strconv.Itoa(p.port)] {
				missing = append(missing, fmt.Sprintf("%d/%s", p.port, p.proto))
			}
		}
		if len(missing) == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Errorf("%s: %s not listening 60s after deploy; the namespace has:\n%s", d.Name, strings.Join(missing, ", "), out)
			return
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// fingerprint joins the SF: lines of nmap's unrecognised-service fingerprints.
func fingerprint(out string) string {
	var b strings.Builder
	for _, line := range strings.Split(out, "\n") {
		if rest, ok := strings.CutPrefix(strings.TrimSpace(line), "SF:"); ok {
			b.WriteString(rest)
		}
	}
	return b.String()
}

// sameSet reports whether a and b hold the same strings, in any order.
func sameSet(a, b []string) bool {
	a, b = slices.Clone(a), slices.Clone(b)
	slices.Sort(a)
	slices.Sort(b)
	return slices.Equal(a, b)
}
