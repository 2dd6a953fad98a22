package api

import (
	"context"
	"errors"
	"testing"
	"time"

	"decnet/internal/engine"
	"decnet/internal/testenv"

	_ "decnet/internal/services/all" // the service registry the fleet and its ports come from
)

// staticEngine reports a fixed set of containers, standing in for the Docker
// engine's Status so the join of state and container states can be checked.
type staticEngine struct {
	cs  []engine.ContainerState
	err error
}

func (s staticEngine) Status(context.Context, string) ([]engine.ContainerState, error) {
	return s.cs, s.err
}

type deckiesResp struct {
	Items []struct {
		Name     string `json:"name"`
		IP       string `json:"ip"`
		MAC      string `json:"mac"`
		Hostname string `json:"hostname"`
		Distro   string `json:"distro"`
		Base     struct {
			State string `json:"state"`
		} `json:"base"`
		Services []struct {
			Name      string   `json:"name"`
			Ports     []string `json:"ports"`
			Container string   `json:"container"`
			State     string   `json:"state"`
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
	time.Sleep(deckyCacheTTL + 100*time.Millisecond)
	d = deckiesResp{}
	c.get("/api/deckies").json(t, &d)
	for _, s := range d.Items[0].Services {
		if s.State != "running" {
			t.Errorf("service %s: state %s; want running", s.Name, s.State)
		}
	}
	if d.Items[0].Base.State != "missing" || d.Items[1].Services[0].State != "missing" {
		t.Errorf("containers the engine lacks: %+v", d.Items)
	}
}
