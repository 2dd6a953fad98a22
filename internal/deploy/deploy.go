// Package deploy is the deploy/teardown use-case. It is the one place that ties the
// pieces together: config → fleet → per-decky secrets and service config files →
// compose model → engine → state. Everything it calls is usable on its own.
package deploy

import (
	"context"
	"errors"
	"fmt"
	"math/rand/v2"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"decnet/internal/compose"
	"decnet/internal/config"
	"decnet/internal/engine"
	"decnet/internal/fleet"
	"decnet/internal/netdetect"
	"decnet/internal/service"
	"decnet/internal/state"
)

// DryRunImage is the image tag a dry run renders (nothing is built).
const DryRunImage = "decnet/service:dry-run"

// Deployer runs deploys and teardowns for one state directory.
type Deployer struct {
	StateDir    string        // absolute
	ProjectName string        // compose project; "" = compose.DefaultProject
	Engine      engine.Engine // nil for dry runs and planning
	// Binary is the static decnet binary the service image is built from.
	Binary   string
	Progress engine.Progress
}

// Load returns the recorded state, or nil when nothing is deployed.
func (d *Deployer) Load() (*state.State, error) {
	st, err := state.Load(d.StateDir)
	if errors.Is(err, state.ErrNoState) {
		return nil, nil
	}
	return st, err
}

// Plan builds and validates the desired fleet from an INI file (may be "") and
// flags. probe enables ARP probing of addresses before they are claimed (needs root).
func (d *Deployer) Plan(ctx context.Context, iniPath string, flags config.Flags, probe bool) (*config.Result, error) {
	var file *config.File
	if iniPath != "" {
		f, err := config.Load(iniPath)
		if err != nil {
			return nil, err
		}
		file = f
	}
	prev, err := d.Load()
	if err != nil {
		return nil, err
	}
	if flags.Seed == 0 {
		// Identities (MACs, hostnames) of new deckies must not be guessable from their
		// names across installations; deployed deckies keep theirs through env.Existing.
		flags.Seed = rand.Uint64()
	}
	env := config.Env{
		DetectInterface: netdetect.DefaultInterface,
		InterfaceAddr:   netdetect.InterfaceAddr,
		Gateway:         netdetect.Gateway,
	}
	if prev != nil {
		env.Existing = &prev.Fleet
	}
	if probe {
		// The interface is known only once config has resolved it; probe lazily.
		env.InUse = d.lazyProbe(ctx, file, flags, prev)
	}
	return config.Build(file, flags, env)
}

// lazyProbe ARP-probes an address on the fleet's interface before it is claimed.
// Addresses the current deployment already owns answer too, and are not "in use".
func (d *Deployer) lazyProbe(ctx context.Context, file *config.File, flags config.Flags, prev *state.State) func(netip.Addr) bool {
	var probe func(netip.Addr) bool
	return func(ip netip.Addr) bool {
		if prev != nil {
			for _, dk := range prev.Fleet.Deckies {
				if dk.IP == ip {
					return false
				}
			}
		}
		if probe == nil {
			iface := flags.Interface
			if iface == "" && file != nil {
				iface = file.Interface()
			}
			if iface == "" {
				var err error
				if iface, err = netdetect.DefaultInterface(); err != nil {
					return false
				}
			}
			probe = netdetect.ProbeFunc(ctx, iface)
		}
		return probe(ip)
	}
}

// Render builds the compose model of f and writes it as a compose file at path.
func (d *Deployer) Render(f *fleet.Fleet, image, path string) (*compose.Project, error) {
	p, err := compose.Build(f, compose.Options{Project: d.ProjectName, Image: image, StateDir: d.StateDir})
	if err != nil {
		return nil, err
	}
	y, err := p.YAML()
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, err
	}
	if err := writeFileAtomic(path, y, 0o644); err != nil {
		return nil, err
	}
	return p, nil
}

// ComposePath is where a real deploy writes its compose file.
func (d *Deployer) ComposePath() string { return filepath.Join(d.StateDir, "docker-compose.yml") }

// Apply deploys the whole fleet f: image, secrets, service configs, compose file,
// engine, state. On failure the engine rolls back what this run created and no state
// is written, so the previous deployment's record stays true.
func (d *Deployer) Apply(ctx context.Context, f *fleet.Fleet) (*state.State, error) {
	if d.Engine == nil {
		return nil, errors.New("deploy: no engine")
	}
	prev, err := d.Load()
	if err != nil {
		return nil, err
	}
	d.step("building service image", 0, 0)
	image, err := d.Engine.EnsureImage(ctx, d.Binary)
	if err != nil {
		return nil, err
	}
	var prevFleet *fleet.Fleet
	if prev != nil {
		prevFleet = &prev.Fleet
	}
	if err := fillSecrets(f, prevFleet); err != nil {
		return nil, err
	}
	if err := writeServiceConfigs(d.StateDir, f); err != nil {
		return nil, err
	}
	p, err := d.Render(f, image, d.ComposePath())
	if err != nil {
		return nil, err
	}
	if err := d.Engine.Deploy(ctx, p, d.Progress); err != nil {
		return nil, err
	}
	st := &state.State{
		Version:     state.CurrentVersion,
		Project:     p.Name,
		Image:       image,
		ComposeFile: d.ComposePath(),
		DeployedAt:  time.Now().UTC(),
		Fleet:       *f,
	}
	if err := state.Save(d.StateDir, st); err != nil {
		return nil, fmt.Errorf("the fleet is running but its state could not be saved: %w", err)
	}
	return st, nil
}

// DefaultReadyTimeout is how long WaitReady waits for every port by default.
const DefaultReadyTimeout = 60 * time.Second

// NotReadyError lists the ports that were not open when WaitReady gave up.
type NotReadyError struct {
	Waited  time.Duration
	Missing []string // "decky-01: 22/tcp (ssh, container decnet-decky-01-ssh)"
}

func (e *NotReadyError) Error() string {
	return fmt.Sprintf("the fleet is deployed, but %d service ports were not open %s later (see `docker logs <container>`): %s",
		len(e.Missing), e.Waited, strings.Join(e.Missing, "; "))
}

// WaitReady waits until every port of every DECNET service of st's fleet is open
// in its decky (Engine.Listening: passive, no traffic to the deckies), reporting
// progress, so a deploy that returns leaves deckies that answer a scan at once. It
// gives up after timeout with a *NotReadyError naming what is missing. The ports
// of bring-your-own-service containers are not waited for (their images are the
// user's, and may start slowly or not listen at all): the ones not open by then
// come back as warnings.
func (d *Deployer) WaitReady(ctx context.Context, st *state.State, timeout time.Duration) (warnings []string, err error) {
	if d.Engine == nil {
		return nil, errors.New("deploy: no engine")
	}
	type want struct {
		port            fleet.Port
		service, contnr string
		custom          bool
	}
	wants := map[string][]want{}
	total := 0
	p, err := d.Project(st)
	if err != nil {
		return nil, err
	}
	containerOf := map[[2]string]string{}
	for _, dk := range p.Deckies {
		for _, c := range dk.Services {
			containerOf[[2]string{dk.Name, c.Service}] = c.ContainerName
		}
	}
	for _, dk := range st.Fleet.Deckies {
		for _, s := range dk.Services {
			ports := service.PortsOf(s)
			for _, pt := range ports {
				wants[dk.Name] = append(wants[dk.Name], want{pt, s.Name, containerOf[[2]string{dk.Name, s.Name}], s.Custom != nil})
			}
			if s.Custom == nil {
				total += len(ports)
			}
		}
	}
	deadline := time.Now().Add(timeout)
	reported := -1
	for {
		open, last := 0, ""
		var missing, custom []string
		for _, dk := range st.Fleet.Deckies {
			got, err := d.Engine.Listening(ctx, st.Project, dk.Name)
			if err != nil {
				last = err.Error()
			}
			for _, w := range wants[dk.Name] {
				what := fmt.Sprintf("%s: %s (%s, container %s)", dk.Name, w.port, w.service, w.contnr)
				switch {
				case w.custom && !slices.Contains(got, w.port):
					custom = append(custom, what+" is not open yet")
				case w.custom:
				case slices.Contains(got, w.port):
					open++
				default:
					missing = append(missing, what)
				}
			}
		}
		if open != reported { // a line per change, not per poll
			d.step(fmt.Sprintf("waiting for services: %d of %d ports open", open, total), open, total)
			reported = open
		}
		if len(missing) == 0 {
			return custom, nil
		}
		if time.Now().After(deadline) {
			if last != "" {
				missing = append(missing, "last error: "+last)
			}
			return custom, &NotReadyError{Waited: timeout, Missing: missing}
		}
		select {
		case <-ctx.Done():
			return nil, ctx.Err()
		case <-time.After(250 * time.Millisecond):
		}
	}
}

func (d *Deployer) step(s string, done, total int) {
	if d.Progress != nil {
		d.Progress(s, done, total)
	}
}

// Project rebuilds the compose model of a recorded deployment (names, labels, network,
// hairpin), the same model its deploy applied.
func (d *Deployer) Project(st *state.State) (*compose.Project, error) {
	return compose.Build(&st.Fleet, compose.Options{Project: st.Project, Image: st.Image, StateDir: d.StateDir})
}

// Teardown removes one whole decky (id != "") or the whole fleet (id == ""). It
// returns how many deckies were removed. Removing the last decky removes the fleet.
// With no recorded state, --all still removes whatever the engine labels as this
// project's (left over by a crash), and --id is an error.
func (d *Deployer) Teardown(ctx context.Context, id string) (int, error) {
	if d.Engine == nil {
		return 0, errors.New("teardown: no engine")
	}
	st, err := d.Load()
	if err != nil {
		return 0, err
	}
	if st == nil {
		if id != "" {
			return 0, fmt.Errorf("no deployment is recorded in %s, so there is no decky %s", d.StateDir, id)
		}
		return 0, d.teardownLeftovers(ctx)
	}
	p, err := d.Project(st)
	if err != nil {
		return 0, fmt.Errorf("cannot rebuild the deployed model from %s: %w", state.Path(d.StateDir), err)
	}
	if id != "" {
		if _, ok := st.Fleet.Decky(id); !ok {
			return 0, fmt.Errorf("no decky named %s is deployed (see `decnet status`)", id)
		}
		if len(st.Fleet.Deckies) > 1 {
			if err := d.Engine.Teardown(ctx, p, id, d.Progress); err != nil {
				return 0, err
			}
			kept := st.Fleet.Deckies[:0]
			for _, dk := range st.Fleet.Deckies {
				if dk.Name != id {
					kept = append(kept, dk)
				}
			}
			st.Fleet.Deckies = kept
			if err := state.Save(d.StateDir, st); err != nil {
				return 1, fmt.Errorf("decky %s is gone but the state could not be updated: %w", id, err)
			}
			return 1, d.removeDeckyFiles(id)
		}
	}
	// The whole fleet: containers, hairpin, network (engine), then files and state.
	if err := d.Engine.Teardown(ctx, p, "", d.Progress); err != nil {
		return 0, err
	}
	for _, dk := range st.Fleet.Deckies {
		if err := d.removeDeckyFiles(dk.Name); err != nil {
			return 0, err
		}
	}
	os.Remove(filepath.Join(d.StateDir, "deckies"))
	if err := os.Remove(d.ComposePath()); err != nil && !os.IsNotExist(err) {
		return 0, err
	}
	if err := state.Remove(d.StateDir); err != nil {
		return 0, err
	}
	return len(st.Fleet.Deckies), nil
}

// teardownLeftovers removes what the engine labels as this project's when no state
// records it (a crashed deploy). Without a model the hairpin may be either kind, so
// both default hairpin names are removed.
func (d *Deployer) teardownLeftovers(ctx context.Context) error {
	name := d.ProjectName
	if name == "" {
		name = compose.DefaultProject
	}
	for _, link := range []string{"decnet_macvlan0", "decnet_ipvlan0"} {
		p := &compose.Project{Name: name}
		p.Network.Name = name + "_" + compose.NetworkKey
		p.Hairpin.Link = link
		if err := d.Engine.Teardown(ctx, p, "", d.Progress); err != nil {
			return err
		}
	}
	return nil
}

// removeDeckyFiles removes a decky's service configs (they hold its secrets). Its
// captured artifacts are evidence and stay.
func (d *Deployer) removeDeckyFiles(name string) error {
	if err := os.RemoveAll(filepath.Join(d.StateDir, "deckies", name)); err != nil {
		return fmt.Errorf("remove the files of decky %s: %w", name, err)
	}
	return nil
}
