package main

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"
)

// wrkScript drives wrk (Debian's wrk, an HTTP load generator in C) through a list
// of request paths, each thread picking them at random, and prints the figures
// this benchmark reports on one line. Latencies are in microseconds.
const wrkScript = `
local paths = {}
local counter = 1
setup = function(thread)
  thread:set("id", counter)
  counter = counter + 1
end
init = function(args)
  math.randomseed(id * 7919 + os.time())
  for line in io.lines(os.getenv("DECNET_WRK_PATHS")) do paths[#paths + 1] = line end
end
request = function()
  return wrk.format("GET", paths[math.random(#paths)])
end
done = function(summary, latency, requests)
  local e = summary.errors
  io.write(string.format("DECNET-WRK %d %d %d %d %d %d\n", latency:percentile(50), latency:percentile(99),
    latency.max, summary.requests, summary.duration, e.connect + e.read + e.write + e.timeout + e.status))
end
`

// loadWrk runs the closed loop of loadHTTP with wrk instead of Go clients in this
// process: c connections, each sending its next request when the last one is
// answered, for dur, over paths. The server then has the machine's CPU to itself
// but for wrk's share (~0.4 of a core at 15,000 requests/s, where Go clients in
// this process took about as much CPU as the server).
//
// wrk runs one thread: one epoll loop drives all c connections. Each more thread
// is one more runnable thread beside the server's on this 2-core machine, and the
// kernel then often runs wrk while server threads wait with requests in hand
// (decky:decky-03 service:ssh, 500 connections, same server: -t 1 24,940 r/s, p99
// 41.6 ms; -t 2 20,399 r/s, 83.5 ms; -t 4 19,991 r/s, 105.4 ms). A remote client
// takes nothing from the server; one thread is the closest to that.
func loadWrk(dir, baseURL string, paths []string, cookie string, c int, dur time.Duration) (result, error) {
	list := filepath.Join(dir, "wrk-paths.txt")
	script := filepath.Join(dir, "wrk.lua")
	if err := os.WriteFile(list, []byte(strings.Join(paths, "\n")+"\n"), 0o600); err != nil {
		return result{}, err
	}
	if err := os.WriteFile(script, []byte(wrkScript), 0o600); err != nil {
		return result{}, err
	}
	secs := max(1, int(dur.Round(time.Second)/time.Second))
	cmd := exec.Command("wrk", "-t", "1", "-c", fmt.Sprint(max(c, 2)), "-d", fmt.Sprintf("%ds", secs), "--timeout", "60s",
		"-s", script, "-H", "Cookie: "+cookie, "-H", "Accept-Encoding: "+browserAcceptEncoding, baseURL)
	cmd.Env = append(os.Environ(), "DECNET_WRK_PATHS="+list)
	cpu0, t0 := selfCPU(), time.Now()
	out, err := cmd.CombinedOutput()
	wall := time.Since(t0).Seconds()
	srv := (selfCPU() - cpu0).Seconds() / wall
	if err != nil {
		return result{}, fmt.Errorf("wrk: %v: %s", err, bytes.TrimSpace(out))
	}
	sc := bufio.NewScanner(bytes.NewReader(out))
	for sc.Scan() {
		var p50, p99, mx, reqs, durUS, errs int64
		if n, _ := fmt.Sscanf(sc.Text(), "DECNET-WRK %d %d %d %d %d %d", &p50, &p99, &mx, &reqs, &durUS, &errs); n != 6 {
			continue
		}
		if errs > 0 {
			return result{}, fmt.Errorf("wrk: %d of %d requests failed or were not 200: %s", errs, reqs, bytes.TrimSpace(out))
		}
		us := func(v int64) time.Duration { return time.Duration(v) * time.Microsecond }
		gen := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds() / wall
		return result{p50: us(p50), p99: us(p99), max: us(mx), rps: float64(reqs) / (float64(durUS) / 1e6), srvCores: srv, genCores: gen}, nil
	}
	return result{}, fmt.Errorf("wrk printed no result: %s", bytes.TrimSpace(out))
}

// browserAcceptEncoding is what Chromium sends with every request: the dashboard's
// searches are asked for by browsers.
const browserAcceptEncoding = "gzip, deflate, br, zstd"

// selfCPU is the user and system CPU time this process has used so far.
func selfCPU() time.Duration {
	var ru syscall.Rusage
	if syscall.Getrusage(syscall.RUSAGE_SELF, &ru) != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
