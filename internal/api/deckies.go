package api

import (
	"encoding/json"
	"errors"
	"net/http"
	"sort"
	"time"

	"decnet/internal/compose"
	"decnet/internal/engine"
	"decnet/internal/fleet"
	"decnet/internal/service"
	"decnet/internal/state"
)

type containerJSON struct {
	Name      string   `json:"name"`
	Ports     []string `json:"ports"`
	Container string   `json:"container"`
	State     string   `json:"state"` // running, exited, … ; missing (expected, absent); unknown (no engine)
	Status    string   `json:"status,omitempty"`
	// PortsChecked: the ports open in the decky were read (its base container
	// runs); ClosedPorts are then the service's ports that are not open.
	PortsChecked bool     `json:"ports_checked"`
	ClosedPorts  []string `json:"closed_ports"`
}

type deckyJSON struct {
	Name      string          `json:"name"`
	IP        string          `json:"ip"`
	MAC       string          `json:"mac"`
	Hostname  string          `json:"hostname"`
	Archetype string          `json:"archetype"`
	Distro    string          `json:"distro"`
	OSFamily  string          `json:"os_family"`
	Base      containerJSON   `json:"base"`
	Services  []containerJSON `json:"services"`
}

// deckyCacheTTL keeps many dashboards from asking the engine on every request.
const deckyCacheTTL = 2 * time.Second

func (s *Server) handleDeckies(w http.ResponseWriter, r *http.Request) {
	s.deckyMu.Lock()
	defer s.deckyMu.Unlock()
	if c := s.deckyCache; c.body != nil && time.Since(c.at) < deckyCacheTTL {
		writeRawJSON(w, http.StatusOK, c.body)
		return
	}
	items, err := s.deckies(r)
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	body, err := json.Marshal(struct {
		Items []deckyJSON `json:"items"`
	}{items})
	if err != nil {
		s.internalError(w, r, err)
		return
	}
	body = append(body, '\n')
	s.deckyCache = cachedJSON{at: time.Now(), body: body}
	writeRawJSON(w, http.StatusOK, body)
}

// deckies joins the recorded fleet with the engine's container states (as
// `decnet status` does).
func (s *Server) deckies(r *http.Request) ([]deckyJSON, error) {
	items := []deckyJSON{}
	if s.cfg.StateDir == "" {
		return items, nil
	}
	st, err := state.Load(s.cfg.StateDir)
	if errors.Is(err, state.ErrNoState) {
		return items, nil
	}
	if err != nil {
		return nil, err
	}
	p, err := compose.Build(&st.Fleet, compose.Options{Project: st.Project, Image: st.Image, StateDir: s.cfg.StateDir})
	if err != nil {
		return nil, err
	}
	var containers map[string]engine.ContainerState
	if s.cfg.Engine != nil {
		cs, err := s.cfg.Engine.Status(r.Context(), p.Name)
		if err != nil {
			s.log.Warn("container states unknown", "err", err)
		} else {
			containers = map[string]engine.ContainerState{}
			for _, c := range cs {
				containers[c.Name] = c
			}
		}
	}
	look := func(ct *compose.Container, name string) containerJSON {
		v := containerJSON{Name: name, Ports: []string{}, Container: ct.ContainerName, State: "unknown", ClosedPorts: []string{}}
		if containers != nil {
			v.State = "missing"
			if c, ok := containers[ct.ContainerName]; ok {
				v.State, v.Status = c.State, c.Status
			}
		}
		return v
	}
	for _, d := range st.Fleet.Deckies {
		md, ok := p.Decky(d.Name)
		if !ok {
			continue
		}
		dj := deckyJSON{Name: d.Name, IP: d.IP.String(), MAC: d.MAC, Hostname: d.Hostname, Archetype: d.Archetype,
			Distro: d.Distro, OSFamily: d.OSFamily, Base: look(&md.Base, "base"), Services: []containerJSON{}}
		// The ports open in the decky, read passively (no event); only while its
		// base container, which holds the network namespace, runs.
		var open []fleet.Port
		checked := false
		if dj.Base.State == "running" {
			if got, err := s.cfg.Engine.Listening(r.Context(), p.Name, d.Name); err != nil {
				s.log.Warn("open ports unknown", "decky", d.Name, "err", err)
			} else {
				open, checked = got, true
			}
		}
		for i := range md.Services {
			ct := &md.Services[i]
			v := look(ct, ct.Service)
			v.Ports, v.ClosedPorts = service.PortNames(d.Services, ct.Service, open, checked)
			v.PortsChecked = checked
			dj.Services = append(dj.Services, v)
		}
		items = append(items, dj)
	}
	sort.Slice(items, func(i, j int) bool { return items[i].Name < items[j].Name })
	return items, nil
}
