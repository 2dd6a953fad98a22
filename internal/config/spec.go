package config

// This file gives the parsed sections their meaning (DECNET's ini_loader.py semantics):
// [general], decky sections, amount groups, [custom-<name>] BYOS services and
// [<decky>.<service>] persona subsections. Everything that can be checked without the
// flags and the network is checked here, so Load reports it with its line.

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"github.com/distribution/reference"

	"decnet/internal/catalog"
	"decnet/internal/fleet"
	"decnet/internal/service"
)

const (
	maxAmount   = 100  // DECNET's cap on amount=
	maxDeckies  = 1024 // whole fleet
	customPrefx = "custom-"
)

// fileSpec is the interpreted file.
type fileSpec struct {
	general generalSpec
	deckies []*deckySpec
	customs map[string]*customSpec
}

// value is a configured string and where it was set.
type value struct {
	v    string
	line int
}

func (v value) set() bool { return v.line > 0 }

type generalSpec struct {
	line                 int // of [general]; 0 if absent
	net, gw, iface, logT value
}

type deckySpec struct {
	name     string
	line     int    // line of the section header
	section  string // the section it comes from (the group name for an amount group)
	ip       netip.Addr
	ipLine   int
	services value // raw list (empty line: not set)
	svcList  []string
	arch     value
	distro   value
	nmapOS   value
	// persona holds per service the validated key values; personaLine the line of the
	// subsection that set them (the member's own subsection if any).
	persona     map[string]map[string]string
	personaLine map[string]int
	personaSec  map[string]string
}

type customSpec struct {
	name   string
	line   int
	custom fleet.Custom
}

// Known keys per section kind. Aliases are DECNET's hyphenated spellings.
var (
	generalKeys = []string{"gw", "interface", "log_target", "mutate_interval", "net"}
	deckyKeys   = []string{"amount", "archetype", "distro", "ip", "mutate_interval", "nmap_os", "services"}
	customKeys  = []string{"binary", "exec", "image", "ports"}
	keyAliases  = map[string]string{"log-target": "log_target", "nmap-os": "nmap_os", "mutate-interval": "mutate_interval"}
)

// entries returns a section's entries by canonical key, rejecting unknown keys and a key
// given under both of its spellings.
func (f *File) entries(s *Section, known []string, what string) (map[string]Entry, error) {
	out := map[string]Entry{}
	for _, e := range s.Entries {
		k := e.Key
		if c, ok := keyAliases[k]; ok {
			k = c
		}
		if !slices.Contains(known, k) {
			return nil, lineErr(f.Path, e.Line, "unknown key %q in %s (known: %s)", e.Key, what, strings.Join(known, ", "))
		}
		if prev, dup := out[k]; dup {
			return nil, lineErr(f.Path, e.Line, "%q and %q are the same key (first set on line %d)", e.Key, prev.Key, prev.Line)
		}
		out[k] = e
	}
	return out, nil
}

func (f *File) warn(line int, format string, args ...any) {
	f.warnings = append(f.warnings, (&Error{File: f.Path, Line: line, Msg: fmt.Sprintf(format, args...)}).Error())
}

func (f *File) interpret() error {
	sp := &fileSpec{customs: map[string]*customSpec{}}
	f.spec = sp
	var deckySecs, subSecs []*Section
	// Pass 1: [general] and [custom-*], so decky sections may use customs defined later.
	for _, s := range f.Sections {
		switch {
		case s.Name == "general":
			if err := f.general(s); err != nil {
				return err
			}
		case strings.Contains(s.Name, "."):
			subSecs = append(subSecs, s)
		case strings.HasPrefix(s.Name, customPrefx):
			if err := f.customSection(s); err != nil {
				return err
			}
		default:
			deckySecs = append(deckySecs, s)
		}
	}
	// Pass 2: deckies and amount groups.
	groups := map[string][]*deckySpec{}
	names := map[string]int{} // decky name → line of its section
	for _, s := range deckySecs {
		ds, err := f.deckySection(s)
		if err != nil {
			return err
		}
		for _, d := range ds {
			if prev, dup := names[d.name]; dup {
				return lineErr(f.Path, s.Line, "decky name %q is already used by the section on line %d", d.name, prev)
			}
			names[d.name] = s.Line
		}
		if len(ds) > 1 {
			groups[s.Name] = ds
		}
		sp.deckies = append(sp.deckies, ds...)
		if len(sp.deckies) > maxDeckies {
			return lineErr(f.Path, s.Line, "the file defines more than %d deckies", maxDeckies)
		}
	}
	// Pass 3: persona subsections; a group's subsection first, a member's own on top.
	slices.SortStableFunc(subSecs, func(a, b *Section) int {
		_, ag := groups[strings.SplitN(a.Name, ".", 2)[0]]
		_, bg := groups[strings.SplitN(b.Name, ".", 2)[0]]
		switch {
		case ag && !bg:
			return -1
		case bg && !ag:
			return 1
		}
		return 0
	})
	for _, s := range subSecs {
		if err := f.subsection(s, groups); err != nil {
			return err
		}
	}
	return nil
}

func (f *File) general(s *Section) error {
	g := &f.spec.general
	g.line = s.Line
	es, err := f.entries(s, generalKeys, "[general]")
	if err != nil {
		return err
	}
	for k, e := range es {
		if e.Value == "" {
			continue
		}
		v := value{e.Value, e.Line}
		switch k {
		case "net":
			g.net = v
		case "gw":
			g.gw = v
		case "interface":
			g.iface = v
		case "log_target":
			g.logT = v
		case "mutate_interval":
			if err := f.mutateInterval(e); err != nil {
				return err
			}
		}
	}
	return nil
}

// mutateInterval checks DECNET's mutate_interval and warns that it is ignored.
func (f *File) mutateInterval(e Entry) error {
	if n, err := strconv.Atoi(e.Value); err != nil || n < 0 {
		return lineErr(f.Path, e.Line, "%s must be a whole number of minutes, got %q", e.Key, e.Value)
	}
	f.warn(e.Line, "%s is a DECNET key this version ignores (deckies are not mutated)", e.Key)
	return nil
}

func (f *File) customSection(s *Section) error {
	name := strings.TrimPrefix(s.Name, customPrefx)
	if !validServiceName(name) {
		return lineErr(f.Path, s.Line, "custom service name %q must be 1-32 characters of a-z, 0-9, '-' and '_', starting with a letter or digit", name)
	}
	if _, builtin := service.Lookup(name); builtin {
		return lineErr(f.Path, s.Line, "custom service %q has the name of a built-in service", name)
	}
	es, err := f.entries(s, customKeys, "["+s.Name+"]")
	if err != nil {
		return err
	}
	cs := &customSpec{name: name, line: s.Line}
	img, hasImg := es["image"]
	if bin, ok := es["binary"]; ok {
		if hasImg {
			return lineErr(f.Path, bin.Line, "binary and image are the same key (image set on line %d)", img.Line)
		}
		img, hasImg = bin, true
	}
	if !hasImg || img.Value == "" {
		return lineErr(f.Path, s.Line, "[%s] needs image = <docker image> (DECNET spelled it binary =)", s.Name)
	}
	if _, err := reference.Parse(img.Value); err != nil {
		why := err.Error()
		if errors.Is(err, reference.ErrNameContainsUppercase) {
			why = "the repository name must be lowercase"
		}
		return lineErr(f.Path, img.Line, "%q is not a valid Docker image reference: %s", img.Value, why)
	}
	cs.custom.Image = img.Value
	if e, ok := es["exec"]; ok && e.Value != "" {
		argv, err := splitCommand(e.Value)
		if err != nil {
			return lineErr(f.Path, e.Line, "exec: %v", err)
		}
		cs.custom.Exec = argv
	}
	if e, ok := es["ports"]; ok {
		seen := map[fleet.Port]bool{}
		for _, item := range service.SplitList(e.Value) {
			p, err := parsePort(item)
			if err != nil {
				return lineErr(f.Path, e.Line, "%v", err)
			}
			if seen[p] {
				return lineErr(f.Path, e.Line, "port %s is listed twice", p)
			}
			seen[p] = true
			cs.custom.Ports = append(cs.custom.Ports, p)
		}
	}
	f.spec.customs[name] = cs
	return nil
}

// parsePort parses "8080", "8080/tcp" or "53/udp".
func parsePort(s string) (fleet.Port, error) {
	num, proto, hasProto := strings.Cut(s, "/")
	p := fleet.Port{Proto: "tcp"}
	if hasProto {
		p.Proto = strings.ToLower(strings.TrimSpace(proto))
		if p.Proto != "tcp" && p.Proto != "udp" {
			return p, fmt.Errorf("port %q: the protocol must be tcp or udp", s)
		}
	}
	num = strings.TrimSpace(num)
	n, err := strconv.Atoi(num)
	if err != nil || n < 1 || n > 65535 || strings.TrimLeft(num, "0123456789") != "" {
		return p, fmt.Errorf("port %q is not a number from 1 to 65535", s)
	}
	p.Number = n
	return p, nil
}

func validServiceName(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch {
		case c >= 'a' && c <= 'z', c >= '0' && c <= '9':
		case (c == '-' || c == '_') && i > 0:
		default:
			return false
		}
	}
	return true
}

// validLabel reports whether s is a DNS label of lower-case letters, digits and '-'.
func validLabel(s string) bool {
	if s == "" || len(s) > 63 || s[0] == '-' || s[len(s)-1] == '-' {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-') {
			return false
		}
	}
	return true
}

func nameRule(name string) string {
	return fmt.Sprintf("decky name %q must be a DNS label: 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'", name)
}

func (f *File) deckySection(s *Section) ([]*deckySpec, error) {
	es, err := f.entries(s, deckyKeys, "["+s.Name+"]")
	if err != nil {
		return nil, err
	}
	proto := &deckySpec{name: s.Name, line: s.Line, section: s.Name}
	get := func(k string) value {
		if e, ok := es[k]; ok && e.Value != "" {
			return value{e.Value, e.Line}
		}
		return value{}
	}
	amount := 1
	if e, ok := es["amount"]; ok {
		n, err := strconv.Atoi(strings.TrimSpace(e.Value))
		if err != nil || n < 1 || n > maxAmount {
			return nil, lineErr(f.Path, e.Line, "amount must be a whole number from 1 to %d, got %q", maxAmount, e.Value)
		}
		amount = n
	}
	if amount == 1 && !validLabel(s.Name) {
		return nil, lineErr(f.Path, s.Line, "%s", nameRule(s.Name))
	}
	if amount > 1 && !validLabel(fmt.Sprintf("%s-%02d", s.Name, amount)) {
		return nil, lineErr(f.Path, s.Line, "%s", nameRule(fmt.Sprintf("%s-%02d", s.Name, amount)))
	}
	if v := get("ip"); v.set() {
		if amount > 1 {
			return nil, lineErr(f.Path, v.line, "ip cannot be combined with amount = %d (line %d): one address cannot belong to several deckies; remove ip or set amount = 1", amount, es["amount"].Line)
		}
		a, err := netip.ParseAddr(v.v)
		if err != nil || !a.Is4() {
			return nil, lineErr(f.Path, v.line, "ip %q is not an IPv4 address", v.v)
		}
		proto.ip, proto.ipLine = a, v.line
	}
	if v := get("services"); v.set() {
		proto.services = v
		list, err := f.serviceList(v)
		if err != nil {
			return nil, err
		}
		proto.svcList = list
	}
	if v := get("archetype"); v.set() {
		if _, ok := catalog.LookupArchetype(v.v); !ok {
			return nil, lineErr(f.Path, v.line, "unknown archetype %q (known: %s)", v.v, archetypeSlugs())
		}
		proto.arch = v
	}
	if v := get("distro"); v.set() {
		if _, ok := catalog.LookupDistro(v.v); !ok {
			return nil, lineErr(f.Path, v.line, "unknown distro %q (known: %s)", v.v, distroSlugs())
		}
		proto.distro = v
	}
	if v := get("nmap_os"); v.set() {
		if _, ok := catalog.LookupOSFamily(v.v); !ok {
			return nil, lineErr(f.Path, v.line, "unknown nmap_os %q (known: %s)", v.v, familySlugs())
		}
		proto.nmapOS = v
	}
	if e, ok := es["mutate_interval"]; ok && e.Value != "" {
		if err := f.mutateInterval(e); err != nil {
			return nil, err
		}
	}
	if amount == 1 {
		return []*deckySpec{proto}, nil
	}
	out := make([]*deckySpec, amount)
	for i := range out {
		d := *proto
		d.name = fmt.Sprintf("%s-%02d", s.Name, i+1)
		d.svcList = slices.Clone(proto.svcList)
		out[i] = &d
	}
	return out, nil
}

// serviceList parses and checks a services= value: known names, no repeats, no two
// services on one port.
func (f *File) serviceList(v value) ([]string, error) {
	list := service.SplitList(v.v)
	for i, name := range list {
		if slices.Contains(list[:i], name) {
			return nil, lineErr(f.Path, v.line, "service %q is listed twice", name)
		}
		if _, ok := service.Lookup(name); ok {
			continue
		}
		if _, ok := f.spec.customs[name]; ok {
			continue
		}
		return nil, lineErr(f.Path, v.line, "unknown service %q (available: %s)", name, f.availableServices())
	}
	if msg := portClash(list, f.spec.customs); msg != "" {
		return nil, lineErr(f.Path, v.line, "%s", msg)
	}
	return list, nil
}

func (f *File) availableServices() string {
	return availableServices(f.spec.customs)
}

func availableServices(customs map[string]*customSpec) string {
	var names []string
	for _, s := range service.All() {
		names = append(names, s.Name)
	}
	for n := range customs {
		names = append(names, n)
	}
	slices.Sort(names)
	if len(names) == 0 {
		return "none registered"
	}
	return strings.Join(names, ", ")
}

// servicePorts returns the ports of a registered or custom service.
func servicePorts(name string, customs map[string]*customSpec) []fleet.Port {
	if s, ok := service.Lookup(name); ok {
		return s.Ports
	}
	if c, ok := customs[name]; ok {
		return c.custom.Ports
	}
	return nil
}

// portClash returns a message naming the first two services of list that listen on
// the same port and protocol, or "".
func portClash(list []string, customs map[string]*customSpec) string {
	owner := map[fleet.Port]string{}
	for _, name := range list {
		for _, p := range servicePorts(name, customs) {
			if other, ok := owner[p]; ok && other != name {
				return fmt.Sprintf("services %s and %s both listen on %s; a decky can run only one of them", other, name, p)
			}
			owner[p] = name
		}
	}
	return ""
}

func (f *File) subsection(s *Section, groups map[string][]*deckySpec) error {
	deckyName, svcName, _ := strings.Cut(s.Name, ".")
	if _, ok := service.Lookup(svcName); !ok {
		if _, custom := f.spec.customs[svcName]; custom {
			return lineErr(f.Path, s.Line, "[%s]: custom service %s has no persona keys; configure it in [custom-%s]", s.Name, svcName, svcName)
		}
		return lineErr(f.Path, s.Line, "[%s]: unknown service %q (available: %s)", s.Name, svcName, availableServices(nil))
	}
	targets := groups[deckyName]
	if targets == nil {
		for _, d := range f.spec.deckies {
			if d.name == deckyName {
				targets = []*deckySpec{d}
				break
			}
		}
	}
	if targets == nil {
		return lineErr(f.Path, s.Line, "[%s]: no decky or amount group named %q is defined in this file", s.Name, deckyName)
	}
	if d := targets[0]; d.services.set() && !slices.Contains(d.svcList, svcName) {
		return lineErr(f.Path, s.Line, "[%s]: %s does not run %s (services = %s on line %d)", s.Name, deckyName, svcName, strings.Join(d.svcList, ","), d.services.line)
	}
	spec, _ := service.Lookup(svcName)
	vals := map[string]string{}
	for _, e := range s.Entries {
		v, err := spec.ValidateKey(e.Key, e.Value)
		if err != nil {
			return &Error{File: f.Path, Line: e.Line, Msg: err.Error(), Err: err}
		}
		vals[e.Key] = v
	}
	for _, d := range targets {
		if d.persona == nil {
			d.persona = map[string]map[string]string{}
			d.personaLine = map[string]int{}
			d.personaSec = map[string]string{}
		}
		m := d.persona[svcName]
		if m == nil {
			m = map[string]string{}
			d.persona[svcName] = m
		}
		for k, v := range vals {
			m[k] = v
		}
		d.personaLine[svcName] = s.Line
		d.personaSec[svcName] = s.Name
	}
	return nil
}

func archetypeSlugs() string {
	var out []string
	for _, a := range catalog.Archetypes() {
		out = append(out, a.Slug)
	}
	return strings.Join(out, ", ")
}

func distroSlugs() string {
	var out []string
	for _, d := range catalog.Distros() {
		out = append(out, d.Slug)
	}
	return strings.Join(out, ", ")
}

func familySlugs() string {
	var out []string
	for _, f := range catalog.OSFamilies() {
		out = append(out, f.Slug)
	}
	return strings.Join(out, ", ")
}
