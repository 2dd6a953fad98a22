package docker

import (
	"context"
	"fmt"
	"sort"
	"strings"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/network"

	"decnet/internal/compose"
)

// ensureNetwork reuses the project's network when it matches the model (driver, parent,
// mode, subnet, gateway, range), replaces it on drift (after removing this project's
// containers on it; foreign containers make it an error) and creates it otherwise. It
// reports whether it created the network.
func (e *Engine) ensureNetwork(ctx context.Context, p *compose.Project) (created bool, err error) {
	want := p.Network
	n, err := e.cli.NetworkInspect(ctx, want.Name, network.InspectOptions{})
	switch {
	case cerrdefs.IsNotFound(err):
	case err != nil:
		return false, fmt.Errorf("cannot inspect network %s: %w", want.Name, err)
	case networkMatches(n, want):
		return false, nil
	default:
		if err := e.clearNetwork(ctx, p, n); err != nil {
			return false, fmt.Errorf("network %s differs from the fleet (%s) and cannot be replaced: %w", want.Name, networkDrift(n, want), err)
		}
		if err := e.cli.NetworkRemove(ctx, n.ID); err != nil && !cerrdefs.IsNotFound(err) {
			return false, fmt.Errorf("cannot remove the drifted network %s: %w", want.Name, err)
		}
	}
	_, err = e.cli.NetworkCreate(ctx, want.Name, network.CreateOptions{
		Driver:  want.Driver,
		Options: want.Options,
		Labels:  want.Labels,
		IPAM: &network.IPAM{
			Driver: "default",
			Config: []network.IPAMConfig{{Subnet: want.Subnet, Gateway: want.Gateway, IPRange: want.IPRange}},
		},
	})
	if err != nil {
		return false, fmt.Errorf("cannot create the %s network %s on %s: %w", want.Driver, want.Name, want.Parent, err)
	}
	return true, nil
}

func networkMatches(n network.Inspect, want compose.Network) bool {
	return networkDrift(n, want) == ""
}

// networkDrift describes how n differs from want ("" when it does not).
func networkDrift(n network.Inspect, want compose.Network) string {
	var d []string
	if n.Driver != want.Driver {
		d = append(d, fmt.Sprintf("driver %s, want %s", n.Driver, want.Driver))
	}
	for k, v := range want.Options {
		if n.Options[k] != v {
			d = append(d, fmt.Sprintf("%s %q, want %q", k, n.Options[k], v))
		}
	}
	if len(n.IPAM.Config) != 1 {
		d = append(d, fmt.Sprintf("%d IPAM pools, want 1", len(n.IPAM.Config)))
	} else {
		c := n.IPAM.Config[0]
		if c.Subnet != want.Subnet {
			d = append(d, fmt.Sprintf("subnet %s, want %s", c.Subnet, want.Subnet))
		}
		if c.Gateway != want.Gateway {
			d = append(d, fmt.Sprintf("gateway %s, want %s", c.Gateway, want.Gateway))
		}
		if c.IPRange != want.IPRange {
			d = append(d, fmt.Sprintf("ip range %s, want %s", c.IPRange, want.IPRange))
		}
	}
	sort.Strings(d)
	return strings.Join(d, "; ")
}

// clearNetwork removes this project's containers from n; any other attached container
// is an error naming them (we never remove what we do not own).
func (e *Engine) clearNetwork(ctx context.Context, p *compose.Project, n network.Inspect) error {
	var foreign []string
	type own struct{ id, name string }
	var ours []own
	for id, ep := range n.Containers {
		c, err := e.cli.ContainerInspect(ctx, id)
		if cerrdefs.IsNotFound(err) {
			continue
		}
		if err != nil {
			return fmt.Errorf("cannot inspect container %s on network %s: %w", ep.Name, n.Name, err)
		}
		if c.Config != nil && c.Config.Labels[compose.LabelProject] == p.Name {
			ours = append(ours, own{id, ep.Name})
		} else {
			foreign = append(foreign, ep.Name)
		}
	}
	if len(foreign) > 0 {
		sort.Strings(foreign)
		return fmt.Errorf("containers that are not part of project %s are attached to it: %s", p.Name, strings.Join(foreign, ", "))
	}
	// Service containers share their base's namespace and are not listed on the
	// network: remove every container of the project, services first.
	list, err := e.list(ctx, p.Name, "")
	if err != nil {
		return err
	}
	sort.SliceStable(list, func(i, j int) bool {
		return list[i].Labels[compose.LabelRole] != compose.RoleBase && list[j].Labels[compose.LabelRole] == compose.RoleBase
	})
	for _, c := range list {
		if err := e.removeContainer(ctx, c.ID, containerName(c)); err != nil {
			return err
		}
	}
	for _, c := range ours {
		if err := e.removeContainer(ctx, c.id, c.name); err != nil {
			return err
		}
	}
	return nil
}

// removeNetwork removes the project's network. A missing network is not an error;
// foreign containers still attached make it one.
func (e *Engine) removeNetwork(ctx context.Context, p *compose.Project) error {
	n, err := e.cli.NetworkInspect(ctx, p.Network.Name, network.InspectOptions{})
	if cerrdefs.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("cannot inspect network %s: %w", p.Network.Name, err)
	}
	if len(n.Containers) > 0 {
		var names []string
		for _, ep := range n.Containers {
			names = append(names, ep.Name)
		}
		sort.Strings(names)
		return fmt.Errorf("network %s still has containers attached (%s); not removing it", p.Network.Name, strings.Join(names, ", "))
	}
	if err := e.cli.NetworkRemove(ctx, n.ID); err != nil && !cerrdefs.IsNotFound(err) {
		return fmt.Errorf("cannot remove network %s: %w", p.Network.Name, err)
	}
	return nil
}
