package e2e

import (
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

// flood opens total TCP connections to ip:port, parallel at a time; each writes a
// little and waits for an answer or the close. It returns how many got data back
// and how many were closed without any (refused by the runtime's limits).
func flood(t *testing.T, ip netip.Addr, port, total, parallel int) (served, refused int64) {
	t.Helper()
	var s, r atomic.Int64
	sem := make(chan struct{}, parallel)
	var wg sync.WaitGroup
	addr := netip.AddrPortFrom(ip, uint16(port)).String()
	for i := 0; i < total; i++ {
		sem <- struct{}{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, err := net.DialTimeout("tcp", addr, 5*time.Second)
			if err != nil {
				r.Add(1)
				return
			}
			defer c.Close()
			c.SetDeadline(time.Now().Add(5 * time.Second))
			c.Write([]byte("GET / HTTP/1.0\r\n\r\n"))
			buf := make([]byte, 64)
			if n, _ := c.Read(buf); n > 0 {
				s.Add(1)
			} else {
				r.Add(1)
			}
		}()
	}
	wg.Wait()
	return s.Load(), r.Load()
}

// memUsage is a container's current memory use in bytes, from the engine.
func memUsage(t *testing.T, container string) int64 {
	t.Helper()
	out := strings.TrimSpace(host(t, "docker", "stats", "--no-stream", "--format", "{{.MemUsage}}", container))
	used, _, _ := strings.Cut(out, "/")
	used = strings.TrimSpace(used)
	mult := map[string]float64{"B": 1, "KiB": 1 << 10, "MiB": 1 << 20, "GiB": 1 << 30, "kB": 1e3, "MB": 1e6, "GB": 1e9}
	for _, unit := range []string{"KiB", "MiB", "GiB", "kB", "MB", "GB", "B"} {
		if strings.HasSuffix(used, unit) {
			f, err := strconv.ParseFloat(strings.TrimSuffix(used, unit), 64)
			if err == nil {
				return int64(f * mult[unit])
			}
		}
	}
	t.Fatalf("cannot read the memory use of %s from %q", container, out)
	return 0
}
