package config

import (
	"errors"
	"fmt"
	"hash/fnv"
	"maps"
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"decnet/internal/catalog"
	"decnet/internal/fleet"
	"decnet/internal/ipplan"
	"decnet/internal/service"
)

// Flags are `decnet deploy`'s flags (DECNET's names). Zero values mean "not given".
type Flags struct {
	Deckies           int      // --deckies: number of deckies when no file defines them
	Interface         string   // --interface
	Subnet            string   // --subnet (CIDR)
	Gateway           string   // --gateway
	IPStart           string   // --ip-start: first address to try when allocating
	Services          []string // --services (comma list, already split)
	RandomizeServices bool     // --randomize-services
	Distro            string   // --distro: one slug or a comma list used in turn
	RandomizeDistros  bool     // --randomize-distros
	Archetype         string   // --archetype
	IPvlan            bool     // --ipvlan: ipvlan L2 instead of macvlan (Wi-Fi parents)
	LogTarget         string   // --log-target
	// Seed seeds every random choice (services, distros, MACs, hostnames) together with
	// each decky's name, so the same inputs always give the same fleet.
	Seed uint64
}

// Env is what Build may learn from the machine. Every field may be nil; a value that is
// needed and cannot be learned is an error asking for the flag that gives it.
type Env struct {
	DetectInterface func() (string, error)                  // default-route interface (CLI: netdetect)
	InterfaceAddr   func(name string) (netip.Prefix, error) // host address + mask on that interface
	Gateway         func(name string) (netip.Addr, error)   // default gateway via that interface
	InUse           func(netip.Addr) bool                   // ARP probe; nil = assume free
	Existing        *fleet.Fleet                            // the deployed fleet from state, may be nil
}

// Result is a validated fleet plus non-fatal notes for the user.
type Result struct {
	Fleet    *fleet.Fleet
	Warnings []string
}

// origin says where a value came from, for error messages.
type origin struct {
	flag string // without "--"
	line int
}

type builder struct {
	f        *File // may be nil
	path     string
	fl       Flags
	env      Env
	customs  map[string]*customSpec
	warnings []string
}

func (b *builder) errAt(o origin, format string, args ...any) *Error {
	e := &Error{Msg: fmt.Sprintf(format, args...)}
	switch {
	case o.flag != "":
		e.Flag = o.flag
	default:
		e.File, e.Line = b.path, o.line
	}
	return e
}

// Build validates the configuration file f (nil: flags only) together with the flags
// and what env reports, and returns the fleet to deploy. Flags override [general];
// per-decky keys override flags. See docs/config.md for every rule.
func Build(f *File, fl Flags, env Env) (*Result, error) {
	b := &builder{f: f, fl: fl, env: env, customs: map[string]*customSpec{}}
	if f != nil {
		if f.spec == nil {
			return nil, &Error{File: f.Path, Msg: "the configuration was not loaded with Load or Parse"}
		}
		b.path = f.Path
		b.customs = f.spec.customs
		b.warnings = append(b.warnings, f.warnings...)
	}
	flt, err := b.build()
	if err != nil {
		return nil, err
	}
	return &Result{Fleet: flt, Warnings: b.warnings}, nil
}

// planned is one decky on its way to the fleet.
type planned struct {
	spec     *deckySpec
	r        *rand.Rand
	arch     *catalog.Archetype
	archO    origin
	services []string
	distro   catalog.Distro
	family   catalog.OSFamily
	nmapOS   string
	old      *fleet.Decky // reusable identity from the deployed fleet
	out      fleet.Decky
}

func (b *builder) build() (*fleet.Fleet, error) {
	fl := b.fl
	var g generalSpec
	if b.f != nil {
		g = b.f.spec.general
	}

	// Flags that need nothing else.
	if fl.Deckies < 0 || fl.Deckies > maxDeckies {
		return nil, flagErr("deckies", "must be a number from 1 to %d, got %d", maxDeckies, fl.Deckies)
	}
	var flagArch *catalog.Archetype
	if fl.Archetype != "" {
		a, ok := catalog.LookupArchetype(fl.Archetype)
		if !ok {
			return nil, flagErr("archetype", "unknown archetype %q (known: %s)", fl.Archetype, archetypeSlugs())
		}
		flagArch = &a
	}
	var flagServices []string
	if len(fl.Services) > 0 {
		for _, s := range fl.Services {
			flagServices = append(flagServices, service.SplitList(s)...)
		}
		for i, name := range flagServices {
			if slices.Contains(flagServices[:i], name) {
				return nil, flagErr("services", "service %q is listed twice", name)
			}
			if !b.known(name) {
				return nil, flagErr("services", "unknown service %q (available: %s)", name, availableServices(b.customs))
			}
		}
		if msg := portClash(flagServices, b.customs); msg != "" {
			return nil, flagErr("services", "%s", msg)
		}
	}
	var flagDistros []string
	for _, d := range service.SplitList(fl.Distro) {
		if _, ok := catalog.LookupDistro(d); !ok {
			return nil, flagErr("distro", "unknown distro %q (known: %s)", d, distroSlugs())
		}
		flagDistros = append(flagDistros, d)
	}
	var ipStart netip.Addr
	if fl.IPStart != "" {
		a, err := netip.ParseAddr(strings.TrimSpace(fl.IPStart))
		if err != nil || !a.Is4() {
			return nil, flagErr("ip-start", "%q is not an IPv4 address", fl.IPStart)
		}
		ipStart = a
	}
	logTarget := g.logT.v
	logO := origin{line: g.logT.line}
	if fl.LogTarget != "" {
		logTarget, logO = fl.LogTarget, origin{flag: "log-target"}
	}
	if logTarget != "" {
		if err := checkLogTarget(logTarget); err != nil {
			return nil, b.errAt(logO, "log target %q: %v", logTarget, err)
		}
	}

	// Which deckies.
	var specs []*deckySpec
	if b.f != nil {
		specs = b.f.spec.deckies
	}
	switch {
	case len(specs) > 0 && fl.Deckies > 0:
		b.warnings = append(b.warnings, fmt.Sprintf("--deckies %d is ignored: %s defines the deckies", fl.Deckies, b.path))
	case len(specs) == 0 && fl.Deckies == 0 && b.f != nil:
		return nil, &Error{File: b.path, Msg: "no deckies defined: add a [name] section, or give --deckies N"}
	case len(specs) == 0 && fl.Deckies == 0:
		return nil, flagErr("deckies", "give the number of deckies (--deckies N) or a configuration file (--config)")
	case len(specs) == 0:
		for i := 1; i <= fl.Deckies; i++ {
			specs = append(specs, &deckySpec{name: fmt.Sprintf("decky-%02d", i)})
		}
	}

	// The network.
	ifaceName, err := b.iface(g)
	if err != nil {
		return nil, err
	}
	subnet, host, err := b.subnet(g, ifaceName)
	if err != nil {
		return nil, err
	}
	gw, err := b.gateway(g, ifaceName, subnet)
	if err != nil {
		return nil, err
	}
	if ipStart.IsValid() && !subnet.Contains(ipStart) {
		return nil, flagErr("ip-start", "%s is outside the subnet %s", ipStart, subnet)
	}

	flt := &fleet.Fleet{
		Interface: ifaceName,
		Subnet:    subnet,
		Gateway:   gw,
		HostIP:    host,
		Driver:    fleet.Macvlan,
		LogTarget: logTarget,
	}
	if fl.IPvlan {
		flt.Driver = fleet.IPvlan
	}

	// Personas and services, decky by decky.
	ps := make([]*planned, len(specs))
	for i, d := range specs {
		p := &planned{spec: d, r: rand.New(rand.NewPCG(fl.Seed, nameHash(d.name)))}
		ps[i] = p
		if err := b.persona(p, i, flagArch, flagServices, flagDistros); err != nil {
			return nil, err
		}
		if b.env.Existing != nil {
			if old, ok := b.env.Existing.Decky(d.name); ok && (!d.ip.IsValid() || d.ip == old.IP) {
				p.old = old
			}
		}
	}

	// Addresses.
	if err := b.addresses(ps, flt, ipStart); err != nil {
		return nil, err
	}

	// Identity: MAC and hostname, reused where the deployed decky had them.
	usedMAC, usedHost := map[string]bool{}, map[string]bool{}
	for _, p := range ps {
		if p.old != nil && p.old.OSFamily == p.family.Slug && p.old.MAC != "" {
			p.out.MAC = p.old.MAC
			usedMAC[p.out.MAC] = true
		}
		if p.old != nil && p.old.Distro == p.distro.Slug && p.old.Hostname != "" {
			p.out.Hostname = p.old.Hostname
			usedHost[p.out.Hostname] = true
		}
	}
	for _, p := range ps {
		if p.out.MAC == "" {
			p.out.MAC = drawUnique(usedMAC, func() string {
				if p.arch != nil && p.arch.OSFamily == p.family.Slug {
					return catalog.RandomArchetypeMAC(*p.arch, p.r)
				}
				return catalog.RandomMAC(p.family, p.r)
			})
		}
		if p.out.Hostname == "" {
			p.out.Hostname = drawUnique(usedHost, func() string { return catalog.RandomHostname(p.distro, p.r) })
		}
	}

	for _, p := range ps {
		d, err := b.finish(p)
		if err != nil {
			return nil, err
		}
		flt.Deckies = append(flt.Deckies, d)
	}
	ips := make([]netip.Addr, len(flt.Deckies))
	for i, d := range flt.Deckies {
		ips[i] = d.IP
	}
	if flt.IPRange, err = ipplan.CoveringPrefix(ips); err != nil {
		return nil, &Error{File: b.path, Msg: "cannot compute the decky IP range: " + err.Error(), Err: err}
	}
	return flt, nil
}

// drawUnique calls draw until it returns a value not in used (a bounded number of
// times: collisions are rare and a repeat after many tries is accepted), and claims it.
func drawUnique(used map[string]bool, draw func() string) string {
	v := draw()
	for i := 0; i < 64 && used[v]; i++ {
		v = draw()
	}
	used[v] = true
	return v
}

func nameHash(name string) uint64 {
	h := fnv.New64a()
	h.Write([]byte(name))
	return h.Sum64()
}

func (b *builder) known(name string) bool {
	if _, ok := service.Lookup(name); ok {
		return true
	}
	_, ok := b.customs[name]
	return ok
}

func (b *builder) iface(g generalSpec) (string, error) {
	var name string
	var o origin
	switch {
	case b.fl.Interface != "":
		name, o = strings.TrimSpace(b.fl.Interface), origin{flag: "interface"}
	case g.iface.set():
		name, o = g.iface.v, origin{line: g.iface.line}
	case b.env.DetectInterface == nil:
		return "", flagErr("interface", "no interface given and none can be detected here; give --interface or interface = in [general]")
	default:
		n, err := b.env.DetectInterface()
		if err != nil {
			return "", &Error{Flag: "interface", Msg: fmt.Sprintf("cannot detect the default-route interface (%v); give --interface or interface = in [general]", err), Err: err}
		}
		name, o = n, origin{flag: "interface"}
	}
	if !validIfaceName(name) {
		return "", b.errAt(o, "%q is not a network interface name (1-15 characters, no '/', ':' or blanks)", name)
	}
	return name, nil
}

func validIfaceName(s string) bool {
	if s == "" || len(s) > 15 || s == "." || s == ".." {
		return false
	}
	for i := 0; i < len(s); i++ {
		if c := s[i]; c <= ' ' || c == '/' || c == ':' || c >= 0x7f {
			return false
		}
	}
	return true
}

func (b *builder) subnet(g generalSpec, iface string) (subnet netip.Prefix, host netip.Addr, err error) {
	var ifAddr netip.Prefix
	var ifErr error = errors.New("no way to read interface addresses here")
	if b.env.InterfaceAddr != nil {
		ifAddr, ifErr = b.env.InterfaceAddr(iface)
	}
	var raw string
	var o origin
	switch {
	case b.fl.Subnet != "":
		raw, o = strings.TrimSpace(b.fl.Subnet), origin{flag: "subnet"}
	case g.net.set():
		raw, o = g.net.v, origin{line: g.net.line}
	case ifErr != nil:
		return subnet, host, &Error{Flag: "subnet", Msg: fmt.Sprintf("cannot detect the subnet of %s (%v); give --subnet or net = in [general]", iface, ifErr), Err: ifErr}
	default:
		subnet = ifAddr.Masked()
		if !subnet.Addr().Is4() || subnet.Bits() > 30 {
			return subnet, host, &Error{Flag: "subnet", Msg: fmt.Sprintf("the address of %s is %s, which has no room for deckies; give --subnet or net = in [general]", iface, ifAddr)}
		}
		return subnet, ifAddr.Addr(), nil
	}
	p, err := netip.ParsePrefix(raw)
	if err != nil || !p.Addr().Is4() {
		return subnet, host, b.errAt(o, "subnet %q is not an IPv4 CIDR such as 192.168.1.0/24", raw)
	}
	if p.Bits() > 30 {
		return subnet, host, b.errAt(o, "subnet %s has no room for deckies (use a /30 or larger network)", p)
	}
	subnet = p.Masked()
	switch {
	case ifErr == nil && subnet.Contains(ifAddr.Addr()):
		host = ifAddr.Addr()
	case ifErr == nil:
		b.warnings = append(b.warnings, fmt.Sprintf("this host's address on %s (%s) is outside the subnet %s", iface, ifAddr, subnet))
	case b.env.InterfaceAddr != nil:
		b.warnings = append(b.warnings, fmt.Sprintf("cannot read the address of %s (%v): this host's own IP cannot be kept out of the decky addresses", iface, ifErr))
	}
	return subnet, host, nil
}

func (b *builder) gateway(g generalSpec, iface string, subnet netip.Prefix) (netip.Addr, error) {
	var gw netip.Addr
	var o origin
	switch {
	case b.fl.Gateway != "" || g.gw.set():
		raw := g.gw.v
		o = origin{line: g.gw.line}
		if b.fl.Gateway != "" {
			raw, o = strings.TrimSpace(b.fl.Gateway), origin{flag: "gateway"}
		}
		a, err := netip.ParseAddr(raw)
		if err != nil || !a.Is4() {
			return gw, b.errAt(o, "gateway %q is not an IPv4 address", raw)
		}
		gw = a
	case b.env.Gateway == nil:
		return gw, flagErr("gateway", "the gateway of %s cannot be detected here; give --gateway or gw = in [general]", iface)
	default:
		a, err := b.env.Gateway(iface)
		if err != nil {
			return gw, &Error{Flag: "gateway", Msg: fmt.Sprintf("cannot detect the gateway of %s (%v); give --gateway or gw = in [general]", iface, err), Err: err}
		}
		gw, o = a.Unmap(), origin{flag: "gateway"}
	}
	if err := (ipplan.Plan{Subnet: subnet}).CheckExplicit(gw); err != nil {
		return gw, b.errAt(o, "gateway %v", err)
	}
	return gw, nil
}

// checkLogTarget accepts host:port, udp://host:port, tcp://host:port, tls://host:port.
func checkLogTarget(t string) error {
	hp := t
	if scheme, rest, ok := strings.Cut(t, "://"); ok {
		switch scheme {
		case "udp", "tcp", "tls":
		default:
			return fmt.Errorf("unknown scheme %q (use udp://, tcp:// or tls://, or plain host:port for UDP)", scheme)
		}
		hp = rest
	}
	host, port, err := net.SplitHostPort(hp)
	if err != nil || host == "" {
		return errors.New("must be host:port, optionally prefixed with udp://, tcp:// or tls://")
	}
	if strings.ContainsAny(host, " \t/") {
		return fmt.Errorf("%q is not a host name or address", host)
	}
	n, err := strconv.Atoi(port)
	if err != nil || n < 1 || n > 65535 {
		return fmt.Errorf("port %q is not a number from 1 to 65535", port)
	}
	return nil
}

// persona picks a decky's archetype, services, distro and OS family.
func (b *builder) persona(p *planned, idx int, flagArch *catalog.Archetype, flagServices, flagDistros []string) error {
	d := p.spec
	// Archetype: the decky's, else --archetype.
	switch {
	case d.arch.set():
		a, _ := catalog.LookupArchetype(d.arch.v)
		p.arch, p.archO = &a, origin{line: d.arch.line}
	case flagArch != nil:
		p.arch, p.archO = flagArch, origin{flag: "archetype"}
	}
	// Services: explicit, else the archetype's, else random, else an error.
	switch {
	case d.services.set():
		p.services = slices.Clone(d.svcList)
	case len(flagServices) > 0:
		p.services = slices.Clone(flagServices)
	case p.arch != nil:
		var missing []string
		for _, s := range p.arch.Services {
			if !b.known(s) {
				missing = append(missing, s)
			}
		}
		if len(missing) > 0 {
			return b.errAt(p.archO, "archetype %s needs services this build does not have (%s); set services = explicitly (available: %s)",
				p.arch.Slug, strings.Join(missing, ", "), availableServices(b.customs))
		}
		if msg := portClash(p.arch.Services, b.customs); msg != "" {
			return b.errAt(p.archO, "archetype %s: %s", p.arch.Slug, msg)
		}
		p.services = slices.Clone(p.arch.Services)
	case b.fl.RandomizeServices:
		p.services = randomServices(p.r)
		if len(p.services) == 0 {
			return flagErr("randomize-services", "no services are registered in this build")
		}
	case b.f != nil && d.line > 0:
		return lineErr(b.path, d.line, "decky %s has no services: set services = or archetype = in [%s], or give --services, --archetype or --randomize-services", d.name, d.section)
	default:
		return flagErr("services", "no services: give --services, --archetype or --randomize-services")
	}
	// Every persona subsection must be about a service the decky runs.
	for _, svc := range slices.Sorted(maps.Keys(d.persona)) {
		if !slices.Contains(p.services, svc) {
			return lineErr(b.path, d.personaLine[svc], "[%s]: decky %s does not run %s (its services: %s)",
				d.personaSec[svc], d.name, svc, strings.Join(p.services, ", "))
		}
	}

	// OS family from nmap_os, if given.
	p.nmapOS = d.nmapOS.v
	// Distro.
	var slug string
	switch {
	case d.distro.set():
		slug = d.distro.v
	case len(flagDistros) > 0:
		slug = flagDistros[idx%len(flagDistros)]
	case p.arch != nil:
		var fit []string
		for _, s := range p.arch.Distros {
			if _, ok := catalog.LookupDistro(s); ok {
				fit = append(fit, s)
			}
		}
		switch {
		case len(fit) == 0:
			slug = "debian"
		case b.fl.RandomizeDistros:
			slug = fit[p.r.IntN(len(fit))]
		default:
			slug = fit[0]
		}
	case b.fl.RandomizeDistros:
		fam := p.nmapOS
		if fam == "" {
			fam = catalog.FamilyLinux
		}
		var pool []string
		for _, ds := range catalog.Distros() {
			if ds.OSFamily == fam {
				pool = append(pool, ds.Slug)
			}
		}
		if len(pool) == 0 {
			slug = "debian"
		} else {
			slug = pool[p.r.IntN(len(pool))]
		}
	case p.nmapOS != "":
		slug = "debian"
		if ds, ok := catalog.DefaultDistro(p.nmapOS); ok {
			slug = ds.Slug
		}
	default:
		slug = "debian"
	}
	dist, ok := catalog.LookupDistro(slug)
	if !ok {
		return &Error{File: b.path, Msg: fmt.Sprintf("decky %s: distro %q is not in the catalog", d.name, slug)}
	}
	p.distro = dist
	// OS family: nmap_os, else the archetype's, else the distro's.
	famSlug := dist.OSFamily
	switch {
	case p.nmapOS != "":
		famSlug = p.nmapOS
	case p.arch != nil:
		famSlug = p.arch.OSFamily
	}
	fam, ok := catalog.LookupOSFamily(famSlug)
	if !ok {
		return &Error{File: b.path, Msg: fmt.Sprintf("decky %s: OS family %q is not in the catalog", d.name, famSlug)}
	}
	p.family = fam
	if p.nmapOS == "" && p.arch != nil {
		p.nmapOS = p.arch.NmapOS
	}
	return nil
}

// randomServices picks 1-3 registered services that do not share a port.
func randomServices(r *rand.Rand) []string {
	all := service.All()
	if len(all) == 0 {
		return nil
	}
	r.Shuffle(len(all), func(i, j int) { all[i], all[j] = all[j], all[i] })
	want := 1 + r.IntN(min(3, len(all)))
	var out []string
	taken := map[fleet.Port]bool{}
	for _, s := range all {
		if len(out) == want {
			break
		}
		if slices.ContainsFunc(s.Ports, func(p fleet.Port) bool { return taken[p] }) {
			continue
		}
		for _, p := range s.Ports {
			taken[p] = true
		}
		out = append(out, s.Name)
	}
	return out
}

// addresses validates explicit IPs, reuses deployed ones and allocates the rest.
func (b *builder) addresses(ps []*planned, flt *fleet.Fleet, start netip.Addr) error {
	plan := ipplan.Plan{Subnet: flt.Subnet, Gateway: flt.Gateway, Host: flt.HostIP, Start: start}
	ours := map[netip.Addr]bool{} // addresses the deployed fleet holds (they answer ARP)
	if b.env.Existing != nil {
		for _, d := range b.env.Existing.Deckies {
			ours[d.IP] = true
		}
	}
	taken := map[netip.Addr]*planned{}
	for _, p := range ps {
		ip := p.spec.ip
		if !ip.IsValid() {
			continue
		}
		if err := plan.CheckExplicit(ip); err != nil {
			return lineErr(b.path, p.spec.ipLine, "ip %v", err)
		}
		if other, dup := taken[ip]; dup {
			return lineErr(b.path, p.spec.ipLine, "ip %s is already given to decky %s (line %d)", ip, other.spec.name, other.spec.ipLine)
		}
		if b.env.InUse != nil && !ours[ip] && b.env.InUse(ip) {
			return lineErr(b.path, p.spec.ipLine, "ip %s is already in use on the LAN (another machine answers for it)", ip)
		}
		taken[ip] = p
		p.out.IP = ip
	}
	var need []*planned
	for _, p := range ps {
		if p.out.IP.IsValid() {
			continue
		}
		if p.old != nil && p.old.IP.IsValid() && plan.CheckExplicit(p.old.IP) == nil && taken[p.old.IP] == nil {
			taken[p.old.IP] = p
			p.out.IP = p.old.IP
			continue
		}
		need = append(need, p)
	}
	if len(need) == 0 {
		return nil
	}
	for ip := range taken {
		plan.Reserved = append(plan.Reserved, ip)
	}
	slices.SortFunc(plan.Reserved, netip.Addr.Compare)
	if b.env.InUse != nil {
		inUse := b.env.InUse
		plan.InUse = func(a netip.Addr) bool { return !ours[a] && inUse(a) }
	}
	got, err := plan.Allocate(len(need))
	if err != nil {
		if start.IsValid() {
			return &Error{Flag: "ip-start", Msg: "cannot allocate decky addresses: " + err.Error(), Err: err}
		}
		return &Error{File: b.path, Msg: "cannot allocate decky addresses: " + err.Error(), Err: err}
	}
	for i, p := range need {
		p.out.IP = got[i]
	}
	return nil
}

// finish assembles the fleet.Decky.
func (b *builder) finish(p *planned) (fleet.Decky, error) {
	d := p.out
	d.Name = p.spec.name
	if p.arch != nil {
		d.Archetype = p.arch.Slug
	}
	d.Distro = p.distro.Slug
	d.OSFamily = p.family.Slug
	d.NmapOS = p.nmapOS
	d.Sysctls = maps.Clone(p.family.Sysctls)
	for _, name := range p.services {
		svc := fleet.Service{Name: name}
		if spec, ok := service.Lookup(name); ok {
			persona, err := spec.Resolve(p.spec.persona[name])
			if err != nil {
				return d, &Error{File: b.path, Line: p.spec.personaLine[name], Msg: err.Error(), Err: err}
			}
			if len(persona) > 0 {
				svc.Persona = persona
			}
		} else if c, ok := b.customs[name]; ok {
			svc.Custom = &fleet.Custom{
				Image: c.custom.Image,
				Exec:  slices.Clone(c.custom.Exec),
				Ports: slices.Clone(c.custom.Ports),
			}
		}
		d.Services = append(d.Services, svc)
	}
	if p.old != nil && len(p.old.Secrets) > 0 {
		for svc, m := range p.old.Secrets {
			if !slices.Contains(p.services, svc) {
				continue
			}
			if d.Secrets == nil {
				d.Secrets = map[string]map[string]string{}
			}
			d.Secrets[svc] = maps.Clone(m)
		}
	}
	return d, nil
}
