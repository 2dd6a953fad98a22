package docker

import (
	"context"
	"errors"
	"fmt"
	"os"
	"slices"
	"sort"
	"sync"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/image"
	"github.com/docker/docker/api/types/mount"
	"github.com/docker/docker/api/types/network"
	"github.com/docker/docker/api/types/versions"
	"golang.org/x/sync/errgroup"

	"decnet/internal/compose"
	"decnet/internal/engine"
)

// unprivilegedID is the uid and gid the service containers run as.
const unprivilegedID = 65534

// rollback remembers what one Deploy created so a failure can undo exactly that.
type rollback struct {
	mu sync.Mutex // deckies are created concurrently
	// containers are the names this Deploy asked Docker to create, in order. A
	// name is recorded before the request: when a failure elsewhere cancels the
	// deploy, a create in flight returns an error while the daemon may still
	// create the container, which the rollback must remove all the same. The
	// names are free when asked for (existing ones are reused or removed first),
	// so a container by that name is this Deploy's.
	containers []string
	network    bool
	hairpin    bool
}

func (rb *rollback) add(name string) {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	rb.containers = append(rb.containers, name)
}

// drop forgets a name that turned out to belong to someone else (a conflict).
func (rb *rollback) drop(name string) {
	rb.mu.Lock()
	defer rb.mu.Unlock()
	rb.containers = slices.DeleteFunc(rb.containers, func(n string) bool { return n == name })
}

func (e *Engine) undo(ctx context.Context, p *compose.Project, rb *rollback) error {
	var errs []error
	for i := len(rb.containers) - 1; i >= 0; i-- {
		name := rb.containers[i]
		if err := e.cli.ContainerRemove(ctx, name, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
			errs = append(errs, fmt.Errorf("cannot remove container %s: %w", name, err))
		}
	}
	// A create the daemon finished after its request was cancelled may land just
	// after the pass above: look once more.
	if len(rb.containers) > 0 {
		time.Sleep(500 * time.Millisecond)
		left, err := e.list(ctx, p.Name, "")
		if err != nil {
			errs = append(errs, err)
		}
		for _, c := range left {
			if name := containerName(c); slices.Contains(rb.containers, name) {
				if err := e.cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true}); err != nil && !cerrdefs.IsNotFound(err) {
					errs = append(errs, fmt.Errorf("cannot remove container %s: %w", name, err))
				}
			}
		}
	}
	if rb.hairpin {
		if err := removeHairpin(p.Hairpin); err != nil {
			errs = append(errs, err)
		}
	}
	if rb.network {
		if err := e.removeNetwork(ctx, p); err != nil {
			errs = append(errs, err)
		}
	}
	return errors.Join(errs...)
}

// Deploy makes Docker match p (the whole fleet). See engine.Engine.
func (e *Engine) Deploy(ctx context.Context, p *compose.Project, progress engine.Progress) (err error) {
	if p == nil || len(p.Deckies) == 0 {
		return errors.New("refusing to deploy an empty project: the model must describe the whole fleet")
	}
	want := p.Containers()
	pc := &progressCounter{fn: progress, total: 4 + len(want)}
	rb := &rollback{}
	defer func() {
		if err != nil {
			if uerr := e.undo(context.WithoutCancel(ctx), p, rb); uerr != nil {
				err = fmt.Errorf("%w (and the rollback failed: %v)", err, uerr)
			}
		}
	}()

	if _, err := e.cli.ImageInspect(ctx, p.Image); err != nil {
		return fmt.Errorf("the service image %s is not available (build it with EnsureImage first): %w", p.Image, err)
	}
	if err := prepareDirs(p); err != nil {
		return err
	}
	pc.step("prepare state directories")

	if rb.network, err = e.ensureNetwork(ctx, p); err != nil {
		return err
	}
	pc.step("network " + p.Network.Name)

	if rb.hairpin, err = ensureHairpin(p.Hairpin); err != nil {
		return fmt.Errorf("host hairpin: %w", err)
	}
	pc.step("hairpin " + p.Hairpin.Link)

	// What runs now, by name.
	list, err := e.list(ctx, p.Name, "")
	if err != nil {
		return err
	}
	existing := map[string]container.Summary{}
	for _, c := range list {
		existing[containerName(c)] = c
	}
	// Remove what is not in the model, what changed, and every service of a decky whose
	// base is (re)created (its network namespace is about to be new).
	wanted := map[string]*compose.Container{}
	for _, c := range want {
		wanted[c.ContainerName] = c
	}
	remove := map[string]bool{}
	for name, c := range existing {
		w, ok := wanted[name]
		if !ok || c.Labels[compose.LabelHash] != w.Hash() {
			remove[name] = true
		}
	}
	for _, d := range p.Deckies {
		if _, ok := existing[d.Base.ContainerName]; ok && !remove[d.Base.ContainerName] {
			continue
		}
		for _, s := range d.Services {
			if _, ok := existing[s.ContainerName]; ok {
				remove[s.ContainerName] = true
			}
		}
	}
	var stale []string
	for name := range remove {
		stale = append(stale, name)
	}
	// Services before bases, then by name.
	sort.Slice(stale, func(i, j int) bool {
		bi := existing[stale[i]].Labels[compose.LabelRole] == compose.RoleBase
		bj := existing[stale[j]].Labels[compose.LabelRole] == compose.RoleBase
		if bi != bj {
			return bj
		}
		return stale[i] < stale[j]
	})
	for _, name := range stale {
		if err := e.removeContainer(ctx, existing[name].ID, name); err != nil {
			return fmt.Errorf("removing stale container: %w", err)
		}
		delete(existing, name)
	}
	pc.step(fmt.Sprintf("remove %d stale containers", len(stale)))

	// Deckies are independent: create them DeployParallelism at a time (a decky's
	// own containers stay in order: base first, then the services joining it).
	g, gctx := errgroup.WithContext(ctx)
	g.SetLimit(DeployParallelism)
	for _, d := range p.Deckies {
		g.Go(func() error {
			baseID, err := e.ensureContainer(gctx, p, &d.Base, "", existing, rb)
			if err != nil {
				return fmt.Errorf("decky %s: %w", d.Name, err)
			}
			if err := e.announce(gctx, baseID, d.Base.IPv4Address); err != nil {
				return fmt.Errorf("decky %s: %w", d.Name, err)
			}
			pc.step("container " + d.Base.ContainerName)
			for i := range d.Services {
				s := &d.Services[i]
				if _, err := e.ensureContainer(gctx, p, s, baseID, existing, rb); err != nil {
					return fmt.Errorf("decky %s, service %s: %w", d.Name, s.Service, err)
				}
				pc.step("container " + s.ContainerName)
			}
			return nil
		})
	}
	if err := g.Wait(); err != nil {
		return err
	}
	// A second announcement of every decky, once the whole fleet is up (RFC 5227
	// announces twice: one ARP packet can be lost).
	for _, d := range p.Deckies {
		if err := e.announce(ctx, d.Base.ContainerName, d.Base.IPv4Address); err != nil {
			return fmt.Errorf("decky %s: %w", d.Name, err)
		}
	}
	return nil
}

// DeployParallelism is how many deckies a deploy creates at once.
const DeployParallelism = 4

// ensureContainer leaves an existing container with the right hash running (starting it
// if stopped, restarting a service whose base restarted after it) or creates and starts
// it. It returns the container's ID.
func (e *Engine) ensureContainer(ctx context.Context, p *compose.Project, c *compose.Container, baseID string,
	existing map[string]container.Summary, rb *rollback) (string, error) {
	if cur, ok := existing[c.ContainerName]; ok {
		if cur.State != container.StateRunning {
			if err := e.cli.ContainerStart(ctx, cur.ID, container.StartOptions{}); err != nil {
				return "", fmt.Errorf("cannot start existing container %s: %w", c.ContainerName, err)
			}
			return cur.ID, nil
		}
		if baseID != "" {
			if err := e.rejoinBase(ctx, cur.ID, baseID, c.ContainerName); err != nil {
				return "", err
			}
		}
		return cur.ID, nil
	}
	cfg, host, netCfg := containerSpec(p, c, baseID, e.cli.ClientVersion())
	if c.Custom {
		if err := e.ensureForeignImage(ctx, c.Image); err != nil {
			return "", fmt.Errorf("container %s: %w", c.ContainerName, err)
		}
	}
	rb.add(c.ContainerName)
	resp, err := e.cli.ContainerCreate(ctx, cfg, host, netCfg, nil, c.ContainerName)
	if err != nil {
		if cerrdefs.IsConflict(err) {
			rb.drop(c.ContainerName)
			return "", fmt.Errorf("cannot create container %s: a container of that name exists outside project %s: %w", c.ContainerName, p.Name, err)
		}
		return "", fmt.Errorf("cannot create container %s: %w", c.ContainerName, err)
	}
	if err := e.cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		return "", fmt.Errorf("cannot start container %s: %w", c.ContainerName, err)
	}
	return resp.ID, nil
}

// rejoinBase restarts a service container that started before its base's current run:
// it still sits in the base's previous, dead network namespace.
func (e *Engine) rejoinBase(ctx context.Context, id, baseID, name string) error {
	svc, err := e.cli.ContainerInspect(ctx, id)
	if err != nil {
		return fmt.Errorf("cannot inspect container %s: %w", name, err)
	}
	base, err := e.cli.ContainerInspect(ctx, baseID)
	if err != nil {
		return fmt.Errorf("cannot inspect the base of container %s: %w", name, err)
	}
	if svc.State == nil || base.State == nil || svc.State.StartedAt >= base.State.StartedAt {
		return nil // RFC 3339 with fixed precision: string order is time order
	}
	secs := int(StopTimeout.Seconds())
	if err := e.cli.ContainerRestart(ctx, id, container.StopOptions{Timeout: &secs}); err != nil {
		return fmt.Errorf("cannot restart container %s into its base's new network namespace: %w", name, err)
	}
	return nil
}

// ensureForeignImage makes a BYOS image available, pulling it when it is not local.
func (e *Engine) ensureForeignImage(ctx context.Context, ref string) error {
	if _, err := e.cli.ImageInspect(ctx, ref); err == nil {
		return nil
	} else if !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("cannot inspect image %s: %w", ref, err)
	}
	rc, err := e.cli.ImagePull(ctx, ref, image.PullOptions{})
	if err != nil {
		return fmt.Errorf("image %s is not available locally and cannot be pulled: %w", ref, err)
	}
	defer rc.Close()
	if err := buildResult(rc); err != nil {
		return fmt.Errorf("image %s is not available locally and cannot be pulled: %w", ref, err)
	}
	return nil
}

// containerSpec translates a model container to the Docker API. baseID is the base
// container whose network namespace a service joins.
func containerSpec(p *compose.Project, c *compose.Container, baseID, apiVersion string) (*container.Config, *container.HostConfig, *network.NetworkingConfig) {
	cfg := &container.Config{
		Image:    c.Image,
		Cmd:      c.Command,
		User:     c.User,
		Hostname: c.Hostname,
		Labels:   c.Labels,
	}
	// API < 1.44 (Engine 20.10 is 1.41) takes the MAC in the container config; newer
	// daemons take it per endpoint (and the client clears the config field for them).
	oldAPI := versions.LessThan(apiVersion, "1.44")
	if oldAPI {
		cfg.MacAddress = c.MACAddress //nolint:staticcheck // the only place API 1.41 accepts it
	}
	pids := c.PidsLimit
	host := &container.HostConfig{
		RestartPolicy:  container.RestartPolicy{Name: container.RestartPolicyMode(c.Restart)},
		CapDrop:        c.CapDrop,
		CapAdd:         c.CapAdd,
		ReadonlyRootfs: c.ReadOnly,
		SecurityOpt:    c.SecurityOpt,
		Sysctls:        c.Sysctls,
		Tmpfs:          c.Tmpfs,
		Resources:      container.Resources{Memory: c.MemLimit, PidsLimit: &pids},
	}
	for _, m := range c.Mounts {
		host.Mounts = append(host.Mounts, mount.Mount{Type: mount.TypeBind, Source: m.Source, Target: m.Target, ReadOnly: m.ReadOnly})
	}
	var netCfg *network.NetworkingConfig
	if c.NetworkOf != "" {
		host.NetworkMode = container.NetworkMode("container:" + baseID)
	} else {
		host.NetworkMode = container.NetworkMode(p.Network.Name)
		ep := &network.EndpointSettings{IPAMConfig: &network.EndpointIPAMConfig{IPv4Address: c.IPv4Address}}
		if !oldAPI {
			ep.MacAddress = c.MACAddress
		}
		netCfg = &network.NetworkingConfig{EndpointsConfig: map[string]*network.EndpointSettings{p.Network.Name: ep}}
	}
	return cfg, host, netCfg
}

// prepareDirs creates the per-decky directories the service containers mount: config
// (root:65534, 0750, read-only inside) and artifacts (65534:65534, 0700, writable).
func prepareDirs(p *compose.Project) error {
	if err := os.MkdirAll(p.StateDir, 0o700); err != nil {
		return fmt.Errorf("cannot create the state directory: %w", err)
	}
	for _, c := range p.Containers() {
		for _, m := range c.Mounts {
			mode, uid := os.FileMode(0o750), 0
			if !m.ReadOnly {
				mode, uid = 0o700, unprivilegedID
			}
			if err := os.MkdirAll(m.Source, mode); err != nil {
				return fmt.Errorf("cannot create directory %s for %s: %w", m.Source, c.ContainerName, err)
			}
			if err := os.Chmod(m.Source, mode); err != nil {
				return fmt.Errorf("cannot set the mode of %s: %w", m.Source, err)
			}
			if err := os.Chown(m.Source, uid, unprivilegedID); err != nil {
				return fmt.Errorf("cannot hand %s to uid %d: %w", m.Source, uid, err)
			}
		}
	}
	return nil
}

// Teardown removes one decky's containers, or (decky == "") every container of the
// project, then the hairpin link and the network. Objects already gone are skipped.
func (e *Engine) Teardown(ctx context.Context, p *compose.Project, decky string, progress engine.Progress) error {
	if p == nil {
		return errors.New("cannot tear down a nil project")
	}
	list, err := e.list(ctx, p.Name, decky)
	if err != nil {
		return err
	}
	sort.Slice(list, func(i, j int) bool {
		bi := list[i].Labels[compose.LabelRole] == compose.RoleBase
		bj := list[j].Labels[compose.LabelRole] == compose.RoleBase
		if bi != bj {
			return bj
		}
		return containerName(list[i]) < containerName(list[j])
	})
	pc := &progressCounter{fn: progress, total: len(list)}
	if decky == "" {
		pc.total += 2
	}
	for _, c := range list {
		name := containerName(c)
		if err := e.removeContainer(ctx, c.ID, name); err != nil {
			return fmt.Errorf("teardown: %w", err)
		}
		pc.step("remove container " + name)
	}
	if decky != "" {
		return nil
	}
	if err := removeHairpin(p.Hairpin); err != nil {
		return fmt.Errorf("teardown: %w", err)
	}
	pc.step("remove hairpin " + p.Hairpin.Link)
	if err := e.removeNetwork(ctx, p); err != nil {
		return fmt.Errorf("teardown: %w", err)
	}
	pc.step("remove network " + p.Network.Name)
	return nil
}
