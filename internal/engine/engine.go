// Package engine defines how DECNET puts a fleet on a container runtime: building the
// service image, deploying a compose.Project (the whole fleet), listing what runs by
// label and tearing one decky or everything down. The Docker implementation lives in
// internal/engine/docker; a Kubernetes one can follow behind the same interface.
package engine

import (
	"context"
	"sort"

	"decnet/internal/compose"
	"decnet/internal/fleet"
)

// Progress reports deploy and teardown steps to the CLI: step is a short human
// description ("create container decnet-decky-01"), done counts finished steps of total.
// It may be nil.
type Progress func(step string, done, total int)

// ContainerState is one container of a project as the runtime reports it.
type ContainerState struct {
	Name    string // container name
	Decky   string // decnet.decky label
	Service string // decnet.service label ("" for a base container)
	Role    string // decnet.role label: base or service
	State   string // runtime state: running, exited, restarting, created…
	Status  string // runtime status text, e.g. "Up 3 minutes"
}

// DeckyStatus groups the containers of one decky with its identity from the fleet.
type DeckyStatus struct {
	Name       string
	IP, MAC    string
	Hostname   string
	Containers []ContainerState
}

// Engine deploys and removes fleets.
type Engine interface {
	// EnsureImage builds the service image FROM scratch from the static binary at
	// binary, tagged decnet/service:<first 12 hex of the binary's SHA-256>, and returns
	// the tag. It is a no-op when that tag exists.
	EnsureImage(ctx context.Context, binary string) (tag string, err error)
	// Deploy makes the runtime match p, which must describe the whole fleet: it creates
	// or reuses the network and the host hairpin, leaves unchanged running containers
	// alone, recreates changed ones and removes containers of the project that p does
	// not contain. Every decky announces its address on the LAN (ARP, twice), so
	// neighbours that cached it at another MAC reach the new decky at once. On
	// failure it rolls back what this call created.
	Deploy(ctx context.Context, p *compose.Project, progress Progress) error
	// Status lists the containers labelled with the project.
	Status(ctx context.Context, project string) ([]ContainerState, error)
	// Listening lists the ports open in a decky's network namespace (TCP in
	// LISTEN, UDP bound), read passively: nothing is sent to the decky.
	Listening(ctx context.Context, project, decky string) ([]fleet.Port, error)
	// Teardown removes the containers of one decky (decky != "") or of the whole project
	// (decky == "", then also the hairpin and the network). It works from labels, so it
	// succeeds when some objects are already gone.
	Teardown(ctx context.Context, p *compose.Project, decky string, progress Progress) error
}

// Summarize groups container states by decky, in fleet order; containers of deckies not
// in the fleet (left over) come last, sorted by name, with no identity.
func Summarize(f *fleet.Fleet, cs []ContainerState) []DeckyStatus {
	by := map[string][]ContainerState{}
	for _, c := range cs {
		by[c.Decky] = append(by[c.Decky], c)
	}
	for _, list := range by {
		sort.Slice(list, func(i, j int) bool {
			if (list[i].Role == compose.RoleBase) != (list[j].Role == compose.RoleBase) {
				return list[i].Role == compose.RoleBase
			}
			return list[i].Name < list[j].Name
		})
	}
	var out []DeckyStatus
	if f != nil {
		for _, d := range f.Deckies {
			out = append(out, DeckyStatus{Name: d.Name, IP: d.IP.String(), MAC: d.MAC, Hostname: d.Hostname, Containers: by[d.Name]})
			delete(by, d.Name)
		}
	}
	var rest []string
	for name := range by {
		rest = append(rest, name)
	}
	sort.Strings(rest)
	for _, name := range rest {
		out = append(out, DeckyStatus{Name: name, Containers: by[name]})
	}
	return out
}
