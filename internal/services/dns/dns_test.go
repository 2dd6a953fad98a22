package dns

import (
	"context"
	"fmt"
	"net"
	"os/exec"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/testenv"
)

func start(t *testing.T, cfg service.Config, mutate ...func(*service.Runtime)) (*servicetest.Harness, []string) {
	t.Helper()
	if cfg.Distro == "" {
		cfg.Distro = "debian"
	}
	if cfg.IP == "" {
		cfg.IP = "10.47.0.53"
	}
	h := servicetest.Start(t, "dns", cfg, mutate...)
	if h.TCPAddr(Port) != h.UDPAddr(Port) {
		t.Fatalf("dns listens on %s/tcp and %s/udp, want one port", h.TCPAddr(Port), h.UDPAddr(Port))
	}
	host, port, _ := net.SplitHostPort(h.UDPAddr(Port))
	return h, []string{"@" + host, "-p", port}
}

func dig(t *testing.T, srv []string, args ...string) string {
	t.Helper()
	out, err := servicetest.Run(t, 30*time.Second, nil, "dig", append(append([]string{"+tries=1", "+time=5"}, srv...), args...)...)
	if err != nil {
		t.Fatalf("dig %q: %v\n%s", args, err, out)
	}
	return out
}

func TestDigAuthoritative(t *testing.T) {
	h, srv := start(t, service.Config{})
	out := dig(t, srv, "www.corp.local", "A")
	if !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, "flags: qr aa rd;") ||
		!strings.Contains(out, "www.corp.local.\t\t3600\tIN\tA\t10.47.0.") || !strings.Contains(out, "; COOKIE: ") || !strings.Contains(out, "(good)") {
		t.Errorf("dig's view:\n%s", out)
	}
	e := h.Wait(t, 5*time.Second, "query", servicetest.Type(event.Request, "query_name=www.corp.local.", "query_type=A", "query_class=IN", "transport=udp"))
	if e.AttackerIP != "127.0.0.1" || e.Fields["rcode"] != "NOERROR" || !strings.Contains(e.Fields["flags"], "rd") || e.Fields["cookie"] != "true" {
		t.Errorf("event %+v", e)
	}

	out = dig(t, srv, "+tcp", "corp.local", "MX")
	if !strings.Contains(out, "corp.local.\t\t3600\tIN\tMX\t10 mail.corp.local.") {
		t.Errorf("MX over TCP:\n%s", out)
	}
	h.Wait(t, 5*time.Second, "tcp query", servicetest.Type(event.Request, "query_type=MX", "transport=tcp"))

	out = dig(t, srv, "ns1.corp.local", "AAAA")
	if !strings.Contains(out, "IN\tAAAA\tfd") {
		t.Errorf("AAAA:\n%s", out)
	}
	out = dig(t, srv, "nothere.corp.local")
	if !strings.Contains(out, "status: NXDOMAIN") || !strings.Contains(out, "corp.local.\t\t3600\tIN\tSOA\tns1.corp.local. hostmaster.corp.local.") {
		t.Errorf("NXDOMAIN:\n%s", out)
	}
	out = dig(t, srv, "www.corp.local", "MX")
	if !strings.Contains(out, "status: NOERROR") || !strings.Contains(out, "ANSWER: 0") {
		t.Errorf("NODATA:\n%s", out)
	}
}

func TestDigRecursion(t *testing.T) {
	_, srv := start(t, service.Config{})
	out := dig(t, srv, "example.com")
	if !strings.Contains(out, "status: REFUSED") || !strings.Contains(out, "recursion requested but not available") {
		t.Errorf("refuse:\n%s", out)
	}
	_, srv = start(t, service.Config{Persona: map[string]string{"recursion": "nxdomain"}})
	out = dig(t, srv, "example.com")
	if !strings.Contains(out, "status: NXDOMAIN") || strings.Contains(out, "recursion requested but not available") {
		t.Errorf("nxdomain:\n%s", out)
	}
}

func TestDigVersionBind(t *testing.T) {
	_, srv := start(t, service.Config{})
	out := dig(t, srv, "version.bind", "txt", "chaos")
	if !strings.Contains(out, `version.bind.		0	CH	TXT	"9.18.28-1~deb12u2-Debian"`) {
		t.Errorf("version.bind:\n%s", out)
	}
	_, srv = start(t, service.Config{Distro: "windows2019", Hostname: "DC01"})
	out = dig(t, srv, "version.bind", "txt", "chaos")
	if !strings.Contains(out, "status: REFUSED") {
		t.Errorf("windows version.bind:\n%s", out)
	}
	_, srv = start(t, service.Config{Persona: map[string]string{"version": "none"}})
	out = dig(t, srv, "version.bind", "txt", "chaos")
	if !strings.Contains(out, "ANSWER: 0") || !strings.Contains(out, "hostmaster.version.bind.") {
		t.Errorf("hidden version.bind:\n%s", out)
	}
}

func TestDigAXFR(t *testing.T) {
	h, srv := start(t, service.Config{})
	out, _ := servicetest.Run(t, 30*time.Second, nil, "dig", append(srv, "axfr", "corp.local")...)
	if !strings.Contains(out, "; Transfer failed.") {
		t.Errorf("refused AXFR:\n%s", out)
	}
	e := h.Wait(t, 5*time.Second, "axfr", servicetest.Type(event.Alert, "zone_transfer=axfr", "outcome=refused"))
	if e.Fields["query_name"] != "corp.local." || e.Fields["transport"] != "tcp" {
		t.Errorf("axfr event %+v", e.Fields)
	}

	h, srv = start(t, service.Config{Distro: "windows2022", Hostname: "WIN-DC7", Persona: map[string]string{"allow_axfr": "true", "domain": "acme.example"}})
	out = strings.Join(strings.Fields(dig(t, srv, "axfr", "acme.example")), " ")
	for _, want := range []string{
		"acme.example. 3600 IN SOA win-dc7.acme.example. hostmaster.acme.example.",
		"_ldap._tcp.dc._msdcs.acme.example. 3600 IN SRV 0 100 389 win-dc7.acme.example.",
		"_kerberos._tcp.acme.example. 3600 IN SRV 0 100 88 win-dc7.acme.example.",
		"acme.example. 3600 IN A 10.47.0.53",
		"sql01.acme.example. 3600 IN A 10.47.0.",
		"XFR size: ",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("AXFR lacks %q:\n%s", want, out)
		}
	}
	h.Wait(t, 5*time.Second, "axfr", servicetest.Type(event.Alert, "zone_transfer=axfr", "outcome=transferred"))
}

func TestHostileQueryName(t *testing.T) {
	h, srv := start(t, service.Config{})
	dig(t, srv, `a\]\"\010\255.corp.local`)
	e := h.Wait(t, 5*time.Second, "query", servicetest.Type(event.Request, "transport=udp"))
	if e.Fields["query_name"] != `a]\"\010\255.corp.local.` {
		t.Errorf("query_name %q", e.Fields["query_name"])
	}
}

func TestNmap(t *testing.T) {
	testenv.RequireTool(t, "nmap")
	testenv.RequireRoot(t) // -sU and port 53
	ip := freeLoopback53(t)
	start(t, service.Config{Persona: map[string]string{"allow_axfr": "true", "nsid": "ns1", "domain": "acme-corp.com"}}, func(rt *service.Runtime) {
		rt.Bind[Port] = ip + ":53"
	})
	ctx, cancel := context.WithTimeout(context.Background(), 4*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nmap", "-Pn", "-sU", "-sS", "-sV", "--version-intensity", "7",
		"--script", "dns-nsid,dns-zone-transfer", "--script-args", "dns-zone-transfer.domain=acme-corp.com",
		"-p", "U:53,T:53", ip).CombinedOutput()
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	for _, want := range []string{"ISC BIND 9.18.28-1~deb12u2 (Debian Linux)", "bind.version: 9.18.28-1~deb12u2-Debian", "NSID: ns1", "mail.acme-corp.com"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("nmap output lacks %q:\n%s", want, out)
		}
	}
}

// freeLoopback53 returns a 127.0.0.x address with 53/udp and 53/tcp free.
func freeLoopback53(t *testing.T) string {
	for i := 2; i < 50; i++ {
		ip := fmt.Sprintf("127.0.0.%d", i)
		l, err := net.Listen("tcp", ip+":53")
		if err != nil {
			continue
		}
		l.Close()
		u, err := net.ListenPacket("udp", ip+":53")
		if err != nil {
			continue
		}
		u.Close()
		return ip
	}
	testenv.Missing(t, "no loopback address has port 53 free for both UDP and TCP")
	return ""
}
