package snmp

import (
	"net"
	"os"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

func udpTarget(h *servicetest.Harness) string { return "udp:" + h.Addr(Port) }

func linuxConfig() service.Config {
	return service.Config{Hostname: "web01", IP: "10.0.0.5", MAC: "00:50:56:aa:bb:cc", Distro: "ubuntu22"}
}

func TestSnmpgetSystemGroup(t *testing.T) {
	h := servicetest.Start(t, "snmp", linuxConfig())
	out, err := servicetest.Run(t, 20*time.Second, nil, "snmpget", "-v2c", "-c", "public", "-On", "-r", "0", "-t", "3", udpTarget(h),
		"1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0", "1.3.6.1.2.1.1.3.0", "1.3.6.1.2.1.1.4.0", "1.3.6.1.2.1.1.5.0", "1.3.6.1.2.1.1.6.0")
	if err != nil {
		t.Fatalf("snmpget: %v\n%s", err, out)
	}
	for _, want := range []string{
		`.1.3.6.1.2.1.1.1.0 = STRING: "Linux web01 5.15.0-116-generic #126-Ubuntu SMP Mon Jul 1 10:14:24 UTC 2024 x86_64"`,
		`.1.3.6.1.2.1.1.2.0 = OID: .1.3.6.1.4.1.8072.3.2.10`,
		`.1.3.6.1.2.1.1.3.0 = Timeticks: (`,
		`.1.3.6.1.2.1.1.4.0 = STRING: "Me <me@example.org>"`,
		`.1.3.6.1.2.1.1.5.0 = STRING: "web01"`,
		`.1.3.6.1.2.1.1.6.0 = STRING: "Sitting on the Dock of the Bay"`,
	} {
		if !strings.Contains(out, want) {
			t.Errorf("snmpget output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "Timeticks: (0)") || !strings.Contains(out, "days") {
		t.Errorf("sysUpTime should be days, not a fresh boot:\n%s", out)
	}
	e := h.Wait(t, 5*time.Second, "community", servicetest.Type(event.Auth, "password=public", "secret_kind=snmp_community", "outcome=success", "snmp_version=2c", "access=read-only"))
	if e.AttackerIP != "127.0.0.1" || e.Fields["secret_b64"] != "cHVibGlj" {
		t.Errorf("credential event %+v", e)
	}
	h.Wait(t, 5*time.Second, "request", servicetest.Type(event.Request, "pdu=get", "outcome=answered"))
}

func TestWalksEndCleanly(t *testing.T) {
	h := servicetest.Start(t, "snmp", linuxConfig())
	for _, args := range [][]string{
		{"snmpwalk", "-v1", "-c", "public", "-On"},
		{"snmpwalk", "-v2c", "-c", "public", "-On"},
		{"snmpbulkwalk", "-v2c", "-c", "public", "-On", "-Cr25"},
	} {
		out, err := servicetest.Run(t, 30*time.Second, nil, args[0], append(args[1:], "-r", "0", "-t", "3", udpTarget(h), "1.3.6.1.2.1")...)
		if err != nil {
			t.Fatalf("%v: %v\n%s", args, err, out)
		}
		for _, want := range []string{
			".1.3.6.1.2.1.2.1.0 = INTEGER: 2",
			`.1.3.6.1.2.1.2.2.1.2.2 = STRING: "ens18"`, // the NIC name the decky's shell shows
			".1.3.6.1.2.1.2.2.1.6.2 = Hex-STRING: 00 50 56 AA BB CC",
			".1.3.6.1.2.1.2.2.1.10.2 = Counter32: ",
			".1.3.6.1.2.1.4.20.1.1.10.0.0.5 = IpAddress: 10.0.0.5",
			".1.3.6.1.2.1.25.1.6.0 = Gauge32: ",
			`.1.3.6.1.2.1.25.1.4.0 = STRING: "BOOT_IMAGE=/boot/vmlinuz-5.15.0-116-generic root=UUID=`,
		} {
			if !strings.Contains(out, want) {
				t.Errorf("%v output lacks %q:\n%s", args, want, out)
			}
		}
		if strings.Contains(out, "Timeout") || strings.Contains(out, "Error") || strings.Contains(out, "not increasing") {
			t.Errorf("%v did not end cleanly:\n%s", args, out)
		}
	}
	// One credential event per source and version, not one per request.
	n := 0
	for _, e := range h.Events() {
		if e.Type == event.Auth && e.Fields["snmp_version"] == "2c" {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d v2c credential events, want 1", n)
	}
	h.Wait(t, 5*time.Second, "getbulk", servicetest.Type(event.Request, "pdu=getbulk", "max_repetitions=25"))
}

func TestWrongCommunityIsSilent(t *testing.T) {
	h := servicetest.Start(t, "snmp", linuxConfig())
	out, err := servicetest.Run(t, 20*time.Second, nil, "snmpget", "-v2c", "-c", "s3cr]t\"x", "-r", "0", "-t", "1", udpTarget(h), "1.3.6.1.2.1.1.5.0")
	if err == nil || !strings.Contains(out, "Timeout: No Response from") {
		t.Errorf("a wrong community should get no answer: %v\n%s", err, out)
	}
	e := h.Wait(t, 5*time.Second, "failed community", servicetest.Type(event.Auth, "outcome=failure", "secret_kind=snmp_community"))
	if e.Fields["password"] != `s3cr]t"x` {
		t.Errorf("community captured as %q", e.Fields["password"])
	}
	h.Wait(t, 5*time.Second, "request", servicetest.Type(event.Request, "outcome=no_answer"))
}

func TestPersonaCommunitiesAndSet(t *testing.T) {
	cfg := linuxConfig()
	cfg.Persona = map[string]string{"communities": "monitor", "rw_communities": "private", "sys_location": "DC2 rack 14"}
	h := servicetest.Start(t, "snmp", cfg)
	if out, _ := servicetest.Run(t, 20*time.Second, nil, "snmpget", "-v1", "-c", "public", "-r", "0", "-t", "1", udpTarget(h), "1.3.6.1.2.1.1.5.0"); !strings.Contains(out, "Timeout") {
		t.Errorf("public is not a community of this persona:\n%s", out)
	}
	out, err := servicetest.Run(t, 20*time.Second, nil, "snmpget", "-v1", "-c", "monitor", "-Ov", "-r", "0", "-t", "3", udpTarget(h), "1.3.6.1.2.1.1.6.0")
	if err != nil || strings.TrimSpace(out) != `STRING: "DC2 rack 14"` {
		t.Errorf("sysLocation = %q, %v", out, err)
	}
	out, _ = servicetest.Run(t, 20*time.Second, nil, "snmpset", "-v2c", "-c", "monitor", "-r", "0", "-t", "3", udpTarget(h), "1.3.6.1.2.1.1.6.0", "s", "pwned")
	if !strings.Contains(out, "noAccess") {
		t.Errorf("SET with a read-only community: %s", out)
	}
	out, _ = servicetest.Run(t, 20*time.Second, nil, "snmpset", "-v2c", "-c", "private", "-r", "0", "-t", "3", udpTarget(h), "1.3.6.1.2.1.1.6.0", "s", "pwned")
	if !strings.Contains(out, "notWritable") {
		t.Errorf("SET with a read-write community: %s", out)
	}
	h.Wait(t, 5*time.Second, "set", servicetest.Type(event.Request, "pdu=set", "values=.1.3.6.1.2.1.1.6.0=pwned"))
	h.Wait(t, 5*time.Second, "rw", servicetest.Type(event.Auth, "password=private", "access=read-write", "outcome=success"))
	// GET of a missing instance / object (v2c exceptions).
	out, _ = servicetest.Run(t, 20*time.Second, nil, "snmpget", "-v2c", "-c", "monitor", "-On", "-r", "0", "-t", "3", udpTarget(h), "1.3.6.1.2.1.1.5.1", "1.3.6.1.2.1.99.1.0")
	if !strings.Contains(out, "No Such Instance") || !strings.Contains(out, "No Such Object") {
		t.Errorf("missing instance/object: %s", out)
	}
}

func TestPersonaFollowsOS(t *testing.T) {
	cases := []struct {
		distro, descr, objectID string
		v3                      bool
	}{
		{"windows2019", "Hardware: Intel64 Family 6 Model 85 Stepping 7 AT/AT COMPATIBLE - Software: Windows Version 6.3 (Build 17763 Multiprocessor Free)", ".1.3.6.1.4.1.311.1.1.3.1.2", false},
		{"ios", "Cisco IOS Software, C2960X Software (C2960X-UNIVERSALK9-M), Version 15.2(7)E10", ".1.3.6.1.4.1.9.1.1208", true},
		{"freebsd", "FreeBSD web01 14.1-RELEASE FreeBSD 14.1-RELEASE", ".1.3.6.1.4.1.8072.3.2.8", true},
	}
	for _, c := range cases {
		t.Run(c.distro, func(t *testing.T) {
			cfg := linuxConfig()
			cfg.Distro = c.distro
			h := servicetest.Start(t, "snmp", cfg)
			out, err := servicetest.Run(t, 20*time.Second, nil, "snmpget", "-v2c", "-c", "public", "-On", "-r", "0", "-t", "3", udpTarget(h), "1.3.6.1.2.1.1.1.0", "1.3.6.1.2.1.1.2.0")
			if err != nil || !strings.Contains(out, c.descr) || !strings.Contains(out, "OID: "+c.objectID) {
				t.Errorf("sysDescr/sysObjectID for %s: %v\n%s", c.distro, err, out)
			}
			out, _ = servicetest.Run(t, 20*time.Second, nil, "snmpget", "-v3", "-u", "alice", "-l", "noAuthNoPriv", "-r", "0", "-t", "1", udpTarget(h), "1.3.6.1.2.1.1.5.0")
			if got := strings.Contains(out, "Unknown user name"); got != c.v3 {
				t.Errorf("v3 answered=%v, want %v:\n%s", got, c.v3, out)
			}
		})
	}
}

func TestV3UserAndHMACCaptured(t *testing.T) {
	h := servicetest.Start(t, "snmp", linuxConfig())
	out, err := servicetest.Run(t, 20*time.Second, nil, "snmpget", "-v3", "-u", "alice", "-l", "authNoPriv", "-a", "SHA", "-A", "Winter2024!",
		"-r", "0", "-t", "3", udpTarget(h), "1.3.6.1.2.1.1.5.0")
	if err == nil || !strings.Contains(out, "Unknown user name") {
		t.Fatalf("snmpget -v3: %v\n%s", err, out)
	}
	h.Wait(t, 5*time.Second, "discovery", servicetest.Type(event.Request, "snmp_version=3", "report=unknownEngineID"))
	e := h.Wait(t, 5*time.Second, "v3 credential", servicetest.Type(event.Auth, "username=alice", "security_level=authNoPriv", "secret_kind=snmpv3_hmac", "hashcat_mode=25000"))
	// The engine ID ends with the boot time in seconds, which an agent made now
	// may put a second later than the harness's: compare what comes before it.
	a := newAgent(h.RT, time.Now())
	want := hexString(a.p.engineID)
	if got := e.Fields["engine_id"]; !strings.Contains(e.Fields["hash"], "$"+strings.ToLower(got)+"$") || len(got) != len(want) || !strings.EqualFold(got[:len(got)-8], want[:len(want)-8]) {
		t.Errorf("hash %q does not carry the decky's engine ID %s", e.Fields["hash"], want)
	}
	if !verifyV3(t, e.Fields["hash"], "Winter2024!") {
		t.Errorf("the captured HMAC does not verify with the password: %s", e.Fields["hash"])
	}
	if verifyV3(t, e.Fields["hash"], "Winter2025!") {
		t.Errorf("the captured HMAC verifies with a wrong password")
	}
}

func TestNmapIdentifiesNetSNMP(t *testing.T) {
	if testingShort() {
		t.Skip("nmap scan skipped in -short mode")
	}
	// nmap sends its SNMP probes only to port 161: listen there on a loopback address
	// of our own (root only).
	requireRootBind(t)
	h := servicetest.Start(t, "snmp", linuxConfig(), func(rt *service.Runtime) { rt.Bind[Port] = "127.0.0.161:161" })
	host, _, _ := net.SplitHostPort(h.Addr(Port))
	out, err := servicetest.Run(t, 3*time.Minute, nil, "nmap", "-sU", "-sV", "-Pn", "-n", "-p161", "--script", "snmp-sysdescr", host)
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	for _, want := range []string{"161/udp open", "snmp", "SNMPv1 server; net-snmp SNMPv3 server (public)", "Linux web01 5.15.0-116-generic"} {
		if !strings.Contains(out, want) {
			t.Errorf("nmap output lacks %q:\n%s", want, out)
		}
	}
}

func TestV3HashCracksWithHashcat(t *testing.T) {
	if testing.Short() {
		t.Skip("hashcat run skipped in -short mode")
	}
	h := servicetest.Start(t, "snmp", linuxConfig())
	servicetest.Run(t, 20*time.Second, nil, "snmpget", "-v3", "-u", "bob", "-l", "authNoPriv", "-a", "MD5", "-A", "letmein123",
		"-r", "0", "-t", "3", udpTarget(h), "1.3.6.1.2.1.1.5.0")
	e := h.Wait(t, 5*time.Second, "v3 credential", servicetest.Type(event.Auth, "username=bob", "hashcat_mode=25000"))
	if got := servicetest.Hashcat(t, "25000", e.Fields["hash"], []string{"password", "admin", "letmein123", "public"}); got != "letmein123" {
		t.Errorf("hashcat recovered %q", got)
	}
}

func TestHydraCommunitiesCaptured(t *testing.T) {
	if testing.Short() {
		t.Skip("hydra waits for each silent community: skipped in -short mode")
	}
	h := servicetest.Start(t, "snmp", linuxConfig())
	host, port, _ := net.SplitHostPort(h.Addr(Port))
	words := []string{"admin", "private", "cisco", "s3cret", "public"} // hydra stops at the first community that works
	pw := t.TempDir() + "/communities.txt"
	if err := os.WriteFile(pw, []byte(strings.Join(words, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	out, _ := servicetest.Run(t, 2*time.Minute, nil, "hydra", "-P", pw, "-t", "1", "-W", "0", "-I", "-s", port, host, "snmp")
	if !strings.Contains(out, "password: public") {
		t.Errorf("hydra should find the community public:\n%s", out)
	}
	for _, w := range words {
		outcome := "failure"
		if w == "public" {
			outcome = "success"
		}
		h.Wait(t, 5*time.Second, "community "+w, servicetest.Type(event.Auth, "password="+w, "secret_kind=snmp_community", "outcome="+outcome))
	}
}
