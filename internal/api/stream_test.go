package api

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/store"
)

type sseEvent struct {
	id      int64
	typ     string
	data    string
	comment string
}

// openStream connects to /api/stream and delivers what arrives; the channel is
// closed when the server ends the stream.
func openStream(t *testing.T, c *client, query url.Values, lastID string) (<-chan sseEvent, func()) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	req, _ := http.NewRequestWithContext(ctx, "GET", c.e.ts.URL+"/api/stream?"+query.Encode(), nil)
	if lastID != "" {
		req.Header.Set("Last-Event-ID", lastID)
	}
	hc := &http.Client{Jar: c.hc.Jar}
	res, err := hc.Do(req)
	if err != nil {
		cancel()
		t.Fatal(err)
	}
	if res.StatusCode != http.StatusOK || !strings.HasPrefix(res.Header.Get("Content-Type"), "text/event-stream") {
		cancel()
		t.Fatalf("stream: %d %s", res.StatusCode, res.Header.Get("Content-Type"))
	}
	out := make(chan sseEvent, 10000)
	go func() {
		defer close(out)
		defer res.Body.Close()
		sc := bufio.NewScanner(res.Body)
		sc.Buffer(make([]byte, 1<<20), 4<<20)
		var cur sseEvent
		for sc.Scan() {
			line := sc.Text()
			switch {
			case line == "":
				if cur.typ != "" {
					out <- cur
				}
				cur = sseEvent{}
			case strings.HasPrefix(line, ":"):
				out <- sseEvent{comment: strings.TrimSpace(line[1:])}
			case strings.HasPrefix(line, "id: "):
				cur.id, _ = strconv.ParseInt(line[4:], 10, 64)
			case strings.HasPrefix(line, "event: "):
				cur.typ = line[7:]
			case strings.HasPrefix(line, "data: "):
				cur.data = line[6:]
			}
		}
	}()
	// Wait for the greeting, so the subscription exists before the caller publishes.
	select {
	case ev := <-out:
		if ev.comment != "connected" {
			t.Fatalf("first stream message %+v", ev)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no stream greeting")
	}
	return out, cancel
}

// collect reads log events until it has n of them or the stream ends.
func collect(t *testing.T, ch <-chan sseEvent, n int, timeout time.Duration) (ids []int64, others []sseEvent) {
	t.Helper()
	deadline := time.After(timeout)
	for len(ids) < n {
		select {
		case ev, ok := <-ch:
			if !ok {
				return
			}
			if ev.typ == "log" {
				ids = append(ids, ev.id)
			} else {
				others = append(others, ev)
			}
		case <-deadline:
			t.Fatalf("timed out with %d of %d events", len(ids), n)
		}
	}
	return
}

func TestStreamLiveFilterHeartbeat(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Heartbeat = 50 * time.Millisecond })
	c := e.admin()
	ch, cancel := openStream(t, c, url.Values{"q": {"service:ssh"}}, "")
	defer cancel()
	recs := []store.Record{mkEvent(0, nil), mkEvent(1, nil), mkEvent(2, nil), mkEvent(3, func(ev *event.Event) {
		ev.Fields["username"] = "<script>alert(1)</script>"
	})}
	start := time.Now()
	ids := e.ingest(recs)
	got, _ := collect(t, ch, 2, 10*time.Second)
	if len(got) != 2 || got[0] != ids[0] || got[1] != ids[3] {
		t.Fatalf("got ids %v; want the ssh rows %d, %d", got, ids[0], ids[3])
	}
	t.Logf("ingest → delivery: %v", time.Since(start))
	pings := 0
	deadline := time.After(5 * time.Second)
	for pings < 2 {
		select {
		case ev := <-ch:
			if ev.comment == "ping" {
				pings++
			}
		case <-deadline:
			t.Fatal("no heartbeat")
		}
	}
}

func TestStreamEventData(t *testing.T) {
	e := newEnv(t, nil)
	c := e.admin()
	ch, cancel := openStream(t, c, nil, "")
	defer cancel()
	rec := mkEvent(7, func(ev *event.Event) { ev.Msg = "line1\nline2 </script>" })
	id := e.ingest([]store.Record{rec})[0]
	select {
	case ev := <-ch:
		var l struct {
			ID      int64  `json:"id"`
			EventID string `json:"event_id"`
			Msg     string `json:"msg"`
		}
		if err := json.Unmarshal([]byte(ev.data), &l); err != nil || ev.typ != "log" || ev.id != id || l.ID != id || l.EventID != rec.Event.ID || l.Msg != rec.Msg {
			t.Fatalf("event %+v (%v)", ev, err)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no event")
	}
}

func TestStreamResumeNoGapNoDuplicate(t *testing.T) {
	e := newEnv(t, nil)
	c := e.admin()
	recs := mkEvents(5)
	ids := e.ingest(recs)
	ch, cancel := openStream(t, c, nil, strconv.FormatInt(ids[1], 10))
	defer cancel()
	got, _ := collect(t, ch, 3, 10*time.Second)
	if len(got) != 3 || got[0] != ids[2] || got[2] != ids[4] {
		t.Fatalf("replay %v; want %v", got, ids[2:])
	}
	// A live row already replayed (the bus delivers rows committed during the
	// replay too) is skipped; a new one arrives once.
	e.bus.Publish([]store.LogRow{{ID: ids[4], Record: recs[4]}})
	newIDs := e.ingest([]store.Record{mkEvent(5, nil)})
	got, _ = collect(t, ch, 1, 10*time.Second)
	if got[0] != newIDs[0] {
		t.Fatalf("after the replay got %v; want %d", got, newIDs[0])
	}
	// The first connection may pass the id as a query parameter.
	ch2, cancel2 := openStream(t, c, url.Values{"last_event_id": {strconv.FormatInt(ids[3], 10)}}, "")
	defer cancel2()
	got, _ = collect(t, ch2, 2, 10*time.Second)
	if got[0] != ids[4] || got[1] != newIDs[0] {
		t.Fatalf("last_event_id replay %v", got)
	}
}

// TestStreamConcurrentIngest resumes while events are being stored: every id
// after the resume point arrives exactly once, in order.
func TestStreamConcurrentIngest(t *testing.T) {
	e := newEnv(t, nil)
	c := e.admin()
	first := e.ingest([]store.Record{mkEvent(0, nil)})
	var wg sync.WaitGroup
	var all []int64
	const batches = 100
	wg.Add(1)
	go func() {
		defer wg.Done()
		for b := range batches {
			all = append(all, e.ingest([]store.Record{mkEvent(1+3*b, nil), mkEvent(2+3*b, nil), mkEvent(3+3*b, nil)})...)
		}
	}()
	time.Sleep(5 * time.Millisecond)
	ch, cancel := openStream(t, c, nil, strconv.FormatInt(first[0], 10))
	defer cancel()
	got, others := collect(t, ch, 3*batches, 30*time.Second)
	wg.Wait()
	if len(others) > 0 {
		t.Logf("other messages: %+v", others)
	}
	if len(got) != len(all) {
		t.Fatalf("got %d events; want %d", len(got), len(all))
	}
	for i := range got {
		if got[i] != all[i] {
			t.Fatalf("event %d: id %d; want %d (gap or duplicate)", i, got[i], all[i])
		}
	}
}

// TestStreamLaggedResume: a client the bus drops gets `event: lagged` and resumes
// from its last id with nothing lost.
func TestStreamLaggedResume(t *testing.T) {
	e := newEnv(t, nil)
	c := e.admin()
	ch, cancel := openStream(t, c, nil, "")
	defer cancel()
	const n = 5000
	recs := make([]store.Record, n)
	for i := range recs {
		recs[i] = mkEvent(i, nil)
	}
	ids := e.ingest(recs) // one Publish of 5000 rows overflows the 1024-row buffer
	got, others := collect(t, ch, n, 30*time.Second)
	lagged := false
	for _, o := range others {
		if o.typ == "lagged" {
			lagged = true
			var d struct {
				LastEventID int64 `json:"last_event_id"`
			}
			json.Unmarshal([]byte(o.data), &d)
			if len(got) > 0 && d.LastEventID != got[len(got)-1] {
				t.Errorf("lagged last_event_id %d; last received %d", d.LastEventID, got[len(got)-1])
			}
		}
	}
	if !lagged {
		t.Fatalf("no lagged event after %d rows in one publish (got %d rows)", n, len(got))
	}
	last := int64(0)
	if len(got) > 0 {
		last = got[len(got)-1]
	}
	ch2, cancel2 := openStream(t, c, nil, strconv.FormatInt(last, 10))
	defer cancel2()
	rest, _ := collect(t, ch2, n-len(got), 30*time.Second)
	all := append(got, rest...)
	if len(all) != n {
		t.Fatalf("%d rows over two connections; want %d", len(all), n)
	}
	for i := range all {
		if all[i] != ids[i] {
			t.Fatalf("row %d: id %d; want %d", i, all[i], ids[i])
		}
	}
}

func TestStreamEndsWithSession(t *testing.T) {
	e := newEnv(t, func(c *Config) { c.Heartbeat = 30 * time.Millisecond })
	c := e.admin()
	ch, cancel := openStream(t, c, nil, "")
	defer cancel()
	if r := c.do("POST", "/api/auth/logout", nil); r.code != 200 {
		t.Fatal(r.code)
	}
	deadline := time.After(10 * time.Second)
	for {
		select {
		case ev, ok := <-ch:
			if !ok {
				return
			}
			if ev.typ == "logout" {
				continue
			}
		case <-deadline:
			t.Fatal("the stream outlived its session")
		}
	}
}
