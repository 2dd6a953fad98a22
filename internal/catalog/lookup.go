package catalog

import (
	"fmt"
	"maps"
	"math/rand/v2"
	"net"
	"slices"
	"strings"
)

var (
	archetypeIndex = map[string]int{}
	distroIndex    = map[string]int{}
	familyIndex    = map[string]int{}
	ouiVendor      = map[string]string{} // "aa:bb:cc" -> vendor name
)

func init() {
	slices.SortFunc(archetypes, func(a, b Archetype) int { return strings.Compare(a.Slug, b.Slug) })
	slices.SortFunc(distros, func(a, b Distro) int { return strings.Compare(a.Slug, b.Slug) })
	slices.SortFunc(osFamilies, func(a, b OSFamily) int { return strings.Compare(a.Slug, b.Slug) })
	for i, a := range archetypes {
		archetypeIndex[a.Slug] = i
	}
	for i, d := range distros {
		distroIndex[d.Slug] = i
	}
	for i, f := range osFamilies {
		familyIndex[f.Slug] = i
		for _, v := range f.Vendors {
			addVendor(v)
		}
	}
	for _, vs := range archetypeVendors {
		for _, v := range vs {
			addVendor(v)
		}
	}
}

func addVendor(v Vendor) {
	for _, o := range v.OUIs {
		ouiVendor[o] = v.Name
	}
}

func cloneArchetype(a Archetype) Archetype {
	a.Services = slices.Clone(a.Services)
	a.Distros = slices.Clone(a.Distros)
	return a
}

func cloneVendors(vs []Vendor) []Vendor {
	out := make([]Vendor, len(vs))
	for i, v := range vs {
		out[i] = Vendor{Name: v.Name, OUIs: slices.Clone(v.OUIs)}
	}
	return out
}

func cloneFamily(f OSFamily) OSFamily {
	f.Sysctls = maps.Clone(f.Sysctls)
	f.Vendors = cloneVendors(f.Vendors)
	return f
}

// Archetypes returns every built-in archetype, sorted by slug. The result is a copy.
func Archetypes() []Archetype {
	out := make([]Archetype, len(archetypes))
	for i, a := range archetypes {
		out[i] = cloneArchetype(a)
	}
	return out
}

// LookupArchetype returns the archetype with the given slug.
func LookupArchetype(slug string) (Archetype, bool) {
	i, ok := archetypeIndex[slug]
	if !ok {
		return Archetype{}, false
	}
	return cloneArchetype(archetypes[i]), true
}

// Distros returns every built-in distro persona, sorted by slug.
func Distros() []Distro { return slices.Clone(distros) }

// LookupDistro returns the distro persona with the given slug.
func LookupDistro(slug string) (Distro, bool) {
	i, ok := distroIndex[slug]
	if !ok {
		return Distro{}, false
	}
	return distros[i], true
}

// DefaultDistro returns the distro a decky of the given OS family gets when no
// archetype or configuration picks one.
func DefaultDistro(family string) (Distro, bool) {
	slug, ok := defaultDistro[family]
	if !ok {
		return Distro{}, false
	}
	return LookupDistro(slug)
}

// OSFamilies returns every OS family, sorted by slug. The result is a deep copy.
func OSFamilies() []OSFamily {
	out := make([]OSFamily, len(osFamilies))
	for i, f := range osFamilies {
		out[i] = cloneFamily(f)
	}
	return out
}

// LookupOSFamily returns the OS family with the given slug (e.g. "windows_server").
func LookupOSFamily(slug string) (OSFamily, bool) {
	i, ok := familyIndex[slug]
	if !ok {
		return OSFamily{}, false
	}
	return cloneFamily(osFamilies[i]), true
}

// NamespacedSysctl reports whether key is one of the network-namespaced sysctls a
// decky's base container may set (the set the OS families use).
func NamespacedSysctl(key string) bool { return allowedSysctls[key] }

// ArchetypeVendors returns the NIC vendors that fit an archetype: its own narrower
// list where it has one (printer, iot-device, industrial-control), else its family's.
func ArchetypeVendors(a Archetype) []Vendor {
	if vs, ok := archetypeVendors[a.Slug]; ok {
		return cloneVendors(vs)
	}
	if f, ok := LookupOSFamily(a.OSFamily); ok {
		return f.Vendors
	}
	return nil
}

// RandomMAC returns a MAC address from one of the family's vendors: a real OUI plus a
// random NIC part, lowercase "aa:bb:cc:dd:ee:ff". A family without vendors (e.g. a
// zero OSFamily) falls back to the linux family's vendors.
func RandomMAC(f OSFamily, r *rand.Rand) string {
	vs := f.Vendors
	if len(vs) == 0 {
		vs = osFamilies[familyIndex[FamilyLinux]].Vendors
	}
	return macFrom(vs, r)
}

// RandomArchetypeMAC is RandomMAC with the vendors of ArchetypeVendors(a), so a printer
// decky gets a printer maker's NIC.
func RandomArchetypeMAC(a Archetype, r *rand.Rand) string {
	vs := ArchetypeVendors(a)
	if len(vs) == 0 {
		vs = osFamilies[familyIndex[FamilyLinux]].Vendors
	}
	return macFrom(vs, r)
}

func macFrom(vs []Vendor, r *rand.Rand) string {
	v := vs[r.IntN(len(vs))]
	oui := v.OUIs[r.IntN(len(v.OUIs))]
	n := r.Uint32()
	return fmt.Sprintf("%s:%02x:%02x:%02x", oui, byte(n>>16), byte(n>>8), byte(n))
}

// VendorOf returns the catalogue vendor whose OUI starts mac (any separator net.ParseMAC
// accepts), or false when the OUI is not one of the catalogue's.
func VendorOf(mac string) (string, bool) {
	hw, err := net.ParseMAC(mac)
	if err != nil || len(hw) != 6 {
		return "", false
	}
	name, ok := ouiVendor[fmt.Sprintf("%02x:%02x:%02x", hw[0], hw[1], hw[2])]
	return name, ok
}

// Word lists for hostnames. nameWords is DECNET's list.
var (
	nameWords = []string{
		"alpha", "bravo", "charlie", "delta", "echo",
		"foxtrot", "golf", "hotel", "india", "juliet",
		"kilo", "lima", "mike", "nova", "oscar",
		"prod", "web", "db", "mail", "proxy",
		"dev", "stage", "backup", "monitor", "files",
	}
	serverRoles = []string{"web", "db", "app", "api", "mail", "proxy", "files", "backup", "mon", "git", "ci", "cache", "log", "vpn", "auth"}
	envs        = []string{"prod", "stage", "dev", "qa", "int"}
	bsdRoles    = []string{"fw", "gw", "ns", "mx", "nas", "bsd", "pf", "jail"}
	ciscoRoles  = []string{"SW", "RTR", "ASW", "DSW", "CORE", "EDGE"}
	ciscoSites  = []string{"HQ", "DC1", "DC2", "BRANCH", "LAB", "FL2", "BLDG1"}
)

const winAlphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789"

func pick(r *rand.Rand, xs []string) string { return xs[r.IntN(len(xs))] }

func winSuffix(r *rand.Rand, n int) string {
	var b strings.Builder
	for range n {
		b.WriteByte(winAlphabet[r.IntN(len(winAlphabet))])
	}
	return b.String()
}

// RandomHostname returns a hostname in the distro's style: a single valid DNS label of
// at most 15 characters (the NetBIOS limit, so it also fits Windows), e.g.
// "web-prod-03" (debian/ubuntu), "app07" (RHEL-like), "DESKTOP-7K2QJ9A" (Windows),
// "WIN-3J5K7L9M2N4" (Windows Server), "SW-HQ-01" (Cisco).
func RandomHostname(d Distro, r *rand.Rand) string {
	num := func() string { return fmt.Sprintf("%02d", 1+r.IntN(99)) }
	switch d.HostnameStyle {
	case StyleRHEL:
		return pick(r, serverRoles) + num()
	case StyleMinimal:
		return pick(r, nameWords) + "-" + num()
	case StyleRolling:
		a := pick(r, nameWords)
		b := pick(r, nameWords)
		for b == a {
			b = pick(r, nameWords)
		}
		return a + "-" + b
	case StyleWindows:
		return "DESKTOP-" + winSuffix(r, 7)
	case StyleWindowsServer:
		return "WIN-" + winSuffix(r, 11)
	case StyleBSD:
		return pick(r, bsdRoles) + "-" + num()
	case StyleCisco:
		return pick(r, ciscoRoles) + "-" + pick(r, ciscoSites) + "-" + num()
	default: // StyleGeneric and anything unknown
		return pick(r, serverRoles) + "-" + pick(r, envs) + "-" + num()
	}
}
