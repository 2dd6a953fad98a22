package service_test

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"net/netip"
	"runtime"
	"strings"
	"sync"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/fleet"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

// The "rtecho" service is a test fixture of the framework itself: it echoes lines,
// panics on "boom" and blocks on "hang", so the runtime's guarantees can be checked
// with real TCP connections.
func init() {
	service.Register(service.Spec{
		Name:  "rtecho",
		Ports: []fleet.Port{{Number: 7, Proto: "tcp"}},
		Keys:  []service.Key{{Name: "greeting", Kind: service.String, Default: "hello"}},
		Run: func(ctx context.Context, rt *service.Runtime) error {
			return rt.ServeTCP(ctx, 7, func(ctx context.Context, c *service.Conn) {
				fmt.Fprintf(c, "%s\n", rt.Persona("greeting"))
				sc := bufio.NewScanner(c)
				sc.Buffer(make([]byte, 256), rt.Limits.MaxLine)
				for sc.Scan() {
					switch line := sc.Text(); line {
					case "boom":
						panic("handler bug")
					default:
						c.Emit(event.Command, map[string]string{"command": line}, "")
						fmt.Fprintf(c, "%s\n", line)
					}
				}
			})
		},
	})
}

// "rtudp" echoes datagrams and records each as a request event, to check the
// runtime's UDP limits.
func init() {
	service.Register(service.Spec{
		Name:  "rtudp",
		Ports: []fleet.Port{{Number: 9, Proto: "udp"}},
		Run: func(ctx context.Context, rt *service.Runtime) error {
			return rt.ServeUDP(ctx, 9, func(ctx context.Context, p *service.Packet) {
				rt.Emit(event.Request, p.Peer, map[string]string{"data": string(p.Data)}, "")
				p.Reply(p.Data)
			})
		},
	})
}

// TestDatagramLimits: a source flooding a UDP service gets its budget (burst and
// rate) handled and answered, the rest dropped unanswered and summarised as
// refusals; another source is still served; the total budget caps all sources.
func TestDatagramLimits(t *testing.T) {
	h := servicetest.Start(t, "rtudp", service.Config{}, func(rt *service.Runtime) {
		rt.Limits.DatagramsPerSource = 10 // burst 20
		rt.Limits.DatagramsTotal = 40     // burst 80
	})
	send := func(from string, n int) (answered int) {
		c, err := net.DialUDP("udp", &net.UDPAddr{IP: net.ParseIP(from)}, net.UDPAddrFromAddrPort(netip.MustParseAddrPort(h.UDPAddr(9))))
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetReadBuffer(1 << 20)
		for i := 0; i < n; i++ {
			if _, err := c.Write([]byte(fmt.Sprintf("%s-%d", from, i))); err != nil {
				t.Fatal(err)
			}
		}
		buf := make([]byte, 64)
		for {
			c.SetReadDeadline(time.Now().Add(300 * time.Millisecond))
			if _, err := c.Read(buf); err != nil {
				return answered
			}
			answered++
		}
	}
	start := time.Now()
	got := send("127.0.0.2", 200)
	// 20 at once, then 10/s for as long as the sending and the read wait took.
	if most := 20 + int(time.Since(start).Seconds()*10) + 1; got < 20 || got > most {
		t.Errorf("a source flooding 200 datagrams got %d answered, want 20 to %d", got, most)
	}
	h.Wait(t, 5*time.Second, "refusal", servicetest.Type(event.Connect, "outcome=refused", "reason=datagram rate", "count=1"))
	if got := send("127.0.0.3", 5); got != 5 {
		t.Errorf("another source got %d of 5 datagrams answered during the flood", got)
	}
	// Total budget: 80 burst minus what was used, refilled at 40/s; ten sources
	// with a per-source burst of 20 each cannot all get theirs.
	total := 0
	start = time.Now()
	for i := 10; i < 20; i++ {
		total += send(fmt.Sprintf("127.0.0.%d", i), 20)
	}
	if most := 80 + int(time.Since(start).Seconds()*40) + 1; total > most {
		t.Errorf("ten sources got %d datagrams answered in %s, over the total budget (%d)", total, time.Since(start).Round(time.Millisecond), most)
	}
	requests := 0
	for _, e := range h.Events() {
		if e.Type == event.Request {
			requests++
		}
	}
	if handled := got + 5 + total; requests != handled {
		t.Errorf("%d request events for %d answered datagrams", requests, handled)
	}
}

func dial(t *testing.T, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c, bufio.NewReader(c)
}

func TestRuntimeEventsAndPanicIsolation(t *testing.T) {
	h := servicetest.Start(t, "rtecho", service.Config{Persona: map[string]string{"greeting": "SSH-ish 1.0"}})
	c, r := dial(t, h.Addr(7))
	defer c.Close()
	if line, _ := r.ReadString('\n'); line != "SSH-ish 1.0\n" {
		t.Fatalf("greeting %q", line)
	}
	fmt.Fprintf(c, "ls -la\n")
	if line, _ := r.ReadString('\n'); line != "ls -la\n" {
		t.Fatalf("echo %q", line)
	}
	e := h.Wait(t, 5*time.Second, "command", servicetest.Type(event.Command, "command=ls -la"))
	local := c.LocalAddr().(*net.TCPAddr)
	if e.AttackerIP != "127.0.0.1" || e.AttackerPort != local.Port || e.Decky != "decky-test" || e.Service != "rtecho" || e.ID == "" {
		t.Errorf("event identity wrong: %+v (client port %d)", e, local.Port)
	}
	h.Wait(t, 5*time.Second, "connect", servicetest.Type(event.Connect, "port=7"))

	// A panic ends only that connection; the service keeps serving.
	fmt.Fprintf(c, "boom\n")
	h.Wait(t, 5*time.Second, "error", servicetest.Type(event.Error))
	h.Wait(t, 5*time.Second, "disconnect", servicetest.Type(event.Disconnect, "port=7"))
	c2, r2 := dial(t, h.Addr(7))
	defer c2.Close()
	if line, _ := r2.ReadString('\n'); line != "SSH-ish 1.0\n" {
		t.Fatalf("service did not survive a handler panic: %q", line)
	}
}

// TestRefusalsAreSummarised: a source refused again and again yields one event at
// once and one summary per window carrying the count, never one event per connection
// and never a lost count.
func TestRefusalsAreSummarised(t *testing.T) {
	h := servicetest.Start(t, "rtecho", service.Config{}, func(rt *service.Runtime) {
		rt.Limits.MaxPerSource = 1
	})
	hold, r := dial(t, h.Addr(7))
	defer hold.Close()
	r.ReadString('\n')
	for i := 0; i < 50; i++ {
		c, r := dial(t, h.Addr(7))
		c.SetReadDeadline(time.Now().Add(2 * time.Second))
		r.ReadString('\n')
		c.Close()
	}
	h.Wait(t, 5*time.Second, "first refusal", servicetest.Type(event.Connect, "outcome=refused", "count=1"))
	h.Wait(t, service.RefusalWindow+5*time.Second, "summary", servicetest.Type(event.Connect, "outcome=refused", "count=49"))
	n := 0
	for _, e := range h.Events() {
		if e.Type == event.Connect && e.Fields["outcome"] == "refused" {
			n++
		}
	}
	if n != 2 {
		t.Errorf("%d refusal events for 50 refused connections, want 2", n)
	}
}

func TestRuntimeLimits(t *testing.T) {
	h := servicetest.Start(t, "rtecho", service.Config{}, func(rt *service.Runtime) {
		rt.Limits.MaxPerSource = 3
		rt.Limits.IdleTimeout = 300 * time.Millisecond
	})
	var conns []net.Conn
	for i := 0; i < 3; i++ {
		c, r := dial(t, h.Addr(7))
		conns = append(conns, c)
		r.ReadString('\n')
	}
	// The fourth connection from the same source is refused (closed at once).
	c, r := dial(t, h.Addr(7))
	c.SetReadDeadline(time.Now().Add(2 * time.Second))
	if _, err := r.ReadString('\n'); err == nil {
		t.Fatal("a connection beyond the per-source limit was served")
	}
	c.Close()
	h.Wait(t, 5*time.Second, "refused connect", servicetest.Type(event.Connect, "outcome=refused", "reason=per-source connection limit", "count=1"))

	// Idle connections are closed by the idle timeout, freeing their slots.
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(3 * time.Second))
		if _, err := bufio.NewReader(c).ReadString('\n'); err == nil {
			t.Error("an idle connection was not closed")
		}
		c.Close()
	}
	deadline := time.Now().Add(3 * time.Second)
	for h.RT.OpenConns() != 0 && time.Now().Before(deadline) {
		time.Sleep(20 * time.Millisecond)
	}
	if n := h.RT.OpenConns(); n != 0 {
		t.Errorf("%d connections still counted after idle timeout", n)
	}

	// A line longer than MaxLine ends the connection instead of growing memory.
	c, r = dial(t, h.Addr(7))
	defer c.Close()
	r.ReadString('\n')
	fmt.Fprintf(c, "%s\n", strings.Repeat("A", service.DefaultLimits.MaxLine*2))
	c.SetReadDeadline(time.Now().Add(3 * time.Second))
	if line, err := r.ReadString('\n'); err == nil {
		t.Errorf("an overlong line was answered (%d bytes)", len(line))
	}
}

// TestRuntimeFlood opens thousands of connections (many at once) and checks that the
// service stays up, never holds more than its limit, and its heap stays bounded.
func TestRuntimeFlood(t *testing.T) {
	if testing.Short() {
		t.Skip("flood test skipped in -short mode")
	}
	h := servicetest.Start(t, "rtecho", service.Config{}, func(rt *service.Runtime) {
		rt.Limits.MaxConns = 200
		rt.Limits.MaxPerSource = 200
	})
	runtime.GC()
	var before runtime.MemStats
	runtime.ReadMemStats(&before)

	const total, parallel = 4000, 400
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	var mu sync.Mutex
	maxOpen := 0
	for i := 0; i < total; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", h.Addr(7), 5*time.Second)
			if err != nil {
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "%s\n", strings.Repeat("x", 1000))
			bufio.NewReader(c).ReadString('\n')
			mu.Lock()
			if n := h.RT.OpenConns(); n > maxOpen {
				maxOpen = n
			}
			mu.Unlock()
		}()
	}
	wg.Wait()
	if maxOpen > 200 {
		t.Errorf("%d connections open at once, limit 200", maxOpen)
	}
	// Still serving after the flood.
	c, r := dial(t, h.Addr(7))
	defer c.Close()
	if line, _ := r.ReadString('\n'); line != "hello\n" {
		t.Fatalf("service not answering after the flood: %q", line)
	}
	runtime.GC()
	var after runtime.MemStats
	runtime.ReadMemStats(&after)
	// The harness keeps every event in memory (~3 per connection); beyond that, the
	// runtime must not keep per-connection state after connections end.
	events := len(h.Events())
	growth := int64(after.HeapInuse) - int64(before.HeapInuse)
	t.Logf("flood: %d connections, max %d open, %d events, heap growth %d KiB", total, maxOpen, events, growth/1024)
	if perEvent := growth / int64(events+1); perEvent > 4096 {
		t.Errorf("heap grew %d bytes per event after the flood: per-connection state is leaking", perEvent)
	}
}

// A read deadline in the past ends a read in flight at once and fails reads until it
// is cleared (net/http relies on it when it hijacks a connection); a future one is
// left to the runtime's own idle deadline.
func TestConnPastReadDeadlineInterruptsRead(t *testing.T) {
	rt, err := service.NewRuntime(service.Config{Decky: "d", Service: "rtecho", Distro: "debian"})
	if err != nil {
		t.Fatal(err)
	}
	rt.Sink = func(event.Event) {}
	rt.Bind = map[int]string{7: "127.0.0.1:0"}
	l, err := rt.ListenTCP(7)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	client, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	defer client.Close()
	nc, err := l.Accept()
	if err != nil {
		t.Fatal(err)
	}
	c := nc.(*service.Conn)
	defer c.Close()
	if err := c.SetReadDeadline(time.Now().Add(time.Hour)); err != nil {
		t.Fatal(err)
	}
	done := make(chan error, 1)
	go func() {
		_, err := c.Read(make([]byte, 1))
		done <- err
	}()
	time.Sleep(50 * time.Millisecond)
	start := time.Now()
	if err := c.SetReadDeadline(time.Unix(1, 0)); err != nil {
		t.Fatal(err)
	}
	if err := <-done; err == nil || time.Since(start) > 2*time.Second {
		t.Fatalf("read in flight returned %v after %s, want a deadline error at once", err, time.Since(start))
	}
	if _, err := c.Read(make([]byte, 1)); err == nil {
		t.Fatal("a read after a past deadline succeeded")
	}
	c.SetReadDeadline(time.Time{})
	client.Write([]byte("x"))
	if n, err := c.Read(make([]byte, 1)); n != 1 || err != nil {
		t.Fatalf("after clearing the deadline: %d, %v", n, err)
	}
}
