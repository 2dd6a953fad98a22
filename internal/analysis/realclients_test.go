package analysis

import (
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	_ "decnet/internal/services/http"
	_ "decnet/internal/services/ssh"
	"decnet/internal/store"
	"decnet/internal/store/storetest"
	"decnet/internal/testenv"
)

// Real attack tools against the real services in process (loopback): their events
// go through the store into the engine, and the profile must name the tool and
// the behaviour.

func analyseEvents(t *testing.T, evs []event.Event) (*store.Attacker, *store.Behavior) {
	t.Helper()
	st := openStore(t, storetest.SQLiteDSN(t))
	var recs []store.Record
	for _, e := range evs {
		line, _ := event.Format(e)
		recs = append(recs, store.Record{Event: e, RawLine: string(line)})
	}
	ingest(t, st, recs)
	catchUp(t, st, Options{})
	a, b := profileOf(t, st, "127.0.0.1")
	t.Logf("%d events: class %s, evidence %q, tools %+v, fingerprints %+v", len(evs), b.BehaviorClass, b.Evidence, b.ToolGuesses, a.Fingerprints)
	return a, b
}

func TestRealHydra(t *testing.T) {
	testenv.RequireTool(t, "hydra")
	h := servicetest.Start(t, "ssh", service.Config{ArtifactDir: t.TempDir()})
	words := filepath.Join(t.TempDir(), "words")
	var w []string
	for i := 0; i < 16; i++ {
		w = append(w, fmt.Sprintf("wrong-%d-horse", i))
	}
	if err := os.WriteFile(words, []byte(strings.Join(w, "\n")+"\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	port := h.Addr(22)[strings.LastIndex(h.Addr(22), ":")+1:]
	out, _ := servicetest.Run(t, 2*time.Minute, nil, "hydra", "-l", "root", "-P", words, "-t", "4", "-s", port, "-I", "ssh://127.0.0.1")
	for deadline := time.Now().Add(30 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		n := 0
		for _, e := range h.Events() {
			if e.Type == event.Auth {
				n++
			}
		}
		if n >= 16 {
			break
		}
		if time.Now().After(deadline) {
			t.Fatalf("%d of 16 login attempts arrived; hydra said: %s", n, out)
		}
	}
	a, b := analyseEvents(t, h.Events())
	if b.BehaviorClass != ClassBruteForcer {
		t.Errorf("hydra: class %q, evidence %q\nhydra said: %s", b.BehaviorClass, b.Evidence, out)
	}
	if g, ok := tool(b, "hydra"); !ok || g.Confidence < 0.85 {
		t.Errorf("hydra: tool guesses %+v", b.ToolGuesses)
	}
	if a.CredentialCount < 16 {
		t.Errorf("hydra: %d credentials", a.CredentialCount)
	}
}

func TestRealParamikoInteractive(t *testing.T) {
	testenv.RequireTool(t, "/usr/bin/python3")
	h := servicetest.Start(t, "ssh", service.Config{ArtifactDir: t.TempDir()})
	port := h.Addr(22)[strings.LastIndex(h.Addr(22), ":")+1:]
	// A person: logs in with a weak password and types, pausing to read.
	script := `
import sys, time, paramiko
c = paramiko.SSHClient()
c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
c.connect("127.0.0.1", int(sys.argv[1]), username="root", password="123456", look_for_keys=False, allow_agent=False, timeout=10)
ch = c.invoke_shell()
time.sleep(1.0)
for cmd, pause in [("id", 1.4), ("uname -a", 3.1), ("ls -la /tmp", 1.2), ("cat /etc/passwd", 2.6), ("w", 1.0)]:
    ch.send(cmd + "\n")
    time.sleep(pause)
ch.send("exit\n")
time.sleep(0.5)
c.close()
`
	out, err := servicetest.Run(t, time.Minute, nil, "/usr/bin/python3", "-c", script, port)
	if err != nil {
		if strings.Contains(out, "No module named 'paramiko'") {
			testenv.Missing(t, "python3-paramiko is not installed")
		}
		t.Fatalf("paramiko: %v\n%s", err, out)
	}
	h.Wait(t, 10*time.Second, "the commands", servicetest.Type(event.Command, "command=w"))
	a, b := analyseEvents(t, h.Events())
	if b.BehaviorClass != ClassInteractive {
		t.Errorf("paramiko shell: class %q, evidence %q, commands %d", b.BehaviorClass, b.Evidence, a.CommandCount)
	}
	if g, ok := tool(b, "paramiko"); !ok || g.Confidence < 0.9 {
		t.Errorf("paramiko: tool guesses %+v", b.ToolGuesses)
	}
}

func TestRealNmapScripts(t *testing.T) {
	testenv.RequireTool(t, "nmap")
	h := servicetest.Start(t, "http", service.Config{})
	port := h.Addr(80)[strings.LastIndex(h.Addr(80), ":")+1:]
	if out, err := servicetest.Run(t, 2*time.Minute, nil, "nmap", "-sT", "-sV", "--script", "http-title,http-headers", "-n", "-Pn", "-p", port, "127.0.0.1"); err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	h.Wait(t, 10*time.Second, "an HTTP request", servicetest.Type(event.Request))
	_, b := analyseEvents(t, h.Events())
	if b.BehaviorClass != ClassScanner {
		t.Errorf("nmap -sV: class %q, evidence %q", b.BehaviorClass, b.Evidence)
	}
	if g, ok := tool(b, "nmap"); !ok || g.Confidence < 0.9 {
		t.Errorf("nmap: tool guesses %+v, evidence %q", b.ToolGuesses, b.Evidence)
	}
}
