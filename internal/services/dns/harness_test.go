package dns

import (
	"context"
	"fmt"
	"net"
	"strconv"
	"sync"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
)

// harness runs the dns service in-process like servicetest.Start, on one loopback
// port for both UDP and TCP (DNS clients expect the same port for both).
// servicetest.Start keys listeners by port number alone, so it cannot wait for a
// service that declares 53/udp and 53/tcp; this harness does the same work (events
// through a full RFC 5424 format → parse round trip) for that case.
type harness struct {
	rt   *service.Runtime
	addr string

	mu     sync.Mutex
	events []event.Event
	cond   chan struct{}
	up     map[string]bool
}

func startHarness(t *testing.T, cfg service.Config, mutate ...func(*service.Runtime)) *harness {
	t.Helper()
	spec, ok := service.Lookup("dns")
	if !ok {
		t.Fatal("dns is not registered")
	}
	if cfg.Decky == "" {
		cfg.Decky = "decky-test"
	}
	if cfg.Hostname == "" {
		cfg.Hostname = "testhost"
	}
	cfg.Service = "dns"
	persona, err := spec.Resolve(cfg.Persona)
	if err != nil {
		t.Fatalf("persona: %v", err)
	}
	cfg.Persona = persona
	if cfg.Secrets == nil {
		if cfg.Secrets, err = spec.Secrets(service.Identity{Decky: cfg.Decky}); err != nil {
			t.Fatal(err)
		}
	}
	rt, err := service.NewRuntime(cfg)
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{rt: rt, cond: make(chan struct{}), up: map[string]bool{}}
	rt.Bind = map[int]string{Port: freeUDPTCP(t)}
	rt.OnListen = func(port int, a net.Addr) {
		h.mu.Lock()
		h.up[a.Network()] = true
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
	h.addr = rt.Bind[Port]
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- spec.Run(ctx, rt) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("dns returned: %v", err)
			}
		case <-time.After(10 * time.Second):
			t.Error("dns did not stop within 10s")
		}
	})
	deadline := time.Now().Add(10 * time.Second)
	for {
		h.mu.Lock()
		n := len(h.up)
		h.mu.Unlock()
		if n == 2 {
			return h
		}
		select {
		case err := <-done:
			t.Fatalf("dns exited before listening: %v", err)
		default:
		}
		if time.Now().After(deadline) {
			t.Fatal("dns did not listen on udp and tcp")
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (h *harness) signal() {
	close(h.cond)
	h.cond = make(chan struct{})
}

// Wait returns the first event matching pred (servicetest.Type), waiting up to timeout.
func (h *harness) Wait(t *testing.T, timeout time.Duration, what string, pred func(event.Event) bool) event.Event {
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
		n := len(h.events)
		h.mu.Unlock()
		select {
		case <-c:
		case <-deadline:
			t.Fatalf("no %s event within %v (%d events)", what, timeout, n)
			return event.Event{}
		}
	}
}

// freeUDPTCP returns a 127.0.0.1 port free for both UDP and TCP.
func freeUDPTCP(t *testing.T) string {
	for i := 0; i < 50; i++ {
		u, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		port := u.LocalAddr().(*net.UDPAddr).Port
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(port))
		u.Close()
		if err == nil {
			l.Close()
			return fmt.Sprintf("127.0.0.1:%d", port)
		}
	}
	t.Fatal("no loopback port free for both udp and tcp")
	return ""
}
