package testenv

import (
	"net/netip"
	"testing"
	"time"

	"decnet/internal/config"
	"decnet/internal/state"
)

// WriteFleet records in dir the state of an n-decky fleet (ssh and http on each,
// on 192.0.2.0/24 behind the named interface) built by the real config package,
// as a deploy would, without deploying anything: for code that reads the fleet
// (the API's deckies, the dashboard's fleet page).
func WriteFleet(t testing.TB, dir string, n int, iface string) {
	t.Helper()
	res, err := config.Build(nil, config.Flags{
		Deckies: n, Interface: iface, Subnet: "192.0.2.0/24", Gateway: "192.0.2.1",
		Services: []string{"ssh", "http"}, Seed: 7,
	}, config.Env{
		InterfaceAddr: func(string) (netip.Prefix, error) { return netip.MustParsePrefix("192.0.2.250/24"), nil },
	})
	if err != nil {
		t.Fatalf("build the test fleet: %v", err)
	}
	if err := state.Save(dir, &state.State{Version: state.CurrentVersion, Project: "decnet", Image: "decnet:test", DeployedAt: time.Now().UTC(), Fleet: *res.Fleet}); err != nil {
		t.Fatalf("save the test fleet state: %v", err)
	}
}
