// Package service is DECNET's service framework: the registry that honeypot service
// packages add themselves to in init(), their typed persona keys, and the runtime that
// serves them (listeners with limits, deadlines, panic isolation, event emission).
//
// A service package looks like:
//
//	func init() { service.Register(service.Spec{Name: "ssh", Ports: ..., Keys: ..., Run: run}) }
//
// and is linked into the binary by a blank import in internal/services/all.
package service

import (
	"context"
	"fmt"
	"slices"
	"sort"
	"strconv"
	"strings"
	"sync"

	"decnet/internal/catalog"
	"decnet/internal/fleet"
)

// Kind is the type of a persona key's value.
type Kind int

const (
	String Kind = iota
	Int
	Bool
	List // comma-separated; items trimmed, empty items dropped
)

func (k Kind) String() string {
	switch k {
	case Int:
		return "int"
	case Bool:
		return "bool"
	case List:
		return "list"
	default:
		return "string"
	}
}

// Key is one persona key of a service: typed, defaulted, validated.
type Key struct {
	Name string
	Kind Kind
	// Default is the value used when the config does not set the key. It may be
	// empty, meaning "derive from the decky's distro" (the service decides).
	Default string
	Help    string
	// Check optionally validates a value after type checking.
	Check func(v string) error
}

// Identity is what a service knows about the decky it is deployed on, at deploy time.
type Identity struct {
	Decky    string
	Hostname string
	Distro   catalog.Distro
	OSFamily string
}

// Spec declares a service.
type Spec struct {
	Name    string
	Summary string // one line for `decnet services`
	Ports   []fleet.Port
	Keys    []Key
	// Secrets generates per-decky secrets at deploy time (host keys, certificates).
	// Called once per decky; the result is stored in the decky's state and reused on
	// every restart, so a decky's host key never changes. May be nil.
	Secrets func(id Identity) (map[string]string, error)
	// Run serves until ctx is cancelled. It returns nil on a clean shutdown.
	Run func(ctx context.Context, rt *Runtime) error
}

var (
	mu       sync.RWMutex
	registry = map[string]Spec{}
)

// Register adds a service to the registry. It panics on a duplicate or malformed
// spec: both are programming errors caught by any test that links the package.
func Register(s Spec) {
	if s.Name == "" || s.Run == nil || len(s.Ports) == 0 {
		panic("service: Register needs Name, Ports and Run")
	}
	seen := map[string]bool{}
	for _, k := range s.Keys {
		if k.Name == "" || seen[k.Name] {
			panic("service " + s.Name + ": empty or duplicate key " + k.Name)
		}
		seen[k.Name] = true
		if k.Default != "" {
			if _, err := k.parse(k.Default); err != nil {
				panic("service " + s.Name + ": bad default for " + k.Name + ": " + err.Error())
			}
		}
	}
	mu.Lock()
	defer mu.Unlock()
	if _, dup := registry[s.Name]; dup {
		panic("service: " + s.Name + " registered twice")
	}
	registry[s.Name] = s
}

// Lookup returns the registered service with the given name.
func Lookup(name string) (Spec, bool) {
	mu.RLock()
	defer mu.RUnlock()
	s, ok := registry[name]
	return s, ok
}

// PortsOf returns the ports a service of the fleet listens on: a bring-your-own
// container's declared ports, or the registered plugin's (none for an unknown name).
func PortsOf(s fleet.Service) []fleet.Port {
	if s.Custom != nil {
		return s.Custom.Ports
	}
	spec, _ := Lookup(s.Name)
	return spec.Ports
}

// PortNames returns the ports of the decky's service name (among services) as
// strings ("22/tcp") and, when checked, those of them missing from open (the
// ports open in the decky): what status and the API show as a service's ports
// and closed ports. Both are non-nil.
func PortNames(services []fleet.Service, name string, open []fleet.Port, checked bool) (ports, closed []string) {
	ports, closed = []string{}, []string{}
	for _, s := range services {
		if s.Name != name {
			continue
		}
		for _, p := range PortsOf(s) {
			ports = append(ports, p.String())
			if checked && !slices.Contains(open, p) {
				closed = append(closed, p.String())
			}
		}
	}
	return ports, closed
}

// All returns every registered service, sorted by name.
func All() []Spec {
	mu.RLock()
	defer mu.RUnlock()
	out := make([]Spec, 0, len(registry))
	for _, s := range registry {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Name < out[j].Name })
	return out
}

// KeyError is a persona key problem; config wraps it with the INI file and line.
type KeyError struct {
	Service string
	Key     string
	Err     error
}

func (e *KeyError) Error() string {
	return fmt.Sprintf("service %s: key %q: %v", e.Service, e.Key, e.Err)
}

func (e *KeyError) Unwrap() error { return e.Err }

// Key returns the key with the given name.
func (s Spec) Key(name string) (Key, bool) {
	for _, k := range s.Keys {
		if k.Name == name {
			return k, true
		}
	}
	return Key{}, false
}

// ValidateKey checks one persona value and returns its canonical form.
// An unknown key or a bad value is a *KeyError.
func (s Spec) ValidateKey(name, value string) (string, error) {
	k, ok := s.Key(name)
	if !ok {
		known := make([]string, len(s.Keys))
		for i, k := range s.Keys {
			known[i] = k.Name
		}
		msg := "unknown key"
		if len(known) > 0 {
			msg += " (known: " + strings.Join(known, ", ") + ")"
		} else {
			msg += " (this service has no persona keys)"
		}
		return "", &KeyError{s.Name, name, fmt.Errorf("%s", msg)}
	}
	v, err := k.parse(value)
	if err != nil {
		return "", &KeyError{s.Name, name, err}
	}
	return v, nil
}

// Resolve validates a set of persona values and fills in defaults. The result holds
// every key of the spec that has a value.
func (s Spec) Resolve(values map[string]string) (map[string]string, error) {
	out := map[string]string{}
	for _, k := range s.Keys {
		if k.Default != "" {
			out[k.Name] = k.Default
		}
	}
	names := make([]string, 0, len(values))
	for n := range values {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		v, err := s.ValidateKey(n, values[n])
		if err != nil {
			return nil, err
		}
		out[n] = v
	}
	return out, nil
}

// parse type-checks and canonicalises a value.
func (k Key) parse(v string) (string, error) {
	v = strings.TrimSpace(v)
	switch k.Kind {
	case Int:
		n, err := strconv.Atoi(v)
		if err != nil {
			return "", fmt.Errorf("%q is not a whole number", v)
		}
		v = strconv.Itoa(n)
	case Bool:
		b, err := ParseBool(v)
		if err != nil {
			return "", err
		}
		v = strconv.FormatBool(b)
	case List:
		v = strings.Join(SplitList(v), ",")
	}
	if k.Check != nil {
		if err := k.Check(v); err != nil {
			return "", err
		}
	}
	return v, nil
}

// ParseBool parses the boolean spellings INI users write (true/false, yes/no, on/off, 1/0).
func ParseBool(v string) (bool, error) {
	switch strings.ToLower(strings.TrimSpace(v)) {
	case "1", "true", "yes", "on":
		return true, nil
	case "0", "false", "no", "off":
		return false, nil
	}
	return false, fmt.Errorf("%q is not a boolean (use true/false, yes/no, on/off, 1/0)", v)
}

// SplitList splits a comma-separated list, trimming items and dropping empty ones.
func SplitList(v string) []string {
	var out []string
	for _, p := range strings.Split(v, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
