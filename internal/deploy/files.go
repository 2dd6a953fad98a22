package deploy

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"

	"decnet/internal/catalog"
	"decnet/internal/fleet"
	"decnet/internal/service"
)

// serviceUID is the unprivileged user every service container runs as (nobody).
const serviceUID = 65534

// ConfigDir is where a decky's service config files live on the host; it is mounted
// read-only at /decnet/config in each of the decky's service containers.
func ConfigDir(stateDir, decky string) string {
	return filepath.Join(stateDir, "deckies", decky, "config")
}

// ArtifactDir is where a decky's captured files (uploads) land on the host; it is
// mounted read-write at /decnet/artifacts in the decky's service containers.
func ArtifactDir(stateDir, decky string) string {
	return filepath.Join(stateDir, "artifacts", decky)
}

// fillSecrets gives every service that declares secrets its per-decky secrets: the
// ones the previous deployment of the same decky had (so host keys never change),
// else freshly generated ones. Secrets are never shared between deckies.
func fillSecrets(f *fleet.Fleet, prev *fleet.Fleet) error {
	for i := range f.Deckies {
		d := &f.Deckies[i]
		var old map[string]map[string]string
		if prev != nil {
			if pd, ok := prev.Decky(d.Name); ok {
				old = pd.Secrets
			}
		}
		for _, s := range d.Services {
			spec, ok := service.Lookup(s.Name)
			if !ok || spec.Secrets == nil {
				continue
			}
			if d.Secrets == nil {
				d.Secrets = map[string]map[string]string{}
			}
			if len(d.Secrets[s.Name]) > 0 {
				continue
			}
			if o := old[s.Name]; len(o) > 0 {
				d.Secrets[s.Name] = o
				continue
			}
			distro, ok := catalog.LookupDistro(d.Distro)
			if !ok {
				return fmt.Errorf("decky %s: unknown distro %q", d.Name, d.Distro)
			}
			sec, err := spec.Secrets(service.Identity{Decky: d.Name, Hostname: d.Hostname, Distro: distro, OSFamily: d.OSFamily})
			if err != nil {
				return fmt.Errorf("decky %s: generate %s secrets: %w", d.Name, s.Name, err)
			}
			d.Secrets[s.Name] = sec
		}
	}
	return nil
}

// writeServiceConfigs writes one JSON config per registered service of every decky,
// readable by the service user only (they hold private keys), and creates the
// artifact directories the services write uploads to.
func writeServiceConfigs(stateDir string, f *fleet.Fleet) error {
	for _, d := range f.Deckies {
		dir := ConfigDir(stateDir, d.Name)
		if err := os.MkdirAll(dir, 0o750); err != nil {
			return fmt.Errorf("create %s: %w", dir, err)
		}
		art := ArtifactDir(stateDir, d.Name)
		if err := os.MkdirAll(art, 0o700); err != nil {
			return fmt.Errorf("create %s: %w", art, err)
		}
		for _, p := range []string{dir, art} {
			if err := chownService(p); err != nil {
				return err
			}
		}
		var all []string
		for _, s := range d.Services {
			all = append(all, s.Name)
		}
		for _, s := range d.Services {
			if s.Custom != nil {
				continue
			}
			cfg := service.Config{
				MAC:         d.MAC,
				Services:    all,
				Decky:       d.Name,
				Hostname:    d.Hostname,
				IP:          d.IP.String(),
				Distro:      d.Distro,
				OSFamily:    d.OSFamily,
				Service:     s.Name,
				Persona:     s.Persona,
				Secrets:     d.Secrets[s.Name],
				ArtifactDir: "/decnet/artifacts",
			}
			b, err := json.MarshalIndent(cfg, "", "  ")
			if err != nil {
				return err
			}
			path := filepath.Join(dir, s.Name+".json")
			if err := writeFileAtomic(path, b, 0o640); err != nil {
				return err
			}
			if err := chownService(path); err != nil {
				return err
			}
		}
	}
	return nil
}

// chownService gives the service user group access (root keeps ownership); when
// not running as root (dry runs, tests) ownership is left alone.
func chownService(path string) error {
	if os.Geteuid() != 0 {
		return nil
	}
	if err := os.Chown(path, serviceUID, serviceUID); err != nil {
		return fmt.Errorf("chown %s: %w", path, err)
	}
	return nil
}

func writeFileAtomic(path string, b []byte, mode os.FileMode) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".*")
	if err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return fmt.Errorf("write %s: %w", path, err)
	}
	if err := tmp.Chmod(mode); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	if err := os.Rename(tmp.Name(), path); err != nil {
		return fmt.Errorf("write %s: %w", path, err)
	}
	return nil
}
