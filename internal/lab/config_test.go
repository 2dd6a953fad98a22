package lab

import (
	"net"
	"net/netip"
	"strings"
	"testing"
)

func TestWithDefaults(t *testing.T) {
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	tests := []struct {
		name string
		in   Config
		want Config
	}{
		{"zero", Config{}, Config{Name: "decnet", Subnet: p("10.47.0.0/24"), HostIP: a("10.47.0.1"), AttackerIP: a("10.47.0.250"), Gateway: a("10.47.0.254")}},
		{"custom subnet masked", Config{Name: "dnt", Subnet: p("10.213.7.9/24")}, Config{Name: "dnt", Subnet: p("10.213.7.0/24"), HostIP: a("10.213.7.1"), AttackerIP: a("10.213.7.250"), Gateway: a("10.213.7.254")}},
		{"slash 28", Config{Subnet: p("10.9.9.16/28")}, Config{Name: "decnet", Subnet: p("10.9.9.16/28"), HostIP: a("10.9.9.17"), AttackerIP: a("10.9.9.26"), Gateway: a("10.9.9.30")}},
		{"slash 16", Config{Subnet: p("10.9.0.0/16")}, Config{Name: "decnet", Subnet: p("10.9.0.0/16"), HostIP: a("10.9.0.1"), AttackerIP: a("10.9.255.250"), Gateway: a("10.9.255.254")}},
		{"explicit kept", Config{Name: "x", Subnet: p("10.1.2.0/24"), HostIP: a("10.1.2.5"), AttackerIP: a("10.1.2.6"), Gateway: a("10.1.2.7")}, Config{Name: "x", Subnet: p("10.1.2.0/24"), HostIP: a("10.1.2.5"), AttackerIP: a("10.1.2.6"), Gateway: a("10.1.2.7")}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := tt.in.WithDefaults()
			if got != tt.want {
				t.Fatalf("WithDefaults() = %+v, want %+v", got, tt.want)
			}
			if err := got.Validate(); err != nil {
				t.Fatalf("defaults do not validate: %v", err)
			}
		})
	}
}

func TestValidate(t *testing.T) {
	p := netip.MustParsePrefix
	a := netip.MustParseAddr
	base := Config{Name: "dnt"}.WithDefaults()
	with := func(f func(*Config)) Config { c := base; f(&c); return c }
	tests := []struct {
		name    string
		cfg     Config
		wantErr string // "" = valid
	}{
		{"base", base, ""},
		{"ten chars", with(func(c *Config) { c.Name = "abcdefghij" }), ""},
		{"eleven chars", with(func(c *Config) { c.Name = "abcdefghijk" }), "too long"},
		{"upper case", with(func(c *Config) { c.Name = "Dnt" }), "invalid"},
		{"slash", with(func(c *Config) { c.Name = "a/b" }), "invalid"},
		{"leading digit", with(func(c *Config) { c.Name = "1ab" }), "invalid"},
		{"empty", with(func(c *Config) { c.Name = "" }), "invalid"},
		{"ipv6 subnet", with(func(c *Config) { c.Subnet = p("fd00::/64") }), "IPv4"},
		{"too big", with(func(c *Config) { c.Subnet = p("10.0.0.0/8") }), "unsupported size"},
		{"too small", with(func(c *Config) { c.Subnet = p("10.213.7.0/29") }), "unsupported size"},
		{"host outside", with(func(c *Config) { c.HostIP = a("10.1.1.1") }), "outside"},
		{"attacker is broadcast", with(func(c *Config) { c.AttackerIP = a("10.47.0.255") }), "broadcast"},
		{"gateway is network", with(func(c *Config) { c.Gateway = a("10.47.0.0") }), "network"},
		{"attacker equals host", with(func(c *Config) { c.AttackerIP = c.HostIP }), "same address"},
		{"gateway equals attacker", with(func(c *Config) { c.Gateway = c.AttackerIP }), "same address"},
		{"missing gateway", with(func(c *Config) { c.Gateway = netip.Addr{} }), "invalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			err := tt.cfg.Validate()
			if tt.wantErr == "" {
				if err != nil {
					t.Fatalf("Validate() = %v, want nil", err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
				t.Fatalf("Validate() = %v, want an error containing %q", err, tt.wantErr)
			}
		})
	}
}

func TestNames(t *testing.T) {
	if got := ParentName("decnet"); got != "decnet-lan0" {
		t.Errorf("ParentName = %q", got)
	}
	if got := PeerName("decnet"); got != "decnet-att0" {
		t.Errorf("PeerName = %q", got)
	}
	if got := NamespaceName("decnet"); got != "decnet-attacker" {
		t.Errorf("NamespaceName = %q", got)
	}
	long := strings.Repeat("a", MaxNameLen)
	if len(ParentName(long)) != 15 || len(PeerName(long)) != 15 {
		t.Errorf("MaxNameLen %d does not make 15-byte link names", MaxNameLen)
	}
}

func TestAliasRoundTrip(t *testing.T) {
	c := Config{Name: "dnt", Subnet: netip.MustParsePrefix("10.213.7.0/24")}.WithDefaults()
	got, err := parseAlias("dnt", encodeAlias(c))
	if err != nil {
		t.Fatal(err)
	}
	if got != c {
		t.Fatalf("round trip = %+v, want %+v", got, c)
	}
}

func TestParseAliasRejects(t *testing.T) {
	for _, alias := range []string{
		"",
		"something else",
		"decnet-lab/1",
		"decnet-lab/1 subnet=10.47.0.0/24 host=10.47.0.1 attacker=10.47.0.250",
		"decnet-lab/1 subnet=10.47.0.0/24 host=10.47.0.1 attacker=10.47.0.250 gateway=10.47.0.254 extra=1",
		"decnet-lab/1 subnet=10.47.0.0/24 subnet=10.47.0.0/24 host=10.47.0.1 attacker=10.47.0.250 gateway=10.47.0.254",
		"decnet-lab/1 subnet=10.47.0.5/24 host=10.47.0.1 attacker=10.47.0.250 gateway=10.47.0.254",
		"decnet-lab/1 subnet=10.47.0.0/24 host=10.48.0.1 attacker=10.47.0.250 gateway=10.47.0.254",
		"decnet-lab/1 subnet=10.47.0.0/24 host=banana attacker=10.47.0.250 gateway=10.47.0.254",
		"decnet-lab/1 subnet host=10.47.0.1 attacker=10.47.0.250 gateway=10.47.0.254",
		"decnet-lab/1 " + strings.Repeat("x", 300),
	} {
		if c, err := parseAlias("dnt", alias); err == nil {
			t.Errorf("parseAlias(%q) = %+v, want an error", alias, c)
		}
	}
}

func FuzzParseAlias(f *testing.F) {
	f.Add("decnet-lab/1 subnet=10.47.0.0/24 host=10.47.0.1 attacker=10.47.0.250 gateway=10.47.0.254")
	f.Add("decnet-lab/1 subnet=10.9.9.16/28 host=10.9.9.17 attacker=10.9.9.26 gateway=10.9.9.30")
	f.Add("decnet-lab/1 host=1.2.3.4")
	f.Add("")
	f.Fuzz(func(t *testing.T, alias string) {
		c, err := parseAlias("dnt", alias)
		if err != nil {
			return
		}
		if err := c.Validate(); err != nil {
			t.Fatalf("parseAlias accepted an invalid config %+v: %v", c, err)
		}
		again, err := parseAlias("dnt", encodeAlias(c))
		if err != nil || again != c {
			t.Fatalf("re-encoding %+v does not round trip: %+v, %v", c, again, err)
		}
	})
}

func TestPrefixOf(t *testing.T) {
	tests := []struct {
		in   *net.IPNet
		want string
	}{
		{nil, "invalid Prefix"},
		{&net.IPNet{IP: net.ParseIP("10.47.0.1").To4(), Mask: net.CIDRMask(24, 32)}, "10.47.0.1/24"},
		{&net.IPNet{IP: net.ParseIP("10.47.0.1"), Mask: net.CIDRMask(24, 32)}, "10.47.0.1/24"},
		{&net.IPNet{IP: net.ParseIP("10.47.0.1"), Mask: net.CIDRMask(120, 128)}, "10.47.0.1/24"},
		{&net.IPNet{IP: net.ParseIP("fd00::2"), Mask: net.CIDRMask(64, 128)}, "fd00::2/64"},
		{&net.IPNet{IP: net.ParseIP("fd00::2"), Mask: net.CIDRMask(24, 32)}, "invalid Prefix"},
		{&net.IPNet{IP: net.ParseIP("0.0.0.0").To4(), Mask: net.CIDRMask(0, 32)}, "0.0.0.0/0"},
	}
	for _, tt := range tests {
		if got := prefixOf(tt.in).String(); got != tt.want {
			t.Errorf("prefixOf(%v) = %s, want %s", tt.in, got, tt.want)
		}
	}
}
