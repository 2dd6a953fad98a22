package cli

import (
	"bytes"
	"encoding/json"
	"slices"
	"strings"
	"testing"

	"github.com/spf13/cobra"

	"decnet/internal/compose"
	"decnet/internal/engine"
	"decnet/internal/fleet"
	"decnet/internal/state"
	"decnet/internal/testenv"
)

// Status names a service port that is not open in a running decky, and leaves the
// ports of a decky it could not check unjudged.
func TestPrintFleetClosedPorts(t *testing.T) {
	dir := t.TempDir()
	testenv.WriteFleet(t, dir, 2, "dnt-st0")
	st, err := state.Load(dir)
	if err != nil {
		t.Fatal(err)
	}
	p, err := compose.Build(&st.Fleet, compose.Options{Project: st.Project, Image: st.Image, StateDir: dir})
	if err != nil {
		t.Fatal(err)
	}
	var running []engine.ContainerState
	for _, d := range p.Deckies {
		running = append(running, engine.ContainerState{Name: d.Base.ContainerName, State: "running"})
		for _, s := range d.Services {
			running = append(running, engine.ContainerState{Name: s.ContainerName, State: "running"})
		}
	}
	first := st.Fleet.Deckies[0].Name
	open := map[string][]fleet.Port{first: {{Number: 22, Proto: "tcp"}}} // http's 80 closed; the other decky not checked

	print := func(asJSON bool) string {
		var out bytes.Buffer
		c := &cobra.Command{}
		c.SetOut(&out)
		if err := printFleet(c, p, &st.Fleet, running, open, asJSON); err != nil {
			t.Fatal(err)
		}
		return out.String()
	}
	table := print(false)
	for _, want := range []string{"ssh(running) http(running; 80/tcp closed)", "ssh(running) http(running)"} {
		if !strings.Contains(table, want) {
			t.Errorf("status table lacks %q:\n%s", want, table)
		}
	}
	var views []deckyView
	if err := json.Unmarshal([]byte(print(true)), &views); err != nil {
		t.Fatal(err)
	}
	for _, v := range views {
		for _, s := range v.Services {
			wantPorts := map[string]string{"ssh": "22/tcp", "http": "80/tcp"}[s.Name]
			if !slices.Equal(s.Ports, []string{wantPorts}) {
				t.Errorf("%s %s: ports %v, want [%s]", v.Name, s.Name, s.Ports, wantPorts)
			}
			checked := v.Name == first
			var closed []string
			if checked && s.Name == "http" {
				closed = []string{"80/tcp"}
			}
			if s.PortsChecked != checked || !slices.Equal(s.ClosedPorts, closed) {
				t.Errorf("%s %s: ports_checked %v closed_ports %v; want %v %v", v.Name, s.Name, s.PortsChecked, s.ClosedPorts, checked, closed)
			}
		}
	}
}
