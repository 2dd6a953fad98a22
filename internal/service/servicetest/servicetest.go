// Package servicetest runs a registered service in-process on loopback for tests:
// real listeners on ephemeral ports, events captured after a full RFC 5424
// format → parse round trip, exactly as the collector will see them.
package servicetest

import (
	"bytes"
	"context"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
)

// Harness is one running service.
type Harness struct {
	RT *service.Runtime

	mu     sync.Mutex
	addrs  map[portKey]net.Addr
	events []event.Event
	cond   chan struct{}
}

// freeDualPort returns a loopback port number free for both TCP and UDP.
func freeDualPort(t testing.TB) int {
	for i := 0; i < 50; i++ {
		l, err := net.Listen("tcp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := l.Addr().(*net.TCPAddr).Port
		u, err := net.ListenPacket("udp", l.Addr().String())
		l.Close()
		if err == nil {
			u.Close()
			return port
		}
	}
	t.Fatal("no loopback port is free for both TCP and UDP")
	return 0
}

// portKey is a declared port: its number and "tcp" or "udp" (a service may declare
// both for one number, as sip and dns do).
type portKey struct {
	number int
	proto  string
}

func protoOf(a net.Addr) string {
	if _, ok := a.(*net.UDPAddr); ok {
		return "udp"
	}
	return "tcp"
}

// Start runs service name with cfg (Decky defaults to "decky-test", Distro to
// "ubuntu22") until the test ends. Every declared port listens on 127.0.0.1:0.
// The limits may be adjusted through the optional mutate callback before start.
func Start(t testing.TB, name string, cfg service.Config, mutate ...func(*service.Runtime)) *Harness {
	t.Helper()
	spec, ok := service.Lookup(name)
	if !ok {
		t.Fatalf("service %q is not registered (missing import?)", name)
	}
	if cfg.Decky == "" {
		cfg.Decky = "decky-test"
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "testhost"
	}
	if cfg.Distro == "" {
		cfg.Distro = "ubuntu22"
	}
	cfg.Service = name
	persona, err := spec.Resolve(cfg.Persona)
	if err != nil {
		t.Fatalf("persona: %v", err)
	}
	cfg.Persona = persona
	if cfg.Secrets == nil && spec.Secrets != nil {
		rtTmp, err := service.NewRuntime(cfg)
		if err != nil {
			t.Fatal(err)
		}
		cfg.Secrets, err = spec.Secrets(service.Identity{Decky: cfg.Decky, Hostname: cfg.Hostname, Distro: rtTmp.Distro, OSFamily: cfg.OSFamily})
		if err != nil {
			t.Fatalf("secrets: %v", err)
		}
	}
	rt, err := service.NewRuntime(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &Harness{RT: rt, addrs: map[portKey]net.Addr{}, cond: make(chan struct{})}
	rt.Bind = map[int]string{}
	protos := map[int]int{}
	for _, p := range spec.Ports {
		rt.Bind[p.Number] = "127.0.0.1:0"
		protos[p.Number]++
	}
	// A number declared for both TCP and UDP (dns, sip) gets one port for both, as
	// clients expect (dig +tcp asks the same port).
	for n, k := range protos {
		if k > 1 {
			rt.Bind[n] = "127.0.0.1:" + strconv.Itoa(freeDualPort(t))
		}
	}
	rt.OnListen = func(port int, a net.Addr) {
		h.mu.Lock()
		h.addrs[portKey{port, protoOf(a)}] = a
		h.signal()
		h.mu.Unlock()
	}
	rt.Sink = func(e event.Event) {
		line, err := event.Format(e)
		if err != nil {
			t.Errorf("event does not format: %v (%+v)", err, e)
			return
		}
		back, err := event.Parse(line)
		if err != nil {
			t.Errorf("event line does not parse: %v: %q", err, line)
			return
		}
		h.mu.Lock()
		h.events = append(h.events, back)
		h.signal()
		h.mu.Unlock()
	}
	for _, m := range mutate {
		m(rt)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- spec.Run(ctx, rt) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("service %s returned: %v", name, err)
			}
		case <-time.After(10 * time.Second):
			t.Errorf("service %s did not stop within 10s", name)
		}
	})
	// Wait until every declared port listens.
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		n := len(h.addrs)
		h.mu.Unlock()
		if n == len(spec.Ports) {
			break
		}
		select {
		case err := <-done:
			t.Fatalf("service %s exited before listening: %v", name, err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("service %s did not listen on all ports", name)
		}
		time.Sleep(10 * time.Millisecond)
	}
	return h
}

// signal wakes waiters; h.mu must be held.
func (h *Harness) signal() {
	close(h.cond)
	h.cond = make(chan struct{})
}

// Addr returns the host:port a declared port listens on: its TCP listener when the
// number is declared for both protocols (UDPAddr gives the other).
func (h *Harness) Addr(port int) string {
	if a := h.TCPAddr(port); a != "" {
		return a
	}
	return h.UDPAddr(port)
}

// TCPAddr returns the host:port of a declared TCP port ("" if none).
func (h *Harness) TCPAddr(port int) string { return h.addr(port, "tcp") }

// UDPAddr returns the host:port of a declared UDP port ("" if none).
func (h *Harness) UDPAddr(port int) string { return h.addr(port, "udp") }

func (h *Harness) addr(port int, proto string) string {
	h.mu.Lock()
	defer h.mu.Unlock()
	a, ok := h.addrs[portKey{port, proto}]
	if !ok {
		return ""
	}
	return a.String()
}

// Events returns a copy of the events so far.
func (h *Harness) Events() []event.Event {
	h.mu.Lock()
	defer h.mu.Unlock()
	return append([]event.Event(nil), h.events...)
}

// Wait returns the first event matching pred, waiting up to timeout; it fails the
// test when none arrives.
func (h *Harness) Wait(t testing.TB, timeout time.Duration, what string, pred func(event.Event) bool) event.Event {
	t.Helper()
	deadline := time.After(timeout)
	for {
		h.mu.Lock()
		for _, e := range h.events {
			if pred(e) {
				h.mu.Unlock()
				return e
			}
		}
		c := h.cond
		h.mu.Unlock()
		select {
		case <-c:
		case <-deadline:
			t.Fatalf("no %s event within %v; got:\n%s", what, timeout, h.dump())
			return event.Event{}
		}
	}
}

// Type is a predicate for Wait: an event of the given type (and, if given,
// with each field=value pair, written "k=v").
func Type(typ string, kv ...string) func(event.Event) bool {
	return func(e event.Event) bool {
		if e.Type != typ {
			return false
		}
		for _, p := range kv {
			k, v, _ := strings.Cut(p, "=")
			if e.Fields[k] != v {
				return false
			}
		}
		return true
	}
}

func (h *Harness) dump() string {
	var b bytes.Buffer
	h.mu.Lock()
	defer h.mu.Unlock()
	for _, e := range h.events {
		line, _ := event.Format(e)
		b.Write(line)
		b.WriteByte('\n')
	}
	return b.String()
}
