package api

import (
	"context"
	"errors"
	"strings"
	"testing"
	"time"

	"decnet/internal/engine"
	"decnet/internal/fleet"
	"decnet/internal/testenv"

	_ "decnet/internal/services/all" // the service registry the fleet and its ports come from
)

// staticEngine reports a fixed set of containers and open ports, standing in for
// the Docker engine so the join of state, container states and ports can be
// checked (the real Listening is tested in engine/docker and test/e2e).
type staticEngine struct {
	cs   []engine.ContainerState
	open []fleet.Port // in every decky
	err  error
}

func (s staticEngine) Status(context.Context, string) ([]engine.ContainerState, error) {
	return s.cs, s.err
}

func (s staticEngine) Listening(context.Context, string, string) ([]fleet.Port, error) {
	return s.open, s.err
}

type deckiesResp struct {
	Items []struct {
		Name     string `json:"name"`
		IP       string `json:"ip"`
		MAC      string `json:"mac"`
		Hostname string `json:"hostname"`
		Distro   string `json:"distro"`
		Base     struct {
			State     string `json:"state"`
			Container string `json:"container"`
		} `json:"base"`
		Services []struct {
			Name         string   `json:"name"`
			Ports        []string `json:"ports"`
			Container    string   `json:"container"`
			State        string   `json:"state"`
			PortsChecked bool     `json:"ports_checked"`
			ClosedPorts  []string `json:"closed_ports"`
		} `json:"services"`
	} `json:"items"`
}

func TestDeckies(t *testing.T) {
	for _, tc := range []struct {
		name string
		eng  ContainerStatus
		want string // state of the ssh container of the first decky
	}{
		{"no engine", nil, "unknown"},
		{"engine down", staticEngine{err: errors.New("cannot reach the Docker daemon")}, "unknown"},
		{"nothing running", staticEngine{cs: []engine.ContainerState{}}, "missing"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			e := newEnv(t, func(c *Config) {
				testenv.WriteFleet(t, c.StateDir, 2, "dnt-api0")
				c.Engine = tc.eng
			})
			c := e.admin()
			var d deckiesResp
			r := c.get("/api/deckies")
			r.json(t, &d)
			if r.code != 200 || len(d.Items) != 2 {
				t.Fatalf("%d %s", r.code, r.body)
			}
			it := d.Items[0]
			if it.IP == "" || it.MAC == "" || it.Hostname == "" || len(it.Services) != 2 || it.Base.State != tc.want {
				t.Fatalf("decky %+v", it)
			}
			for _, s := range it.Services {
				if s.State != tc.want || s.Container == "" || len(s.Ports) == 0 {
					t.Errorf("service %+v; want state %s, a container and ports", s, tc.want)
				}
				if s.Name == "ssh" && s.Ports[0] != "22/tcp" {
					t.Errorf("ssh ports %v", s.Ports)
				}
			}
		})
	}
	// The engine's view is joined by container name.
	eng := &staticEngine{cs: []engine.ContainerState{}}
	e := newEnv(t, func(c *Config) { testenv.WriteFleet(t, c.StateDir, 2, "dnt-api0"); c.Engine = eng })
	c := e.admin()
	var d deckiesResp
	c.get("/api/deckies").json(t, &d)
	for _, s := range d.Items[0].Services {
		eng.cs = append(eng.cs, engine.ContainerState{Name: s.Container, State: "running", Status: "Up 3 minutes"})
	}
	eng.cs = append(eng.cs, engine.ContainerState{Name: d.Items[0].Base.Container, State: "running"})
	eng.open = []fleet.Port{{Number: 22, Proto: "tcp"}} // http's 80/tcp is not open
	time.Sleep(deckyCacheTTL + 100*time.Millisecond)
	d = deckiesResp{}
	c.get("/api/deckies").json(t, &d)
	for _, s := range d.Items[0].Services {
		if s.State != "running" {
			t.Errorf("service %s: state %s; want running", s.Name, s.State)
		}
		want := map[string]string{"ssh": "", "http": "80/tcp"}[s.Name]
		if !s.PortsChecked || strings.Join(s.ClosedPorts, ",") != want {
			t.Errorf("service %s: ports checked %v, closed %v; want checked, closed %q", s.Name, s.PortsChecked, s.ClosedPorts, want)
		}
	}
	if d.Items[1].Base.State != "missing" || d.Items[1].Services[0].State != "missing" {
		t.Errorf("containers the engine lacks: %+v", d.Items)
	}
	for _, s := range d.Items[1].Services {
		if s.PortsChecked || len(s.ClosedPorts) != 0 {
			t.Errorf("a decky whose base container is missing had its ports judged: %+v", s)
		}
	}
}
