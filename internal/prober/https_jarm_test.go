package prober

import (
	"context"
	"encoding/json"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"testing"
	"time"

	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	_ "decnet/internal/services/https"
)

// DECNET's own https service, as two personas, fingerprinted by Salesforce's jarm.py
// (testdata/jarm_https.json, made with ../fingerprint/testdata/jarm_reference.py:
// SERVE_TEST='^TestJARMServeHTTPSReference$' SERVE_PKG=./internal/prober/).
var httpsPersonas = map[string]service.Config{
	"decnet-https-nginx-ubuntu22":  {Distro: "ubuntu22", OSFamily: "linux", Hostname: "web01"},
	"decnet-https-iis-windows2019": {Distro: "windows2019", OSFamily: "windows_server", Hostname: "WEB03"},
}

func startHTTPS(t *testing.T, name string) string {
	t.Helper()
	cfg, ok := httpsPersonas[name]
	if !ok {
		t.Fatalf("no https persona %q", name)
	}
	return servicetest.Start(t, "https", cfg).Addr(443)
}

// TestJARMServeHTTPSReference serves one persona for jarm.py, named by
// DECNET_JARM_SERVE (the tool that made testdata/jarm_https.json).
func TestJARMServeHTTPSReference(t *testing.T) {
	name := os.Getenv("DECNET_JARM_SERVE")
	if name == "" {
		t.Skip("set DECNET_JARM_SERVE=<persona> to serve the https service for jarm.py (tool for regenerating testdata/jarm_https.json)")
	}
	addr := startHTTPS(t, name)
	fmt.Printf("JARM-SERVER %s %s %s\n", name, addr, runtime.Version())
	time.Sleep(60 * time.Second)
}

// TestHTTPSServiceJARM: the prober's JARM of DECNET's https service equals jarm.py's.
func TestHTTPSServiceJARM(t *testing.T) {
	b, err := os.ReadFile(filepath.Join("testdata", "jarm_https.json"))
	if err != nil {
		t.Fatal(err)
	}
	var ref struct {
		Servers []struct{ Name, Software, JARM, Raw string } `json:"servers"`
	}
	if err := json.Unmarshal(b, &ref); err != nil {
		t.Fatal(err)
	}
	if len(ref.Servers) != len(httpsPersonas) {
		t.Fatalf("%d reference values for %d personas", len(ref.Servers), len(httpsPersonas))
	}
	for _, want := range ref.Servers {
		t.Run(want.Name, func(t *testing.T) {
			if want.Software != runtime.Version() {
				t.Skipf("the reference was taken with %s; this is %s (regenerate testdata/jarm_https.json)", want.Software, runtime.Version())
			}
			_, p, _ := net.SplitHostPort(startHTTPS(t, want.Name))
			port, _ := strconv.Atoi(p)
			sink := &memSink{}
			pr, err := New(Config{JARMPorts: []int{port}, SSHPorts: []int{}, Timeout: 5 * time.Second}, sink)
			if err != nil {
				t.Fatal(err)
			}
			pr.Probe(context.Background(), netip.MustParseAddr("127.0.0.1"))
			evs := sink.kind(KindJARM)
			if len(evs) != 1 {
				t.Fatalf("%d jarm events (stats %+v)", len(evs), pr.Stats())
			}
			if evs[0].Fields["jarm"] != want.JARM || evs[0].Fields["jarm_raw"] != want.Raw {
				t.Errorf("JARM %s\n raw %s\njarm.py %s\n    raw %s", evs[0].Fields["jarm"], evs[0].Fields["jarm_raw"], want.JARM, want.Raw)
			}
		})
	}
}
