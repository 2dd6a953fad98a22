package lab

import (
	"fmt"
	"net/netip"
	"strings"
)

// The parent link's alias (IFLA_IFALIAS, shown by `ip link`) records the lab's
// configuration, so Status can report the exact Config a lab was made with,
// including the Gateway that no link carries.
const aliasMarker = "decnet-lab/1"

// maxAliasLen is the kernel's IFALIASZ minus the terminating NUL.
const maxAliasLen = 255

func encodeAlias(c Config) string {
	return fmt.Sprintf("%s subnet=%s host=%s attacker=%s gateway=%s",
		aliasMarker, c.Subnet, c.HostIP, c.AttackerIP, c.Gateway)
}

// parseAlias reads an alias written by encodeAlias back into a Config whose
// Name is name. It never trusts the alias: every field is required, parsed and
// the result validated.
func parseAlias(name, alias string) (Config, error) {
	if len(alias) > maxAliasLen {
		return Config{}, fmt.Errorf("lab link alias is %d bytes, longer than the kernel allows", len(alias))
	}
	fields := strings.Fields(alias)
	if len(fields) == 0 || fields[0] != aliasMarker {
		return Config{}, fmt.Errorf("lab link alias %q is not a DECNET lab record", alias)
	}
	c := Config{Name: name}
	seen := map[string]bool{}
	for _, f := range fields[1:] {
		key, val, ok := strings.Cut(f, "=")
		if !ok {
			return Config{}, fmt.Errorf("lab link alias field %q has no '='", f)
		}
		if seen[key] {
			return Config{}, fmt.Errorf("lab link alias repeats field %q", key)
		}
		seen[key] = true
		var err error
		switch key {
		case "subnet":
			c.Subnet, err = netip.ParsePrefix(val)
		case "host":
			c.HostIP, err = netip.ParseAddr(val)
		case "attacker":
			c.AttackerIP, err = netip.ParseAddr(val)
		case "gateway":
			c.Gateway, err = netip.ParseAddr(val)
		default:
			return Config{}, fmt.Errorf("lab link alias has unknown field %q", key)
		}
		if err != nil {
			return Config{}, fmt.Errorf("lab link alias field %q: %w", key, err)
		}
	}
	for _, k := range []string{"subnet", "host", "attacker", "gateway"} {
		if !seen[k] {
			return Config{}, fmt.Errorf("lab link alias lacks field %q", k)
		}
	}
	if c.Subnet != c.Subnet.Masked() {
		return Config{}, fmt.Errorf("lab link alias subnet %v is not a network address", c.Subnet)
	}
	if err := c.Validate(); err != nil {
		return Config{}, err
	}
	return c, nil
}
