package state

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
	"time"

	"decnet/internal/fleet"
)

func sample(n int) *State {
	f := fleet.Fleet{
		Interface: "dnt-lab0",
		Subnet:    netip.MustParsePrefix("10.1.0.0/16"),
		Gateway:   netip.MustParseAddr("10.1.0.1"),
		HostIP:    netip.MustParseAddr("10.1.0.2"),
		IPRange:   netip.MustParsePrefix("10.1.8.0/22"),
		Driver:    fleet.Macvlan,
	}
	for i := 0; i < n; i++ {
		f.Deckies = append(f.Deckies, fleet.Decky{
			Name: fmt.Sprintf("decky-%03d", i), Hostname: fmt.Sprintf("host-%d", i),
			IP: netip.AddrFrom4([4]byte{10, 1, 8, byte(i)}), MAC: fmt.Sprintf("00:1b:21:00:00:%02x", i%256),
			Distro: "debian-12", OSFamily: "linux",
			Sysctls:  map[string]string{"net.ipv4.ip_default_ttl": "64"},
			Services: []fleet.Service{{Name: "ssh", Persona: map[string]string{"banner": strings.Repeat("x", 200)}}},
			Secrets:  map[string]map[string]string{"ssh": {"host_key": strings.Repeat("k", 400)}},
		})
	}
	return &State{Project: "decnet", Image: "decnet/service:0123456789ab", ComposeFile: "/var/lib/decnet/docker-compose.yml",
		DeployedAt: time.Date(2026, 1, 2, 3, 4, 5, 6000, time.UTC), Fleet: f}
}

func TestRoundTrip(t *testing.T) {
	dir := filepath.Join(t.TempDir(), "nested", "state")
	want := sample(3)
	if err := Save(dir, want); err != nil {
		t.Fatal(err)
	}
	got, err := Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	if got.Version != CurrentVersion || !reflect.DeepEqual(got, want) {
		t.Fatalf("round trip differs:\n got %+v\nwant %+v", got, want)
	}
	fi, err := os.Stat(Path(dir))
	if err != nil {
		t.Fatal(err)
	}
	if fi.Mode().Perm() != 0o600 {
		t.Errorf("state file mode %v, want 0600", fi.Mode().Perm())
	}
	di, _ := os.Stat(dir)
	if di.Mode().Perm() != 0o700 {
		t.Errorf("state dir mode %v, want 0700", di.Mode().Perm())
	}
	// Overwrite with a smaller state: no trailing bytes of the old one may survive.
	small := sample(1)
	if err := Save(dir, small); err != nil {
		t.Fatal(err)
	}
	if got, err = Load(dir); err != nil || !reflect.DeepEqual(got, small) {
		t.Fatalf("after overwrite: %v, %+v", err, got)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Errorf("state dir holds %d entries, want only %s", len(entries), FileName)
	}
	if err := Remove(dir); err != nil {
		t.Fatal(err)
	}
	if _, err := Load(dir); !errors.Is(err, ErrNoState) {
		t.Fatalf("after Remove: %v, want ErrNoState", err)
	}
	if err := Remove(dir); err != nil {
		t.Fatalf("removing a missing state: %v", err)
	}
}

func TestLoadErrors(t *testing.T) {
	cases := []struct {
		name    string
		content string
		want    string
		noState bool
	}{
		{"missing", "", "no DECNET deployment", true},
		{"corrupt", `{"version":1,"project":`, "corrupt", false},
		{"not json", "project = decnet\n", "corrupt", false},
		{"newer version", `{"version":2}`, "version 2", false},
		{"no version", `{"project":"decnet"}`, "version 0", false},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			dir := t.TempDir()
			if tc.content != "" {
				if err := os.WriteFile(Path(dir), []byte(tc.content), 0o600); err != nil {
					t.Fatal(err)
				}
			}
			s, err := Load(dir)
			if err == nil || s != nil || !strings.Contains(err.Error(), tc.want) || errors.Is(err, ErrNoState) != tc.noState {
				t.Fatalf("got (%v, %v), want error containing %q (ErrNoState=%v)", s, err, tc.want, tc.noState)
			}
		})
	}
}

func TestRelativeDir(t *testing.T) {
	if err := Save("state", sample(1)); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Fatalf("Save: %v", err)
	}
	if _, err := Load("state"); err == nil || !strings.Contains(err.Error(), "absolute") {
		t.Fatalf("Load: %v", err)
	}
	if err := Remove("./state"); err == nil {
		t.Fatal("Remove accepted a relative dir")
	}
	if _, err := os.Stat("state"); err == nil {
		t.Fatal("a relative state dir was created")
	}
}

func TestDefaultDir(t *testing.T) {
	t.Setenv("DECNET_STATE_DIR", "")
	if got := DefaultDir(); got != "/var/lib/decnet" {
		t.Errorf("default: %q", got)
	}
	t.Setenv("DECNET_STATE_DIR", "/srv/decnet")
	if got := DefaultDir(); got != "/srv/decnet" {
		t.Errorf("from env: %q", got)
	}
}

// TestFailedSaveLeavesNoTempFile makes the rename fail (the state path is a non-empty
// directory) and checks that Save reports it and cleans its temporary file up.
func TestFailedSaveLeavesNoTempFile(t *testing.T) {
	dir := t.TempDir()
	if err := os.MkdirAll(filepath.Join(Path(dir), "x"), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := Save(dir, sample(5)); err == nil || !strings.Contains(err.Error(), "cannot replace") {
		t.Fatalf("Save over a directory: %v", err)
	}
	entries, _ := os.ReadDir(dir)
	if len(entries) != 1 {
		t.Fatalf("a failed save left %d entries", len(entries))
	}
}

// TestReadersNeverSeePartialFile is the crash-safety property: while writers keep
// replacing the state with states of very different sizes, every read returns one of
// the complete states.
func TestReadersNeverSeePartialFile(t *testing.T) {
	dir := t.TempDir()
	states := []*State{sample(1), sample(200), sample(17)}
	if err := Save(dir, states[0]); err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	stop := make(chan struct{})
	errs := make(chan error, 16)
	for w := 0; w < 2; w++ {
		wg.Add(1)
		go func(w int) {
			defer wg.Done()
			for i := w; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				s := *states[i%len(states)]
				if err := Save(dir, &s); err != nil {
					errs <- err
					return
				}
			}
		}(w)
	}
	reads := 0
	deadline := time.Now().Add(700 * time.Millisecond)
	for time.Now().Before(deadline) || reads < 50 {
		got, err := Load(dir)
		if err != nil {
			close(stop)
			wg.Wait()
			t.Fatalf("read %d saw a broken state: %v", reads, err)
		}
		if n := len(got.Fleet.Deckies); n != 1 && n != 200 && n != 17 {
			t.Fatalf("read a state with %d deckies", n)
		}
		reads++
	}
	close(stop)
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	t.Logf("%d consistent reads", reads)
}
