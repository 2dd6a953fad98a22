package cli

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"net/http"
	"net/http/cookiejar"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/spool"
)

// TestAPICommand runs `decnet api --ingest` on loopback: the first-run password is
// printed once, login and the forced change work, and an event appended to the
// spool reaches an open /api/stream through the in-process ingester and bus.
func TestAPICommand(t *testing.T) {
	dir := t.TempDir()
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"api", "--state-dir", dir, "--listen", "127.0.0.1:0", "--ingest", "--flush-interval", "20ms"}, &bytes.Buffer{}, &errb)
	}()
	urlRe := regexp.MustCompile(`url=(http://127\.0\.0\.1:\d+)/`)
	pwRe := regexp.MustCompile(`with password (\S+) `)
	var base, pw string
	deadline := time.Now().Add(20 * time.Second)
	for base == "" || pw == "" {
		if m := urlRe.FindStringSubmatch(errb.String()); m != nil {
			base = m[1]
		}
		if m := pwRe.FindStringSubmatch(errb.String()); m != nil {
			pw = m[1]
		}
		select {
		case code := <-done:
			t.Fatalf("decnet api exited %d: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("no URL and password on stderr: %s", errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	jar, _ := cookiejar.New(nil)
	hc := &http.Client{Jar: jar}
	post := func(path, csrf string, body any) *http.Response {
		b, _ := json.Marshal(body)
		req, _ := http.NewRequest("POST", base+path, bytes.NewReader(b))
		req.Header.Set("Content-Type", "application/json")
		if csrf != "" {
			req.Header.Set("X-CSRF-Token", csrf)
		}
		res, err := hc.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		return res
	}
	res := post("/api/auth/login", "", map[string]string{"username": "admin", "password": pw})
	var me struct {
		CSRFToken string `json:"csrf_token"`
	}
	json.NewDecoder(res.Body).Decode(&me)
	res.Body.Close()
	if res.StatusCode != 200 || me.CSRFToken == "" {
		t.Fatalf("login: %d", res.StatusCode)
	}
	res = post("/api/auth/password", me.CSRFToken, map[string]string{"current_password": pw, "new_password": "a-brand-new-password"})
	res.Body.Close()
	if res.StatusCode != 200 {
		t.Fatalf("password change: %d", res.StatusCode)
	}
	sctx, scancel := context.WithCancel(ctx)
	defer scancel()
	req, _ := http.NewRequestWithContext(sctx, "GET", base+"/api/stream?q=decky:d1", nil)
	stream, err := hc.Do(req)
	if err != nil || stream.StatusCode != 200 {
		t.Fatalf("stream: %v %v", err, stream)
	}
	defer stream.Body.Close()
	lines := make(chan string, 100)
	go func() {
		sc := bufio.NewScanner(stream.Body)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	if l := <-lines; l != "retry: 2000" {
		t.Fatalf("stream greeting %q", l)
	}

	w, err := spool.OpenWriter(filepath.Join(dir, "spool"), 0)
	if err != nil {
		t.Fatal(err)
	}
	e := event.Event{ID: "api-cli-1", Time: time.Now().UTC(), Decky: "d1", Service: "ssh", Type: "auth", AttackerIP: "192.0.2.7",
		Fields: map[string]string{"username": "<script>alert(1)</script>"}}
	line, _ := event.Format(e)
	start := time.Now()
	if _, err := w.Append(&spool.Record{Event: e, RawLine: string(line)}); err != nil {
		t.Fatal(err)
	}
	w.Close()
	timeout := time.After(20 * time.Second)
	for got := false; !got; {
		select {
		case l, ok := <-lines:
			if !ok {
				t.Fatal("the stream ended")
			}
			if strings.HasPrefix(l, "data: ") && strings.Contains(l, `"api-cli-1"`) {
				got = true
				if strings.Contains(l, "<script>") {
					t.Errorf("HTML not escaped in the stream: %s", l)
				}
			}
		case <-timeout:
			t.Fatalf("the spooled event never reached the stream: %s", errb.String())
		}
	}
	t.Logf("spool append → SSE delivery: %v", time.Since(start))
	cancel()
	select {
	case code := <-done:
		if code != ExitOK {
			t.Fatalf("decnet api exited %d: %s", code, errb.String())
		}
	case <-time.After(15 * time.Second):
		t.Fatal("decnet api did not stop")
	}
	// A second start on the same database creates no user and prints no password.
	var again syncBuffer
	ctx2, cancel2 := context.WithTimeout(context.Background(), 3*time.Second)
	defer cancel2()
	Run(ctx2, []string{"api", "--state-dir", dir, "--listen", "127.0.0.1:0"}, &bytes.Buffer{}, &again)
	if strings.Contains(again.String(), "password") && strings.Contains(again.String(), "created user") {
		t.Errorf("second start created a user: %s", again.String())
	}
	if code, _, errs := run(t, "api", "--state-dir", dir, "--tls-cert", "x.pem"); code != ExitUsage {
		t.Errorf("--tls-cert without --tls-key: exit %d (%s)", code, errs)
	}
	if code, _, errs := run(t, "api", "--state-dir", dir, "--row-cache-mb", "8"); code != ExitUsage || !strings.Contains(errs, "row-cache-mb") {
		t.Errorf("--row-cache-mb 8: exit %d (%s)", code, errs)
	}
}
