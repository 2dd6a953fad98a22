package deploy

import (
	"context"
	"errors"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"decnet/internal/engine"
	"decnet/internal/fleet"
	"decnet/internal/service"
	_ "decnet/internal/services/all"
	"decnet/internal/state"
)

func testFleet() *fleet.Fleet {
	mk := func(name, ip, mac string) fleet.Decky {
		return fleet.Decky{Name: name, Hostname: name + "-host", IP: netip.MustParseAddr(ip), MAC: mac,
			Distro: "debian", OSFamily: "linux", Sysctls: map[string]string{"net.ipv4.ip_default_ttl": "64"},
			Services: []fleet.Service{{Name: "ssh", Persona: map[string]string{"users": "root:toor"}}, {Name: "http"},
				{Name: "byos", Custom: &fleet.Custom{Image: "example/x:1", Ports: []fleet.Port{{Number: 9000, Proto: "tcp"}}}}}}
	}
	return &fleet.Fleet{Interface: "dnt-lan0", Subnet: netip.MustParsePrefix("10.9.0.0/24"), Gateway: netip.MustParseAddr("10.9.0.254"),
		HostIP: netip.MustParseAddr("10.9.0.1"), IPRange: netip.MustParsePrefix("10.9.0.0/28"), Driver: fleet.Macvlan,
		Deckies: []fleet.Decky{mk("a", "10.9.0.2", "00:1b:21:00:00:01"), mk("b", "10.9.0.3", "00:1b:21:00:00:02")}}
}

// Secrets are generated per decky, never shared, and kept across redeploys.
func TestFillSecrets(t *testing.T) {
	f := testFleet()
	if err := fillSecrets(f, nil); err != nil {
		t.Fatal(err)
	}
	a, b := f.Deckies[0].Secrets["ssh"], f.Deckies[1].Secrets["ssh"]
	if len(a) == 0 || len(b) == 0 {
		t.Fatalf("ssh secrets missing: %v %v", a, b)
	}
	for k := range a {
		if a[k] == b[k] {
			t.Errorf("deckies a and b share secret %s", k)
		}
	}
	if _, ok := f.Deckies[0].Secrets["http"]; ok {
		t.Error("http declares no secrets but got some")
	}
	again := testFleet()
	if err := fillSecrets(again, f); err != nil {
		t.Fatal(err)
	}
	for k, v := range a {
		if again.Deckies[0].Secrets["ssh"][k] != v {
			t.Errorf("redeploy changed decky a's %s: a host key must never change", k)
		}
	}
}

// Each registered service of each decky gets a config file the service can load,
// carrying its persona, its own secrets, the decky's MAC and service list; BYOS
// services get none.
func TestWriteServiceConfigs(t *testing.T) {
	dir := t.TempDir()
	f := testFleet()
	if err := fillSecrets(f, nil); err != nil {
		t.Fatal(err)
	}
	if err := writeServiceConfigs(dir, f); err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(ConfigDir(dir, "a"), "ssh.json")
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != 0o640 {
		t.Errorf("%s has mode %v: it holds private keys", path, st.Mode().Perm())
	}
	cfg, err := service.LoadConfig(path)
	if err != nil {
		t.Fatal(err)
	}
	if cfg.Decky != "a" || cfg.Service != "ssh" || cfg.MAC != "00:1b:21:00:00:01" || cfg.IP != "10.9.0.2" ||
		cfg.Persona["users"] != "root:toor" || cfg.ArtifactDir != "/decnet/artifacts" {
		t.Errorf("config: %+v", cfg)
	}
	if len(cfg.Services) != 3 || cfg.Services[2] != "byos" {
		t.Errorf("services %v, want the decky's three", cfg.Services)
	}
	for k, v := range f.Deckies[0].Secrets["ssh"] {
		if cfg.Secrets[k] != v {
			t.Errorf("secret %s not written", k)
		}
	}
	if _, err := os.Stat(filepath.Join(ConfigDir(dir, "a"), "byos.json")); !os.IsNotExist(err) {
		t.Error("a BYOS service got a DECNET config file")
	}
	if st, err := os.Stat(ArtifactDir(dir, "b")); err != nil || !st.IsDir() {
		t.Errorf("artifact dir of b: %v", err)
	}
}

// Render writes the compose file of the whole fleet.
func TestRender(t *testing.T) {
	dir := t.TempDir()
	d := &Deployer{StateDir: dir}
	out := filepath.Join(dir, "sub", "compose.yml")
	p, err := d.Render(testFleet(), DryRunImage, out)
	if err != nil {
		t.Fatal(err)
	}
	if len(p.Deckies) != 2 {
		t.Fatalf("model has %d deckies", len(p.Deckies))
	}
	b, err := os.ReadFile(out)
	if err != nil || len(b) == 0 {
		t.Fatalf("compose file: %v", err)
	}
	for _, want := range []string{"services:", "decnet_lan", "a-ssh:", "b-http:", "example/x:1"} {
		if !strings.Contains(string(b), want) {
			t.Errorf("compose file lacks %q", want)
		}
	}
}

// sockets is an engine that only answers Listening, from a table the test changes:
// WaitReady's logic on its own (the real /proc reading is TestListeningInSelf's,
// the whole path TestFleet's).
type sockets struct {
	engine.Engine
	mu   sync.Mutex
	open map[string][]fleet.Port
}

func (s *sockets) Listening(_ context.Context, _, decky string) ([]fleet.Port, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.open[decky], nil
}

func (s *sockets) set(decky string, ports ...fleet.Port) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.open[decky] = ports
}

func TestWaitReady(t *testing.T) {
	st := &state.State{Project: "decnet", Image: "decnet/service:test", Fleet: *testFleet()}
	ssh, http, byos := fleet.Port{Number: 22, Proto: "tcp"}, fleet.Port{Number: 80, Proto: "tcp"}, fleet.Port{Number: 9000, Proto: "tcp"}
	eng := &sockets{open: map[string][]fleet.Port{}}
	var steps []string
	d := &Deployer{StateDir: t.TempDir(), Engine: eng, Progress: func(s string, _, _ int) { steps = append(steps, s) }}

	// Ports open while it waits; the BYOS port never does: a warning, not a wait.
	eng.set("a", ssh)
	go func() {
		time.Sleep(300 * time.Millisecond)
		eng.set("a", ssh, http)
		eng.set("b", http, ssh)
	}()
	warn, err := d.WaitReady(context.Background(), st, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if len(warn) != 2 || !strings.Contains(warn[0], "a: 9000/tcp (byos, container ") || !strings.Contains(warn[1], "b: 9000/tcp") {
		t.Errorf("warnings %q, want the two BYOS ports", warn)
	}
	if last := steps[len(steps)-1]; last != "waiting for services: 4 of 4 ports open" || len(steps) > 3 {
		t.Errorf("progress %q: want a line per change ending with 4 of 4", steps)
	}

	// A port that never opens: the error names it, after the timeout.
	eng.set("b", ssh, byos)
	warn, err = d.WaitReady(context.Background(), st, 600*time.Millisecond)
	var nr *NotReadyError
	if !errors.As(err, &nr) || len(nr.Missing) != 1 || !strings.HasPrefix(nr.Missing[0], "b: 80/tcp (http, container ") || strings.Contains(err.Error(), "\n") {
		t.Fatalf("err = %v, want b's 80/tcp named on one line", err)
	}
	if len(warn) != 1 || !strings.HasPrefix(warn[0], "a: 9000/tcp") {
		t.Errorf("warnings %q", warn)
	}
}
