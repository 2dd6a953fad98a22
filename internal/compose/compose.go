// Package compose owns the deployment model of a DECNET fleet: the one description of
// every network, container, label and hardening option that a deploy creates. The same
// model is rendered as a docker-compose file (inspectable, --dry-run) and applied by the
// engine, so the two can never diverge. The package is pure: no I/O.
//
// Naming (pinned, so every run agrees on what it owns):
//   - compose project: Options.Project, default "decnet";
//   - network: "<project>_lan" (so the default is "decnet_lan"), compose key "lan";
//   - base container of decky D: compose service "D", container "<project>-D";
//   - service S of decky D: compose service "D-S", container "<project>-D-S";
//   - hairpin link on the host: "decnet_macvlan0" (macvlan) or "decnet_ipvlan0" (ipvlan),
//     overridable with Options.HairpinLink (tests use their own name).
//
// Every object carries the labels decnet.project, decnet.role and, for containers,
// decnet.decky, decnet.service (services) and decnet.hash: the SHA-256 of the container's
// rendered spec, which lets a deploy leave an unchanged running container alone and
// recreate a changed one.
package compose

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"path"
	"regexp"
	"sort"

	"decnet/internal/fleet"
)

// Label keys set on every object a deploy creates.
const (
	LabelProject = "decnet.project"
	LabelDecky   = "decnet.decky"
	LabelRole    = "decnet.role"
	LabelService = "decnet.service"
	LabelHash    = "decnet.hash"
)

// Roles (values of LabelRole).
const (
	RoleBase    = "base"
	RoleService = "service"
	RoleNetwork = "network"
)

// Defaults and limits of the model.
const (
	DefaultProject = "decnet"
	// NetworkKey is the key of the decoy LAN in the compose file's networks section.
	NetworkKey = "lan"
	// Unprivileged is the user every DECNET container runs as (nobody:nogroup).
	Unprivileged = "65534:65534"
	// ConfigDir and ArtifactsDir are the mount points inside a service container.
	ConfigDir    = "/decnet/config"
	ArtifactsDir = "/decnet/artifacts"

	BasePidsLimit    = 32
	BaseMemLimit     = 32 << 20
	ServicePidsLimit = 512
	ServiceMemLimit  = 256 << 20
	CustomPidsLimit  = 512
	CustomMemLimit   = 512 << 20
	// TmpfsSize bounds the writable /tmp of a service container.
	TmpfsSize = "16m"
)

// Options select the names and paths of one rendering.
type Options struct {
	// Project is the pinned compose project name; "" means DefaultProject.
	Project string
	// Image is the tag of the DECNET service image (engine.EnsureImage returns it).
	Image string
	// StateDir is the absolute state directory; per-decky config and artifacts live below it.
	StateDir string
	// HairpinLink overrides the host hairpin link name ("" = decnet_macvlan0 / decnet_ipvlan0).
	HairpinLink string
}

// Project is the whole deployment of one fleet. It always describes the WHOLE fleet: the
// engine removes containers of the project that are not in it.
type Project struct {
	Name     string
	Image    string
	StateDir string
	Network  Network
	Hairpin  Hairpin
	Deckies  []Decky
}

// Network is the decoy LAN (a Docker macvlan or ipvlan network on the parent NIC).
type Network struct {
	Name    string // Docker network name, "<project>_lan"
	Driver  string // "macvlan" or "ipvlan"
	Options map[string]string
	Parent  string
	Subnet  string
	Gateway string
	IPRange string
	Labels  map[string]string
}

// Hairpin is the host-side link that lets the host reach its deckies: a macvlan (bridge)
// or ipvlan (l2) link on the parent, carrying HostIP/32, with a route to Route.
type Hairpin struct {
	Link   string // link name, at most 15 bytes
	Kind   string // "macvlan" or "ipvlan"
	Parent string
	HostIP string // address without prefix length
	Route  string // CIDR routed through Link (the fleet's IP range)
}

// Decky is one decky: its base container and its service containers.
type Decky struct {
	Name     string
	Base     Container
	Services []Container
}

// Mount is a bind mount of a host directory.
type Mount struct {
	Source   string `json:"source"`
	Target   string `json:"target"`
	ReadOnly bool   `json:"read_only"`
}

// Container is one container of the model. Field names follow compose; the engine
// translates the same values to the Docker API.
type Container struct {
	// ServiceName is the compose service name; ContainerName the Docker container name.
	ServiceName   string            `json:"service_name"`
	ContainerName string            `json:"container_name"`
	Decky         string            `json:"decky"`
	Role          string            `json:"role"`
	Service       string            `json:"service,omitempty"` // the honeypot service slug (services only)
	Custom        bool              `json:"custom,omitempty"`  // bring-your-own-service container
	Image         string            `json:"image"`
	Command       []string          `json:"command,omitempty"`
	User          string            `json:"user,omitempty"`
	Hostname      string            `json:"hostname,omitempty"`
	IPv4Address   string            `json:"ipv4_address,omitempty"` // base only: address on the LAN
	MACAddress    string            `json:"mac_address,omitempty"`  // base only; empty on ipvlan (endpoints share the parent MAC)
	Sysctls       map[string]string `json:"sysctls,omitempty"`      // base only
	// NetworkOf is, for services, the ServiceName of the base whose network namespace
	// the container joins (compose "service:<base>", engine "container:<base id>").
	NetworkOf   string            `json:"network_of,omitempty"`
	CapDrop     []string          `json:"cap_drop,omitempty"`
	CapAdd      []string          `json:"cap_add,omitempty"`
	ReadOnly    bool              `json:"read_only"`
	SecurityOpt []string          `json:"security_opt,omitempty"`
	PidsLimit   int64             `json:"pids_limit"`
	MemLimit    int64             `json:"mem_limit"`
	Restart     string            `json:"restart"`
	Tmpfs       map[string]string `json:"tmpfs,omitempty"` // mount point → options
	Mounts      []Mount           `json:"mounts,omitempty"`
	DependsOn   []string          `json:"depends_on,omitempty"`
	Labels      map[string]string `json:"labels"`
}

// Hash returns the container's decnet.hash label.
func (c *Container) Hash() string { return c.Labels[LabelHash] }

// Containers returns every container of the decky, base first.
func (d *Decky) Containers() []*Container {
	out := []*Container{&d.Base}
	for i := range d.Services {
		out = append(out, &d.Services[i])
	}
	return out
}

// Containers returns every container of the project in deploy order (each base before
// its services, deckies in fleet order).
func (p *Project) Containers() []*Container {
	var out []*Container
	for i := range p.Deckies {
		out = append(out, p.Deckies[i].Containers()...)
	}
	return out
}

// Decky returns the decky with the given name.
func (p *Project) Decky(name string) (*Decky, bool) {
	for i := range p.Deckies {
		if p.Deckies[i].Name == name {
			return &p.Deckies[i], true
		}
	}
	return nil, false
}

// ProjectLabels returns the label filter that selects every object of the project.
func (p *Project) ProjectLabels() map[string]string {
	return map[string]string{LabelProject: p.Name}
}

// dockerName is what Docker accepts as a container name and compose as a service or
// project name (we additionally forbid upper case so names are stable across tools).
var dockerName = regexp.MustCompile(`^[a-z0-9][a-z0-9_.-]*$`)

// linkName is what we accept as a Linux interface name.
var linkName = regexp.MustCompile(`^[A-Za-z0-9_.-]+$`)

// macAddr is a colon-separated unicast-looking MAC in the canonical form.
var macAddr = regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5}$`)

// Build turns a fleet into the deployment model. It validates what the model itself
// depends on (names, addresses, image, state dir) and fails with one clear sentence.
func Build(f *fleet.Fleet, o Options) (*Project, error) {
	if f == nil {
		return nil, errors.New("compose: cannot build a project from a nil fleet")
	}
	name := o.Project
	if name == "" {
		name = DefaultProject
	}
	if !dockerName.MatchString(name) {
		return nil, fmt.Errorf("compose: project name %q must be lower case letters, digits, '_', '.' or '-'", name)
	}
	if o.Image == "" {
		return nil, errors.New("compose: the service image tag is empty")
	}
	if o.StateDir == "" || !path.IsAbs(o.StateDir) {
		return nil, fmt.Errorf("compose: state directory %q must be an absolute path", o.StateDir)
	}
	stateDir := path.Clean(o.StateDir)
	if f.Interface == "" {
		return nil, errors.New("compose: the fleet has no parent interface")
	}
	if !f.Subnet.IsValid() || !f.Subnet.Addr().Is4() {
		return nil, fmt.Errorf("compose: fleet subnet %v is not a valid IPv4 prefix", f.Subnet)
	}
	if !f.IPRange.IsValid() || !f.Subnet.Contains(f.IPRange.Addr()) || f.IPRange.Bits() < f.Subnet.Bits() {
		return nil, fmt.Errorf("compose: fleet IP range %v is not inside subnet %v", f.IPRange, f.Subnet)
	}
	if !f.Gateway.IsValid() || !f.Subnet.Contains(f.Gateway) {
		return nil, fmt.Errorf("compose: fleet gateway %v is not inside subnet %v", f.Gateway, f.Subnet)
	}
	if !f.HostIP.IsValid() || !f.Subnet.Contains(f.HostIP) {
		return nil, fmt.Errorf("compose: host address %v is not inside subnet %v", f.HostIP, f.Subnet)
	}

	p := &Project{Name: name, Image: o.Image, StateDir: stateDir}
	var mode, defLink string
	switch f.Driver {
	case fleet.Macvlan, "":
		p.Network.Driver, mode, defLink = "macvlan", "bridge", "decnet_macvlan0"
		p.Network.Options = map[string]string{"macvlan_mode": mode, "parent": f.Interface}
	case fleet.IPvlan:
		p.Network.Driver, mode, defLink = "ipvlan", "l2", "decnet_ipvlan0"
		p.Network.Options = map[string]string{"ipvlan_mode": mode, "parent": f.Interface}
	default:
		return nil, fmt.Errorf("compose: unknown network driver %q (want macvlan or ipvlan)", f.Driver)
	}
	p.Network.Name = name + "_" + NetworkKey
	p.Network.Parent = f.Interface
	p.Network.Subnet = f.Subnet.Masked().String()
	p.Network.Gateway = f.Gateway.String()
	p.Network.IPRange = f.IPRange.Masked().String()
	p.Network.Labels = map[string]string{LabelProject: name, LabelRole: RoleNetwork}

	link := o.HairpinLink
	if link == "" {
		link = defLink
	}
	if len(link) > 15 || !linkName.MatchString(link) {
		return nil, fmt.Errorf("compose: hairpin link name %q is not a valid interface name (at most 15 characters)", link)
	}
	p.Hairpin = Hairpin{Link: link, Kind: p.Network.Driver, Parent: f.Interface,
		HostIP: f.HostIP.String(), Route: p.Network.IPRange}

	if len(f.Deckies) == 0 {
		return nil, errors.New("compose: the fleet has no deckies")
	}
	names := map[string]string{} // compose service name → what claimed it
	ips := map[string]string{}
	claim := func(svcName, owner string) error {
		if prev, dup := names[svcName]; dup {
			return fmt.Errorf("compose: %s and %s would both be named %q", prev, owner, svcName)
		}
		names[svcName] = owner
		return nil
	}
	for i := range f.Deckies {
		d := &f.Deckies[i]
		if !dockerName.MatchString(d.Name) {
			return nil, fmt.Errorf("compose: decky name %q must be lower case letters, digits, '_', '.' or '-'", d.Name)
		}
		if err := claim(d.Name, "decky "+d.Name); err != nil {
			return nil, err
		}
		if !d.IP.IsValid() || !f.IPRange.Contains(d.IP) {
			return nil, fmt.Errorf("compose: decky %s address %v is not inside the IP range %v", d.Name, d.IP, f.IPRange)
		}
		if prev, dup := ips[d.IP.String()]; dup {
			return nil, fmt.Errorf("compose: deckies %s and %s share the address %v", prev, d.Name, d.IP)
		}
		ips[d.IP.String()] = d.Name
		if !macAddr.MatchString(d.MAC) {
			return nil, fmt.Errorf("compose: decky %s MAC %q is not a lower-case aa:bb:cc:dd:ee:ff address", d.Name, d.MAC)
		}
		dk, err := buildDecky(p, d)
		if err != nil {
			return nil, err
		}
		for _, c := range dk.Services {
			if err := claim(c.ServiceName, "service "+c.Service+" of decky "+d.Name); err != nil {
				return nil, err
			}
		}
		p.Deckies = append(p.Deckies, dk)
	}
	return p, nil
}

func buildDecky(p *Project, d *fleet.Decky) (Decky, error) {
	out := Decky{Name: d.Name}
	base := Container{
		ServiceName:   d.Name,
		ContainerName: p.Name + "-" + d.Name,
		Decky:         d.Name,
		Role:          RoleBase,
		Image:         p.Image,
		Command:       []string{"hold"},
		User:          Unprivileged,
		Hostname:      d.Hostname,
		IPv4Address:   d.IP.String(),
		MACAddress:    d.MAC,
		Sysctls:       copyMap(d.Sysctls),
		CapDrop:       []string{"ALL"},
		ReadOnly:      true,
		SecurityOpt:   []string{"no-new-privileges:true"},
		PidsLimit:     BasePidsLimit,
		MemLimit:      BaseMemLimit,
		Restart:       "unless-stopped",
		Labels: map[string]string{
			LabelProject: p.Name, LabelDecky: d.Name, LabelRole: RoleBase,
		},
	}
	if p.Network.Driver == "ipvlan" {
		// ipvlan endpoints share the parent's MAC; Docker refuses a custom one.
		base.MACAddress = ""
	}
	baseHash, err := seal(&base, nil)
	if err != nil {
		return out, err
	}
	out.Base = base

	seen := map[string]bool{}
	for i := range d.Services {
		s := &d.Services[i]
		if !dockerName.MatchString(s.Name) {
			return out, fmt.Errorf("compose: service name %q of decky %s must be lower case letters, digits, '_', '.' or '-'", s.Name, d.Name)
		}
		if seen[s.Name] {
			return out, fmt.Errorf("compose: decky %s lists service %s twice", d.Name, s.Name)
		}
		seen[s.Name] = true
		c := Container{
			ServiceName:   d.Name + "-" + s.Name,
			ContainerName: p.Name + "-" + d.Name + "-" + s.Name,
			Decky:         d.Name,
			Role:          RoleService,
			Service:       s.Name,
			NetworkOf:     base.ServiceName,
			CapDrop:       []string{"ALL"},
			CapAdd:        []string{"NET_BIND_SERVICE"},
			SecurityOpt:   []string{"no-new-privileges:true"},
			Restart:       "unless-stopped",
			DependsOn:     []string{base.ServiceName},
			Labels: map[string]string{
				LabelProject: p.Name, LabelDecky: d.Name, LabelRole: RoleService, LabelService: s.Name,
			},
		}
		if s.Custom != nil {
			if s.Custom.Image == "" {
				return out, fmt.Errorf("compose: custom service %s of decky %s has no image", s.Name, d.Name)
			}
			c.Custom = true
			c.Image = s.Custom.Image
			c.Command = append([]string(nil), s.Custom.Exec...)
			// A foreign image may need to write anywhere and run as its own user: keep
			// the root filesystem writable and the image's user, drop everything else.
			c.PidsLimit, c.MemLimit = CustomPidsLimit, CustomMemLimit
		} else {
			c.Image = p.Image
			c.Command = []string{"serve", s.Name, "--config", ConfigDir + "/" + s.Name + ".json"}
			c.User = Unprivileged
			c.ReadOnly = true
			c.PidsLimit, c.MemLimit = ServicePidsLimit, ServiceMemLimit
			c.Tmpfs = map[string]string{"/tmp": "size=" + TmpfsSize + ",mode=1777"}
			c.Mounts = []Mount{
				{Source: path.Join(p.StateDir, "deckies", d.Name, "config"), Target: ConfigDir, ReadOnly: true},
				{Source: path.Join(p.StateDir, "artifacts", d.Name), Target: ArtifactsDir},
			}
		}
		// The hash covers what the service is configured with, not only its container
		// spec, so a persona or secret change recreates it; and the base's hash, because
		// a recreated base means a new network namespace to join.
		extra := struct {
			Base    string            `json:"base"`
			Decky   deckyIdentity     `json:"decky"`
			Service fleet.Service     `json:"service"`
			Secrets map[string]string `json:"secrets,omitempty"`
		}{Base: baseHash, Decky: identity(d), Service: *s, Secrets: d.Secrets[s.Name]}
		if _, err := seal(&c, extra); err != nil {
			return out, err
		}
		out.Services = append(out.Services, c)
	}
	return out, nil
}

// deckyIdentity is the part of a decky every service may present (in banners etc.).
type deckyIdentity struct {
	Hostname string `json:"hostname"`
	Distro   string `json:"distro"`
	OSFamily string `json:"os_family"`
	NmapOS   string `json:"nmap_os"`
}

func identity(d *fleet.Decky) deckyIdentity {
	return deckyIdentity{Hostname: d.Hostname, Distro: d.Distro, OSFamily: d.OSFamily, NmapOS: d.NmapOS}
}

// seal computes the container's hash over its spec (JSON with sorted map keys, without
// the hash label itself) plus extra, and stores it in the hash label.
func seal(c *Container, extra any) (string, error) {
	delete(c.Labels, LabelHash)
	b, err := json.Marshal(struct {
		Spec  *Container `json:"spec"`
		Extra any        `json:"extra,omitempty"`
	}{c, extra})
	if err != nil {
		return "", fmt.Errorf("compose: cannot hash the spec of container %s: %w", c.ContainerName, err)
	}
	sum := sha256.Sum256(b)
	h := hex.EncodeToString(sum[:])
	c.Labels[LabelHash] = h
	return h, nil
}

func copyMap(m map[string]string) map[string]string {
	if len(m) == 0 {
		return nil
	}
	out := make(map[string]string, len(m))
	for k, v := range m {
		out[k] = v
	}
	return out
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}
