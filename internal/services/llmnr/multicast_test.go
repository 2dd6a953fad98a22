package llmnr

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"sync"
	"testing"
	"time"

	mdns "github.com/miekg/dns"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/testenv"
)

// The multicast path as a deployed decky runs it: two network namespaces joined by a
// veth (dnt-llmnr-a holds the decky, dnt-llmnr-b a LAN host), the decky serving on
// the wildcard address and joining the groups, a real dig in b sending an LLMNR
// query to 224.0.0.252, and a poisoner in b answering the decky's bait. The service
// and the poisoner run as re-executions of this test binary inside the namespaces.
const (
	nsDecky = "dnt-llmnr-a"
	nsLAN   = "dnt-llmnr-b"
	vethA   = "dnt-llmnr-va"
	vethB   = "dnt-llmnr-vb"
)

func TestMulticastInNamespaces(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "ip")
	ip := func(args ...string) {
		t.Helper()
		if out, err := exec.Command("ip", args...).CombinedOutput(); err != nil {
			t.Fatalf("ip %s: %v\n%s", strings.Join(args, " "), err, out)
		}
	}
	cleanup := func() {
		exec.Command("ip", "netns", "del", nsDecky).Run()
		exec.Command("ip", "netns", "del", nsLAN).Run()
		exec.Command("ip", "link", "del", vethA).Run()
	}
	cleanup() // stale objects of a crashed run
	t.Cleanup(cleanup)
	ip("netns", "add", nsDecky)
	ip("netns", "add", nsLAN)
	ip("link", "add", vethA, "type", "veth", "peer", "name", vethB)
	ip("link", "set", vethA, "netns", nsDecky)
	ip("link", "set", vethB, "netns", nsLAN)
	ip("-n", nsDecky, "addr", "add", "10.99.0.1/24", "dev", vethA)
	ip("-n", nsLAN, "addr", "add", "10.99.0.2/24", "dev", vethB)
	ip("-n", nsDecky, "link", "set", vethA, "up")
	ip("-n", nsLAN, "link", "set", vethB, "up")
	ip("-n", nsDecky, "route", "add", "224.0.0.0/4", "dev", vethA)
	ip("-n", nsLAN, "route", "add", "224.0.0.0/4", "dev", vethB)

	ctx, cancel := context.WithTimeout(context.Background(), 40*time.Second)
	defer cancel()
	var mu sync.Mutex
	var events []event.Event
	decky := exec.CommandContext(ctx, "ip", "netns", "exec", nsDecky, os.Args[0], "-test.run", "^TestHelperDecky$", "-test.v")
	decky.Env = append(os.Environ(), "DNT_LLMNR_HELPER=decky")
	stdout, _ := decky.StdoutPipe()
	decky.Stderr = os.Stderr
	if err := decky.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); decky.Wait() }()
	ready := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			line := sc.Text()
			if line == "READY" {
				close(ready)
				continue
			}
			if e, err := event.Parse([]byte(line)); err == nil {
				mu.Lock()
				events = append(events, e)
				mu.Unlock()
			}
		}
	}()
	poisoner := exec.CommandContext(ctx, "ip", "netns", "exec", nsLAN, os.Args[0], "-test.run", "^TestHelperPoisoner$")
	poisoner.Env = append(os.Environ(), "DNT_LLMNR_HELPER=poisoner")
	if err := poisoner.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() { cancel(); poisoner.Wait() }()
	select {
	case <-ready:
	case <-time.After(15 * time.Second):
		t.Fatal("the decky helper did not start")
	}
	// A LAN host asks the LLMNR group for the decky's name; the decky answers unicast.
	// (dig cannot show this: it connects its socket to the group address, so the
	// kernel drops the answer from the decky's own address.)
	querier := exec.CommandContext(ctx, "ip", "netns", "exec", nsLAN, os.Args[0], "-test.run", "^TestHelperQuerier$", "-test.v")
	querier.Env = append(os.Environ(), "DNT_LLMNR_HELPER=querier")
	out, err := querier.CombinedOutput()
	if !strings.Contains(string(out), "ANSWER 10.99.0.1:5355 desktop-aaa. A 10.99.0.1") {
		t.Errorf("no unicast answer from the decky to a multicast query (%v):\n%s", err, out)
	}
	find := func(pred func(event.Event) bool) bool {
		deadline := time.Now().Add(15 * time.Second)
		for time.Now().Before(deadline) {
			mu.Lock()
			for _, e := range events {
				if pred(e) {
					mu.Unlock()
					return true
				}
			}
			mu.Unlock()
			time.Sleep(100 * time.Millisecond)
		}
		return false
	}
	if !find(func(e event.Event) bool {
		return e.Type == event.Request && e.AttackerIP == "10.99.0.2" && e.Fields["query_name"] == "desktop-aaa." && e.Fields["answered"] == "true"
	}) {
		t.Error("the multicast query was not recorded")
	}
	if !find(func(e event.Event) bool {
		return e.Type == event.Alert && e.AttackerIP == "10.99.0.2" && e.Fields["alert"] == "name_poisoning" && e.Fields["answer"] == "6.6.6.6"
	}) {
		t.Error("the poisoner's answer to the bait was not raised")
	}
	mu.Lock()
	defer mu.Unlock()
	for _, e := range events {
		if e.AttackerIP == "10.99.0.1" {
			t.Errorf("the decky recorded its own traffic: %+v", e)
		}
	}
}

// TestHelperDecky runs the service as deployed (wildcard, multicast, baiting every
// second) and prints its events; only TestMulticastInNamespaces starts it.
func TestHelperDecky(t *testing.T) {
	if os.Getenv("DNT_LLMNR_HELPER") != "decky" {
		t.Skip("helper process of TestMulticastInNamespaces")
	}
	spec, _ := service.Lookup("llmnr")
	p, err := spec.Resolve(map[string]string{"bait_interval": "1"})
	if err != nil {
		t.Fatal(err)
	}
	rt, err := service.NewRuntime(service.Config{Decky: "decky-01", Hostname: "DESKTOP-AAA", IP: "10.99.0.1", Distro: "windows10", Service: "llmnr", Persona: p})
	if err != nil {
		t.Fatal(err)
	}
	var mu sync.Mutex
	listening := 0
	rt.OnListen = func(int, net.Addr) {
		mu.Lock()
		defer mu.Unlock()
		if listening++; listening == 2 {
			fmt.Println("READY")
		}
	}
	rt.Sink = service.LineSink(os.Stdout, rt.Log)
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if err := spec.Run(ctx, rt); err != nil {
		t.Fatal(err)
	}
}

// TestHelperPoisoner answers every LLMNR query it hears on the group with 6.6.6.6,
// as Responder does.
func TestHelperPoisoner(t *testing.T) {
	if os.Getenv("DNT_LLMNR_HELPER") != "poisoner" {
		t.Skip("helper process of TestMulticastInNamespaces")
	}
	ifi, err := net.InterfaceByName(vethB)
	if err != nil {
		t.Fatal(err)
	}
	c, err := net.ListenMulticastUDP("udp4", ifi, net.UDPAddrFromAddrPort(netip.AddrPortFrom(llmnrGroup4, PortLLMNR)))
	if err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(30 * time.Second))
	buf := make([]byte, 1500)
	for {
		n, from, err := c.ReadFromUDP(buf)
		if err != nil {
			return
		}
		q := new(mdns.Msg)
		if q.Unpack(buf[:n]) != nil || q.Response || len(q.Question) != 1 || strings.EqualFold(q.Question[0].Name, "desktop-aaa.") {
			continue
		}
		r := new(mdns.Msg)
		r.SetReply(q)
		r.Answer = []mdns.RR{&mdns.A{Hdr: mdns.RR_Header{Name: q.Question[0].Name, Rrtype: mdns.TypeA, Class: mdns.ClassINET, Ttl: 30}, A: net.IPv4(6, 6, 6, 6)}}
		b, _ := r.Pack()
		c.WriteToUDP(b, from)
	}
}

// TestHelperQuerier multicasts one LLMNR query for the decky's name, as a Windows
// host does, and prints the answer.
func TestHelperQuerier(t *testing.T) {
	if os.Getenv("DNT_LLMNR_HELPER") != "querier" {
		t.Skip("helper process of TestMulticastInNamespaces")
	}
	c, err := net.ListenPacket("udp4", "0.0.0.0:0")
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	q := new(mdns.Msg)
	q.SetQuestion("desktop-aaa.", mdns.TypeA)
	q.RecursionDesired = false
	b, _ := q.Pack()
	if _, err := c.WriteTo(b, net.UDPAddrFromAddrPort(netip.AddrPortFrom(llmnrGroup4, PortLLMNR))); err != nil {
		t.Fatal(err)
	}
	c.SetDeadline(time.Now().Add(5 * time.Second))
	buf := make([]byte, 1500)
	n, from, err := c.ReadFrom(buf)
	if err != nil {
		t.Fatal(err)
	}
	r := new(mdns.Msg)
	if err := r.Unpack(buf[:n]); err != nil || len(r.Answer) != 1 {
		t.Fatalf("answer %v: %v", r, err)
	}
	a := r.Answer[0].(*mdns.A)
	fmt.Printf("ANSWER %s %s A %s\n", from, a.Hdr.Name, a.A)
}
