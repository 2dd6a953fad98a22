package ipplan

import (
	"net/netip"
	"slices"
	"strings"
	"testing"
)

func addrs(ss ...string) []netip.Addr {
	out := make([]netip.Addr, len(ss))
	for i, s := range ss {
		out[i] = netip.MustParseAddr(s)
	}
	return out
}

func TestCoveringPrefix(t *testing.T) {
	tests := []struct {
		name    string
		ips     []string
		want    string
		wantErr string
	}{
		{"single", []string{"192.168.1.10"}, "192.168.1.10/32", ""},
		{"pair adjacent aligned", []string{"192.168.1.10", "192.168.1.11"}, "192.168.1.10/31", ""},
		{"pair adjacent unaligned", []string{"192.168.1.11", "192.168.1.12"}, "192.168.1.8/29", ""},
		{"decnet range", []string{"192.168.1.110", "192.168.1.111", "192.168.1.112", "192.168.1.113"}, "192.168.1.96/27", ""},
		{"order does not matter", []string{"10.0.0.200", "10.0.0.3", "10.0.0.77"}, "10.0.0.0/24", ""},
		{"duplicates", []string{"10.0.0.5", "10.0.0.5"}, "10.0.0.5/32", ""},
		{"across octets", []string{"10.0.0.255", "10.0.1.0"}, "10.0.0.0/23", ""},
		{"whole space", []string{"0.0.0.0", "255.255.255.255"}, "0.0.0.0/0", ""},
		{"ipv4-mapped counts as ipv4", []string{"::ffff:10.1.2.3", "10.1.2.4"}, "10.1.2.0/29", ""},
		{"ipv6", []string{"2001:db8::10", "2001:db8::1f"}, "2001:db8::10/124", ""},
		{"ipv6 high half", []string{"2001:db8::1", "2001:db9::1"}, "2001:db8::/31", ""},
		{"ipv6 low half", []string{"fd00::1:0:0:1", "fd00::1:0:0:2"}, "fd00::1:0:0:0/126", ""},
		{"empty", nil, "", "no IP addresses"},
		{"mixed families", []string{"10.0.0.1", "2001:db8::1"}, "", "different IP families"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := CoveringPrefix(addrs(tc.ips...))
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if got != netip.MustParsePrefix(tc.want) {
				t.Fatalf("got %s, want %s", got, tc.want)
			}
		})
	}
	if _, err := CoveringPrefix([]netip.Addr{{}}); err == nil {
		t.Error("an invalid address was covered")
	}
}

func TestAllocate(t *testing.T) {
	subnet := netip.MustParsePrefix("192.168.1.0/24")
	tests := []struct {
		name    string
		plan    Plan
		n       int
		want    []string
		wantErr string
	}{
		{
			name: "skips network gateway host",
			plan: Plan{Subnet: subnet, Gateway: netip.MustParseAddr("192.168.1.1"), Host: netip.MustParseAddr("192.168.1.3")},
			n:    3, want: []string{"192.168.1.2", "192.168.1.4", "192.168.1.5"},
		},
		{
			name: "starts at start",
			plan: Plan{Subnet: subnet, Gateway: netip.MustParseAddr("192.168.1.1"), Start: netip.MustParseAddr("192.168.1.110")},
			n:    2, want: []string{"192.168.1.110", "192.168.1.111"},
		},
		{
			name: "skips reserved and in use",
			plan: Plan{
				Subnet: subnet, Start: netip.MustParseAddr("192.168.1.100"),
				Reserved: addrs("192.168.1.100", "192.168.1.102"),
				InUse:    func(a netip.Addr) bool { return a == netip.MustParseAddr("192.168.1.101") },
			},
			n: 2, want: []string{"192.168.1.103", "192.168.1.104"},
		},
		{
			name: "never the broadcast",
			plan: Plan{Subnet: subnet, Start: netip.MustParseAddr("192.168.1.253")},
			n:    3, wantErr: "has only 2 free addresses from 192.168.1.253 on, but 3 are needed",
		},
		{
			name: "last addresses",
			plan: Plan{Subnet: subnet, Start: netip.MustParseAddr("192.168.1.253")},
			n:    2, want: []string{"192.168.1.253", "192.168.1.254"},
		},
		{
			name: "subnet written with host bits",
			plan: Plan{Subnet: netip.MustParsePrefix("10.9.0.77/29")},
			n:    6, want: []string{"10.9.0.73", "10.9.0.74", "10.9.0.75", "10.9.0.76", "10.9.0.77", "10.9.0.78"},
		},
		{
			name: "full small subnet",
			plan: Plan{Subnet: netip.MustParsePrefix("10.9.0.0/30"), Gateway: netip.MustParseAddr("10.9.0.1"), Host: netip.MustParseAddr("10.9.0.2")},
			n:    1, wantErr: "has only 0 free addresses",
		},
		{
			name: "slash 31 uses both",
			plan: Plan{Subnet: netip.MustParsePrefix("10.9.0.0/31")},
			n:    2, want: []string{"10.9.0.0", "10.9.0.1"},
		},
		{
			name: "everything answers ARP",
			plan: Plan{Subnet: netip.MustParsePrefix("10.9.0.0/28"), InUse: func(netip.Addr) bool { return true }},
			n:    1, wantErr: "has only 0 free addresses",
		},
		{
			name: "start outside subnet",
			plan: Plan{Subnet: subnet, Start: netip.MustParseAddr("10.0.0.5")},
			n:    1, wantErr: "start address 10.0.0.5 is outside the subnet 192.168.1.0/24",
		},
		{
			name: "start on network address",
			plan: Plan{Subnet: subnet, Start: netip.MustParseAddr("192.168.1.0")},
			n:    1, wantErr: "not an assignable address",
		},
		{
			name: "no subnet",
			plan: Plan{},
			n:    1, wantErr: "subnet is not set",
		},
		{
			name: "negative",
			plan: Plan{Subnet: subnet},
			n:    -1, wantErr: "negative",
		},
		{
			name: "zero",
			plan: Plan{Subnet: subnet},
			n:    0, want: nil,
		},
		{
			name: "ipv6",
			plan: Plan{Subnet: netip.MustParsePrefix("fd00:dead::/64"), Gateway: netip.MustParseAddr("fd00:dead::1")},
			n:    2, want: []string{"fd00:dead::2", "fd00:dead::3"},
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, err := tc.plan.Allocate(tc.n)
			if tc.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tc.wantErr) {
					t.Fatalf("err = %v, want one containing %q", err, tc.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, addrs(tc.want...)) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestAllocateAsksInUseOnlyForCandidates(t *testing.T) {
	var asked []netip.Addr
	p := Plan{
		Subnet: netip.MustParsePrefix("10.0.0.0/29"), Gateway: netip.MustParseAddr("10.0.0.1"),
		Reserved: addrs("10.0.0.2"),
		InUse:    func(a netip.Addr) bool { asked = append(asked, a); return false },
	}
	if _, err := p.Allocate(2); err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(asked, addrs("10.0.0.3", "10.0.0.4")) {
		t.Fatalf("InUse asked about %v", asked)
	}
}

func TestCheckExplicit(t *testing.T) {
	p := Plan{
		Subnet:  netip.MustParsePrefix("192.168.1.0/24"),
		Gateway: netip.MustParseAddr("192.168.1.1"),
		Host:    netip.MustParseAddr("192.168.1.5"),
	}
	tests := []struct {
		ip      string
		wantErr string
	}{
		{"192.168.1.10", ""},
		{"192.168.1.254", ""},
		{"::ffff:192.168.1.11", ""},
		{"192.168.1.1", "192.168.1.1 is the gateway"},
		{"192.168.1.5", "192.168.1.5 is this host's own address"},
		{"192.168.1.0", "192.168.1.0 is the network address of 192.168.1.0/24"},
		{"192.168.1.255", "192.168.1.255 is the broadcast address of 192.168.1.0/24"},
		{"192.168.2.10", "192.168.2.10 is outside the subnet 192.168.1.0/24"},
		{"2001:db8::1", "2001:db8::1 is outside the subnet 192.168.1.0/24"},
	}
	for _, tc := range tests {
		err := p.CheckExplicit(netip.MustParseAddr(tc.ip))
		switch {
		case tc.wantErr == "" && err != nil:
			t.Errorf("%s: unexpected error %v", tc.ip, err)
		case tc.wantErr != "" && (err == nil || err.Error() != tc.wantErr):
			t.Errorf("%s: err = %v, want %q", tc.ip, err, tc.wantErr)
		}
	}
	if err := p.CheckExplicit(netip.Addr{}); err == nil {
		t.Error("empty address accepted")
	}
	if err := (Plan{}).CheckExplicit(netip.MustParseAddr("10.0.0.1")); err == nil {
		t.Error("address accepted without a subnet")
	}
}

func TestDuplicates(t *testing.T) {
	tests := []struct {
		in   []string
		want []string
	}{
		{nil, nil},
		{[]string{"10.0.0.1", "10.0.0.2"}, nil},
		{[]string{"10.0.0.1", "10.0.0.2", "10.0.0.1", "10.0.0.1"}, []string{"10.0.0.1"}},
		{[]string{"10.0.0.3", "10.0.0.2", "10.0.0.2", "10.0.0.3"}, []string{"10.0.0.2", "10.0.0.3"}},
		{[]string{"10.0.0.1", "::ffff:10.0.0.1"}, []string{"10.0.0.1"}},
	}
	for _, tc := range tests {
		got := Duplicates(addrs(tc.in...))
		if !slices.Equal(got, addrs(tc.want...)) {
			t.Errorf("Duplicates(%v) = %v, want %v", tc.in, got, tc.want)
		}
	}
}
