package llmnr

import (
	"context"
	"net"
	"net/netip"
	"os/exec"
	"strings"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/testenv"
)

func start(t *testing.T, cfg service.Config) *servicetest.Harness {
	t.Helper()
	if cfg.Distro == "" {
		cfg.Distro = "windows10"
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "DESKTOP-7K2QJ9A"
	}
	if cfg.IP == "" {
		cfg.IP = "10.47.0.21"
	}
	return servicetest.Start(t, "llmnr", cfg)
}

func dig(t *testing.T, addr string, args ...string) (string, error) {
	t.Helper()
	host, port, _ := net.SplitHostPort(addr)
	return servicetest.Run(t, 30*time.Second, nil, "dig", append([]string{"+tries=1", "+time=2", "+norecurse", "@" + host, "-p", port}, args...)...)
}

func TestDigLLMNROwnName(t *testing.T) {
	h := start(t, service.Config{})
	out, err := dig(t, h.Addr(PortLLMNR), "desktop-7k2qj9a", "A")
	if err != nil || !strings.Contains(out, "desktop-7k2qj9a.\t30\tIN\tA\t10.47.0.21") {
		t.Fatalf("dig's view (%v):\n%s", err, out)
	}
	e := h.Wait(t, 5*time.Second, "query", servicetest.Type(event.Request, "protocol=llmnr", "query_name=desktop-7k2qj9a.", "query_type=A", "answered=true"))
	if e.AttackerIP != "127.0.0.1" || e.Fields["answer"] != "10.47.0.21" {
		t.Errorf("event %+v", e)
	}
	// Another name: silent, as a real host is, but recorded.
	out, err = dig(t, h.Addr(PortLLMNR), "fileserver", "A")
	if err == nil || !strings.Contains(out, "timed out") {
		t.Errorf("answered a name the decky does not own (%v):\n%s", err, out)
	}
	h.Wait(t, 5*time.Second, "query", servicetest.Type(event.Request, "protocol=llmnr", "query_name=fileserver.", "answered=false"))
}

func TestDigMDNS(t *testing.T) {
	h := start(t, service.Config{})
	out, err := dig(t, h.Addr(PortMDNS), "DESKTOP-7K2QJ9A.local", "A")
	if err != nil || !strings.Contains(out, "DESKTOP-7K2QJ9A.local.\t10\tIN\tA\t10.47.0.21") || !strings.Contains(out, "flags: qr aa;") {
		t.Fatalf("dig's view (%v):\n%s", err, out)
	}
	h.Wait(t, 5*time.Second, "query", servicetest.Type(event.Request, "protocol=mdns", "query_name=DESKTOP-7K2QJ9A.local.", "query_type=A", "answered=true"))
}

func TestRespondModes(t *testing.T) {
	h := start(t, service.Config{Persona: map[string]string{"respond": "silent"}})
	if out, err := dig(t, h.Addr(PortLLMNR), "desktop-7k2qj9a"); err == nil {
		t.Errorf("silent persona answered:\n%s", out)
	}
	h.Wait(t, 5*time.Second, "query", servicetest.Type(event.Request, "answered=false"))

	h = start(t, service.Config{Persona: map[string]string{"respond": "all"}})
	out, err := dig(t, h.Addr(PortLLMNR), "wpad")
	if err != nil || !strings.Contains(out, "wpad.\t\t\t30\tIN\tA\t10.47.0.21") {
		t.Errorf("all persona did not answer (%v):\n%s", err, out)
	}
}

func TestDNSSDOnLinux(t *testing.T) {
	h := start(t, service.Config{Distro: "debian", Hostname: "nas01", Services: []string{"ssh", "smb", "llmnr"}})
	out, err := dig(t, h.Addr(PortMDNS), "_services._dns-sd._udp.local", "PTR")
	if err != nil || !strings.Contains(out, "PTR\t_ssh._tcp.local.") || !strings.Contains(out, "PTR\t_smb._tcp.local.") {
		t.Fatalf("service enumeration (%v):\n%s", err, out)
	}
	out, _ = dig(t, h.Addr(PortMDNS), "_smb._tcp.local", "PTR")
	if !strings.Contains(out, "nas01._smb._tcp.local.\t10\tIN\tSRV\t0 0 445 nas01.local.") || !strings.Contains(out, "nas01.local.\t\t10\tIN\tA\t10.47.0.21") {
		t.Errorf("instance lookup:\n%s", out)
	}
}

// A poisoner (here a Go stand-in doing what Responder does: answer every LLMNR name
// with its own address) answers the decky's bait query and is raised as an alert.
func TestBaitCatchesPoisoner(t *testing.T) {
	pc, err := net.ListenPacket("udp4", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer pc.Close()
	go func() {
		buf := make([]byte, 1500)
		for {
			n, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			q := new(mdns.Msg)
			if q.Unpack(buf[:n]) != nil || len(q.Question) == 0 {
				continue
			}
			r := new(mdns.Msg)
			r.SetReply(q)
			r.Answer = []mdns.RR{&mdns.A{Hdr: mdns.RR_Header{Name: q.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 30}, A: net.IPv4(6, 6, 6, 6)}}
			b, _ := r.Pack()
			pc.WriteTo(b, from)
		}
	}()
	h := start(t, service.Config{Persona: map[string]string{"bait_interval": "1", "bait_names": "fs-backup", "bait_target": pc.LocalAddr().String()}})
	e := h.Wait(t, 15*time.Second, "poisoning alert", servicetest.Type(event.Alert, "alert=name_poisoning", "bait_name=fs-backup", "answer=6.6.6.6"))
	if e.AttackerIP != "127.0.0.1" || e.AttackerPort != pc.LocalAddr().(*net.UDPAddr).Port {
		t.Errorf("alert from %s:%d", e.AttackerIP, e.AttackerPort)
	}
}

func TestNoBaitUnderTestBind(t *testing.T) {
	// A Windows decky baits by default, but never toward the LAN from a loopback-bound test.
	h := start(t, service.Config{Persona: map[string]string{"bait_interval": "1"}})
	time.Sleep(2500 * time.Millisecond)
	for _, e := range h.Events() {
		if e.Type == event.Alert {
			t.Errorf("unexpected alert %+v", e)
		}
	}
}

func TestHostileAndMalformed(t *testing.T) {
	h := start(t, service.Config{})
	c, err := net.Dial("udp", h.Addr(PortLLMNR))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.Write([]byte("\x01\x02garbage"))
	h.Wait(t, 5*time.Second, "error", servicetest.Type(event.Error, "protocol=llmnr"))
	q := new(mdns.Msg)
	q.SetQuestion("a]\"\x1b[31m.", mdns.TypeAAAA)
	b, err := q.Pack()
	if err != nil {
		t.Fatal(err)
	}
	c.Write(b)
	e := h.Wait(t, 5*time.Second, "query", servicetest.Type(event.Request, "query_type=AAAA"))
	if e.Fields["query_name"] != `a]\"\027[31m.` {
		t.Errorf("query_name %q", e.Fields["query_name"])
	}
}

func TestNmap(t *testing.T) {
	testenv.RequireTool(t, "nmap")
	testenv.RequireRoot(t) // -sU, and port 5353
	// nmap's DNS-SD probe and the dns-service-discovery script both want port 5353.
	ip := freeLoopbackUDP(t, PortMDNS)
	h := servicetest.Start(t, "llmnr", service.Config{Distro: "debian", Hostname: "nas01", IP: "10.47.0.21", Services: []string{"ssh", "smb"}},
		func(rt *service.Runtime) { rt.Bind[PortMDNS] = ip + ":5353" })
	host, port, _ := net.SplitHostPort(h.Addr(PortMDNS))
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	out, err := exec.CommandContext(ctx, "nmap", "-Pn", "-sU", "-sV", "--script", "dns-service-discovery", "-p", port, host).CombinedOutput()
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	t.Logf("nmap:\n%s", out)
	for _, want := range []string{"5353/udp open  mdns    DNS-based service discovery", "445/tcp smb", "22/tcp ssh", "Address=10.47.0.21"} {
		if !strings.Contains(string(out), want) {
			t.Errorf("nmap output lacks %q:\n%s", want, out)
		}
	}
}

// freeLoopbackUDP returns a 127.0.0.x address whose UDP port is free.
func freeLoopbackUDP(t *testing.T, port int) string {
	for i := 2; i < 50; i++ {
		ip := netip.AddrFrom4([4]byte{127, 0, 0, byte(i)})
		c, err := net.ListenPacket("udp", netip.AddrPortFrom(ip, uint16(port)).String())
		if err == nil {
			c.Close()
			return ip.String()
		}
	}
	t.Skipf("no loopback address with %d/udp free", port)
	return ""
}

func TestBaitNamesStablePerDecky(t *testing.T) {
	a, b := baitNames("decky-01"), baitNames("decky-01")
	if strings.Join(a, ",") != strings.Join(b, ",") || len(a) != 3 || a[0] != "wpad" || a[1] == a[2] {
		t.Errorf("bait names %v / %v", a, b)
	}
	for _, n := range a {
		if service.CheckDomain(n) != nil {
			t.Errorf("bait name %q is not a host name", n)
		}
	}
}
