package e2e

import (
	"context"
	"fmt"
	"math/rand/v2"
	"net"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/store"
	"decnet/internal/testenv"
)

// TestPipelineSurvivesKill9 pushes a known number of attacker requests through real
// decky containers while `decnet collect` and `decnet ingest` are killed with SIGKILL
// at random moments and restarted; in the end the database holds every event the
// containers wrote, once.
func TestPipelineSurvivesKill9(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireDocker(t)
	bin := testenv.BuildDecnet(t)
	l := testenv.SharedLab(t)
	stateDir, dir := t.TempDir(), t.TempDir()
	ini := writeFile(t, dir, "gen.ini", fmt.Sprintf(`[general]
net = %s
gw = %s
interface = %s

[gen]
amount = 2
services = http
`, l.Subnet, l.Gateway, l.Parent))
	t.Cleanup(func() { run(t, bin, "teardown", "--all", "--state-dir", stateDir) })
	mustRun(t, bin, "deploy", "--config", ini, "--state-dir", stateDir)
	var fleet []deckyStatus
	decodeJSON(t, mustRun(t, bin, "status", "--json", "--state-dir", stateDir), &fleet)
	checkAnnounced(t, l, fleet)

	for _, d := range fleet {
		mustAccept(t, d.IP+":80")
	}

	procs := map[string]*exec.Cmd{}
	var mu sync.Mutex
	start := func(name string) {
		cmd := exec.Command(bin, name, "--state-dir", stateDir)
		if err := cmd.Start(); err != nil {
			t.Fatalf("start decnet %s: %v", name, err)
		}
		mu.Lock()
		procs[name] = cmd
		mu.Unlock()
	}
	kill := func(name string) {
		mu.Lock()
		cmd := procs[name]
		mu.Unlock()
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
	}
	start("collect")
	start("ingest")
	t.Cleanup(func() {
		for _, n := range []string{"collect", "ingest"} {
			mu.Lock()
			cmd := procs[n]
			mu.Unlock()
			cmd.Process.Signal(syscall.SIGTERM)
			cmd.Wait()
		}
	})

	// The attacker: N requests, each on its own connection, spread over both deckies.
	const N = 1500
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var wg sync.WaitGroup
	jobs := make(chan int)
	for w := 0; w < 8; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := range jobs {
				time.Sleep(60 * time.Millisecond) // ~130 requests/s: long enough for many kills
				d := fleet[i%len(fleet)]
				c, err := net.DialTimeout("tcp", d.IP+":80", 5*time.Second)
				if err != nil {
					t.Errorf("request %d: %v", i, err)
					continue
				}
				c.SetDeadline(time.Now().Add(10 * time.Second))
				fmt.Fprintf(c, "GET /gen/%d HTTP/1.1\r\nHost: %s\r\nConnection: close\r\n\r\n", i, d.IP)
				buf := make([]byte, 512)
				for {
					if _, err := c.Read(buf); err != nil {
						break
					}
				}
				c.Close()
			}
		}()
	}
	// Meanwhile, SIGKILL the collector or the ingester every few hundred ms.
	kills := 0
	killerDone := make(chan struct{})
	go func() {
		defer close(killerDone)
		for ctx.Err() == nil {
			time.Sleep(time.Duration(300+rand.IntN(600)) * time.Millisecond)
			if ctx.Err() != nil {
				return
			}
			name := []string{"collect", "ingest"}[rand.IntN(2)]
			kill(name)
			kills++
			time.Sleep(time.Duration(rand.IntN(300)) * time.Millisecond)
			start(name)
		}
	}()
	for i := 0; i < N; i++ {
		jobs <- i
	}
	close(jobs)
	wg.Wait()
	cancel()
	<-killerDone
	t.Logf("%d requests sent while the pipeline was killed %d times", N, kills)

	var want []event.Event
	for _, d := range fleet {
		want = append(want, containerEvents(t, containerOf(t, d, "http"))...)
	}
	requests := 0
	for _, e := range want {
		if e.Type == event.Request && strings.HasPrefix(e.Fields["path"], "/gen/") {
			requests++
		}
	}
	if requests != N {
		t.Fatalf("the deckies logged %d generator requests, want %d", requests, N)
	}
	st, err := store.Open(context.Background(), store.DefaultDSN(stateDir))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	deadline := time.Now().Add(90 * time.Second)
	for {
		rows, err := st.Logs(context.Background(), store.LogQuery{Service: "http", Limit: store.MaxLimit})
		if err != nil {
			t.Fatal(err)
		}
		stored := map[string]int{}
		for _, r := range rows {
			stored[r.Event.ID]++
		}
		missing := 0
		for _, e := range want {
			if stored[e.ID] == 0 {
				missing++
			}
		}
		if missing == 0 {
			if len(rows) != len(want) {
				t.Fatalf("the database holds %d http events, the containers wrote %d", len(rows), len(want))
			}
			t.Logf("all %d events (%d requests) stored exactly once", len(want), requests)
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of %d events missing from the database 90s after the last kill", missing, len(want))
		}
		time.Sleep(time.Second)
	}
}
