package catalog

import (
	"bufio"
	"math/rand/v2"
	"net"
	"os"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"testing"
)

// knownServices are the service slugs archetypes may reference (DECNET's slugs).
var knownServices = map[string]bool{
	"ssh": true, "http": true, "https": true, "smb": true, "rdp": true, "ftp": true,
	"smtp": true, "pop3": true, "imap": true, "mysql": true, "postgres": true,
	"redis": true, "mongodb": true, "elasticsearch": true, "telnet": true, "snmp": true,
	"sip": true, "mqtt": true, "ldap": true, "mssql": true, "vnc": true, "tftp": true,
	"k8s": true, "docker_api": true, "conpot": true, "llmnr": true, "dns": true,
}

func TestArchetypesMatchDECNET(t *testing.T) {
	want := []string{
		"database-server", "deaddeck", "devops-host", "domain-controller", "file-server",
		"industrial-control", "iot-device", "linux-server", "mail-server", "monitoring-node",
		"printer", "voip-server", "web-server", "windows-server", "windows-workstation",
	}
	var got []string
	for _, a := range Archetypes() {
		got = append(got, a.Slug)
	}
	if !slices.Equal(got, want) {
		t.Fatalf("archetypes = %v, want %v", got, want)
	}
	// A few service lists checked against DECNET's archetypes.py.
	for slug, services := range map[string][]string{
		"domain-controller":  {"ldap", "smb", "rdp", "llmnr"},
		"database-server":    {"mysql", "postgres", "redis"},
		"devops-host":        {"docker_api", "ssh", "k8s"},
		"industrial-control": {"conpot", "snmp"},
		"iot-device":         {"mqtt", "snmp", "telnet"},
	} {
		a, ok := LookupArchetype(slug)
		if !ok || !slices.Equal(a.Services, services) {
			t.Errorf("%s services = %v, want %v", slug, a.Services, services)
		}
	}
}

func TestArchetypeReferencesResolve(t *testing.T) {
	for _, a := range Archetypes() {
		if a.Display == "" || a.Description == "" || a.NmapOS == "" {
			t.Errorf("%s: empty display, description or nmap_os", a.Slug)
		}
		if _, ok := LookupOSFamily(a.OSFamily); !ok {
			t.Errorf("%s: unknown OS family %q", a.Slug, a.OSFamily)
		}
		if _, ok := LookupOSFamily(a.NmapOS); !ok {
			t.Errorf("%s: nmap_os %q is not an OS family", a.Slug, a.NmapOS)
		}
		if len(a.Services) == 0 || len(a.Distros) == 0 {
			t.Errorf("%s: no services or no distros", a.Slug)
		}
		for _, s := range a.Services {
			if !knownServices[s] {
				t.Errorf("%s: unknown service slug %q", a.Slug, s)
			}
		}
		for _, d := range a.Distros {
			if _, ok := LookupDistro(d); !ok {
				t.Errorf("%s: unknown distro %q", a.Slug, d)
			}
		}
	}
	if _, ok := LookupArchetype("nope"); ok {
		t.Error("LookupArchetype(nope) succeeded")
	}
}

func TestWindowsArchetypesTellAWindowsStory(t *testing.T) {
	for _, slug := range []string{"windows-workstation", "windows-server", "domain-controller"} {
		a, _ := LookupArchetype(slug)
		for _, ds := range a.Distros {
			d, _ := LookupDistro(ds)
			if d.OSFamily != a.OSFamily {
				t.Errorf("%s: distro %s has family %s, archetype has %s", slug, ds, d.OSFamily, a.OSFamily)
			}
			if d.HTTPServer != "Microsoft-IIS/10.0" {
				t.Errorf("%s: distro %s HTTP server %q", slug, ds, d.HTTPServer)
			}
		}
	}
}

func TestDistrosComplete(t *testing.T) {
	decnetLinux := []string{"alpine", "arch", "centos7", "debian", "fedora", "kali", "rocky9", "ubuntu20", "ubuntu22"}
	for _, s := range decnetLinux {
		d, ok := LookupDistro(s)
		if !ok {
			t.Errorf("DECNET distro %q missing", s)
			continue
		}
		if d.OSFamily != FamilyLinux {
			t.Errorf("%s: family %q, want linux", s, d.OSFamily)
		}
		if !strings.Contains(d.OSRelease, "\nID=") && !strings.HasPrefix(d.OSRelease, "ID=") {
			t.Errorf("%s: os-release has no ID= line", s)
		}
		if !strings.Contains(d.OSRelease, "PRETTY_NAME=") {
			t.Errorf("%s: os-release has no PRETTY_NAME", s)
		}
	}
	styles := map[string]bool{StyleGeneric: true, StyleRHEL: true, StyleMinimal: true, StyleRolling: true,
		StyleWindows: true, StyleWindowsServer: true, StyleBSD: true, StyleCisco: true}
	ds := Distros()
	if !slices.IsSortedFunc(ds, func(a, b Distro) int { return strings.Compare(a.Slug, b.Slug) }) {
		t.Error("Distros() not sorted by slug")
	}
	for _, d := range ds {
		fields := map[string]string{
			"slug": d.Slug, "display": d.Display, "os_family": d.OSFamily, "hostname_style": d.HostnameStyle,
			"kernel": d.Kernel, "kernel_build": d.KernelBuild, "arch": d.Arch, "os_release": d.OSRelease,
			"issue_net": d.IssueNet, "ssh_version": d.SSHVersion, "http_server": d.HTTPServer, "shell": d.Shell,
		}
		for k, v := range fields {
			if strings.TrimSpace(v) == "" {
				t.Errorf("%s: %s is empty", d.Slug, k)
			}
		}
		if _, ok := LookupOSFamily(d.OSFamily); !ok {
			t.Errorf("%s: unknown family %q", d.Slug, d.OSFamily)
		}
		if !styles[d.HostnameStyle] {
			t.Errorf("%s: unknown hostname style %q", d.Slug, d.HostnameStyle)
		}
		// RFC 4253 shape, printable ASCII, no CR/LF (Cisco puts a "-" in the software version).
		if !regexp.MustCompile(`^SSH-2\.0-[!-~]+( [ -~]+)?$`).MatchString(d.SSHVersion) {
			t.Errorf("%s: bad SSH identification %q", d.Slug, d.SSHVersion)
		}
		if !strings.HasSuffix(d.OSRelease, "\n") || !strings.HasSuffix(d.IssueNet, "\n") {
			t.Errorf("%s: os-release and issue.net must end with a newline", d.Slug)
		}
		if strings.Contains(d.IssueNet, `\r`) || strings.Contains(d.IssueNet, `\S`) {
			t.Errorf("%s: issue.net has unexpanded getty escapes: %q", d.Slug, d.IssueNet)
		}
		if strings.Contains(d.IssueNet, "Kernel ") && !strings.Contains(d.IssueNet, "Kernel "+d.Kernel+" on an "+d.Arch) {
			t.Errorf("%s: issue.net kernel does not match uname -r %q", d.Slug, d.Kernel)
		}
	}
	if _, ok := LookupDistro("windows95"); ok {
		t.Error("LookupDistro(windows95) succeeded")
	}
}

func TestDefaultDistroPerFamily(t *testing.T) {
	for _, f := range OSFamilies() {
		d, ok := DefaultDistro(f.Slug)
		if !ok {
			t.Errorf("family %s has no default distro", f.Slug)
			continue
		}
		if f.Slug != FamilyEmbedded && d.OSFamily != f.Slug {
			t.Errorf("family %s default distro %s has family %s", f.Slug, d.Slug, d.OSFamily)
		}
	}
	if _, ok := DefaultDistro("amiga"); ok {
		t.Error("DefaultDistro(amiga) succeeded")
	}
}

func TestFamilySysctls(t *testing.T) {
	tests := []struct {
		family     string
		ttl        int
		timestamps string
		ecn        string
	}{
		{FamilyLinux, 64, "1", "2"},
		{FamilyWindows, 128, "1", "0"},
		{FamilyWindowsServer, 128, "1", "1"},
		{FamilyBSD, 64, "1", "0"},
		{FamilyEmbedded, 255, "0", "0"},
		{FamilyCisco, 255, "0", "0"},
	}
	if len(OSFamilies()) != len(tests) {
		t.Fatalf("%d families, want %d", len(OSFamilies()), len(tests))
	}
	for _, tc := range tests {
		f, ok := LookupOSFamily(tc.family)
		if !ok {
			t.Fatalf("family %s missing", tc.family)
		}
		if f.TTL != tc.ttl || f.Sysctls["net.ipv4.ip_default_ttl"] != strconv.Itoa(tc.ttl) {
			t.Errorf("%s: TTL %d / sysctl %q, want %d", tc.family, f.TTL, f.Sysctls["net.ipv4.ip_default_ttl"], tc.ttl)
		}
		if got := f.Sysctls["net.ipv4.tcp_timestamps"]; got != tc.timestamps {
			t.Errorf("%s: tcp_timestamps %q, want %q", tc.family, got, tc.timestamps)
		}
		if got := f.Sysctls["net.ipv4.tcp_ecn"]; got != tc.ecn {
			t.Errorf("%s: tcp_ecn %q, want %q", tc.family, got, tc.ecn)
		}
		if got := f.Sysctls["net.ipv4.ip_unprivileged_port_start"]; got != "0" {
			t.Errorf("%s: ip_unprivileged_port_start %q, want 0", tc.family, got)
		}
		for k, v := range f.Sysctls {
			if !NamespacedSysctl(k) {
				t.Errorf("%s: sysctl %s is not in the namespaced set", tc.family, k)
			}
			if _, err := strconv.Atoi(v); err != nil {
				t.Errorf("%s: sysctl %s=%q is not an integer", tc.family, k, v)
			}
		}
		for k := range allowedSysctls {
			if _, ok := f.Sysctls[k]; !ok {
				t.Errorf("%s: sysctl %s not set", tc.family, k)
			}
		}
		if f.Display == "" || len(f.Vendors) == 0 {
			t.Errorf("%s: no display or no vendors", tc.family)
		}
	}
	if NamespacedSysctl("net.core.rmem_default") || NamespacedSysctl("kernel.hostname") {
		t.Error("global sysctls reported as namespaced")
	}
}

var dnsLabel = regexp.MustCompile(`^[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

func TestRandomHostname(t *testing.T) {
	patterns := map[string]*regexp.Regexp{
		StyleGeneric:       regexp.MustCompile(`^[a-z]+-[a-z]+-\d\d$`),
		StyleRHEL:          regexp.MustCompile(`^[a-z]+\d\d$`),
		StyleMinimal:       regexp.MustCompile(`^[a-z]+-\d\d$`),
		StyleRolling:       regexp.MustCompile(`^[a-z]+-[a-z]+$`),
		StyleWindows:       regexp.MustCompile(`^DESKTOP-[A-Z0-9]{7}$`),
		StyleWindowsServer: regexp.MustCompile(`^WIN-[A-Z0-9]{11}$`),
		StyleBSD:           regexp.MustCompile(`^[a-z]+-\d\d$`),
		StyleCisco:         regexp.MustCompile(`^[A-Z]+-[A-Z0-9]+-\d\d$`),
	}
	r := rand.New(rand.NewPCG(1, 2))
	for _, d := range Distros() {
		seen := map[string]bool{}
		for range 300 {
			h := RandomHostname(d, r)
			if !dnsLabel.MatchString(h) || len(h) > 15 {
				t.Fatalf("%s: hostname %q is not a DNS label of at most 15 characters", d.Slug, h)
			}
			if !patterns[d.HostnameStyle].MatchString(h) {
				t.Fatalf("%s: hostname %q does not match style %s", d.Slug, h, d.HostnameStyle)
			}
			seen[h] = true
		}
		if len(seen) < 20 {
			t.Errorf("%s: only %d distinct hostnames in 300 draws", d.Slug, len(seen))
		}
	}
	if h := RandomHostname(Distro{}, r); !patterns[StyleGeneric].MatchString(h) {
		t.Errorf("unknown style gave %q, want the generic style", h)
	}
}

var macRe = regexp.MustCompile(`^[0-9a-f]{2}(:[0-9a-f]{2}){5}$`)

func checkMAC(t *testing.T, mac string, vendors []Vendor) {
	t.Helper()
	if !macRe.MatchString(mac) {
		t.Fatalf("MAC %q is not lowercase aa:bb:cc:dd:ee:ff", mac)
	}
	hw, _ := net.ParseMAC(mac)
	if hw[0]&1 != 0 {
		t.Fatalf("MAC %s is multicast", mac)
	}
	if hw[0]&2 != 0 {
		t.Fatalf("MAC %s is locally administered", mac)
	}
	if strings.HasPrefix(mac, "02:42") {
		t.Fatalf("MAC %s has Docker's prefix", mac)
	}
	found := ""
	for _, v := range vendors {
		if slices.Contains(v.OUIs, mac[:8]) {
			found = v.Name
		}
	}
	if found == "" {
		t.Fatalf("MAC %s is not from the expected vendors", mac)
	}
	if name, ok := VendorOf(mac); !ok || name != found {
		t.Fatalf("VendorOf(%s) = %q, %v, want %q", mac, name, ok, found)
	}
}

func TestRandomMAC(t *testing.T) {
	r := rand.New(rand.NewPCG(7, 7))
	for _, f := range OSFamilies() {
		seen := map[string]bool{}
		for range 300 {
			mac := RandomMAC(f, r)
			checkMAC(t, mac, f.Vendors)
			seen[mac[:8]] = true
		}
		if len(seen) < 2 && f.Slug != FamilyCisco {
			t.Errorf("%s: only %d OUIs used in 300 draws", f.Slug, len(seen))
		}
	}
	linux, _ := LookupOSFamily(FamilyLinux)
	checkMAC(t, RandomMAC(OSFamily{}, r), linux.Vendors)
}

func TestRandomArchetypeMAC(t *testing.T) {
	r := rand.New(rand.NewPCG(3, 4))
	for _, a := range Archetypes() {
		vs := ArchetypeVendors(a)
		if len(vs) == 0 {
			t.Fatalf("%s: no vendors", a.Slug)
		}
		for range 50 {
			checkMAC(t, RandomArchetypeMAC(a, r), vs)
		}
	}
	p, _ := LookupArchetype("printer")
	for _, v := range ArchetypeVendors(p) {
		if v.Name == "Dell" || v.Name == "VMware" {
			t.Errorf("printer vendors include %s", v.Name)
		}
	}
}

func TestVendorOf(t *testing.T) {
	tests := []struct {
		mac  string
		want string
		ok   bool
	}{
		{"00:50:56:aa:bb:cc", "VMware", true},
		{"00-50-56-AA-BB-CC", "VMware", true},
		{"b8:27:eb:01:02:03", "Raspberry Pi", true},
		{"00:80:77:10:20:30", "Brother Industries", true},
		{"02:42:ac:11:00:02", "", false},
		{"ff:ff:ff:ff:ff:ff", "", false},
		{"not a mac", "", false},
		{"00:50:56:aa:bb", "", false},
		{"00:00:00:00:fe:80:00:00:00:00:00:00:00:00:00:01:00:50:56:aa", "", false},
	}
	for _, tc := range tests {
		got, ok := VendorOf(tc.mac)
		if got != tc.want || ok != tc.ok {
			t.Errorf("VendorOf(%q) = %q, %v, want %q, %v", tc.mac, got, ok, tc.want, tc.ok)
		}
	}
}

func TestOUIsConsistent(t *testing.T) {
	owner := map[string]string{}
	var all [][]Vendor
	for _, f := range OSFamilies() {
		all = append(all, f.Vendors)
	}
	for _, vs := range archetypeVendors {
		all = append(all, vs)
	}
	for _, vs := range all {
		for _, v := range vs {
			for _, o := range v.OUIs {
				hw, err := net.ParseMAC(o + ":00:00:00")
				if err != nil || hw[0]&3 != 0 || o != strings.ToLower(o) {
					t.Errorf("%s OUI %q is not a lowercase unicast global OUI", v.Name, o)
				}
				if prev, ok := owner[o]; ok && prev != v.Name {
					t.Errorf("OUI %s belongs to both %s and %s", o, prev, v.Name)
				}
				owner[o] = v.Name
			}
		}
	}
}

// TestOUIsInIEEERegistry checks every OUI against the IEEE registry as shipped in
// nmap's nmap-mac-prefixes, and that the registered owner is the vendor we name.
func TestOUIsInIEEERegistry(t *testing.T) {
	const path = "/usr/share/nmap/nmap-mac-prefixes"
	f, err := os.Open(path)
	if err != nil {
		if os.Getenv("DECNET_FULL_SUITE") == "1" {
			t.Fatalf("need %s (Debian package nmap): %v", path, err)
		}
		t.Skipf("skipping: %s not available (install Debian package nmap): %v", path, err)
	}
	defer f.Close()
	registry := map[string]string{}
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		if len(line) < 8 || line[0] == '#' {
			continue
		}
		registry[strings.ToLower(line[:6])] = strings.ToLower(line[7:])
	}
	if err := sc.Err(); err != nil {
		t.Fatal(err)
	}
	for oui, vendor := range ouiVendor {
		reg, ok := registry[strings.ReplaceAll(oui, ":", "")]
		if !ok {
			t.Errorf("OUI %s (%s) is not in the IEEE registry", oui, vendor)
			continue
		}
		word := strings.ToLower(strings.Fields(vendor)[0])
		if !strings.Contains(reg, word) {
			t.Errorf("OUI %s: we say %q, the registry says %q", oui, vendor, reg)
		}
	}
}

func TestDeterministicWithSeed(t *testing.T) {
	run := func() []string {
		r := rand.New(rand.NewPCG(42, 99))
		var out []string
		fams := OSFamilies()
		for _, d := range Distros() {
			out = append(out, RandomHostname(d, r))
		}
		for _, f := range fams {
			out = append(out, RandomMAC(f, r))
		}
		for _, a := range Archetypes() {
			out = append(out, RandomArchetypeMAC(a, r))
		}
		return out
	}
	a, b := run(), run()
	if !slices.Equal(a, b) {
		t.Fatalf("same seed gave different results:\n%v\n%v", a, b)
	}
}

func TestLookupsReturnCopies(t *testing.T) {
	a, _ := LookupArchetype("printer")
	a.Services[0] = "mutated"
	a.Distros[0] = "mutated"
	b, _ := LookupArchetype("printer")
	if b.Services[0] == "mutated" || b.Distros[0] == "mutated" {
		t.Fatal("LookupArchetype exposes internal slices")
	}
	f, _ := LookupOSFamily(FamilyLinux)
	f.Sysctls["net.ipv4.ip_default_ttl"] = "1"
	f.Vendors[0].OUIs[0] = "02:42:ac"
	g, _ := LookupOSFamily(FamilyLinux)
	if g.Sysctls["net.ipv4.ip_default_ttl"] != "64" || g.Vendors[0].OUIs[0] == "02:42:ac" {
		t.Fatal("LookupOSFamily exposes internal maps or slices")
	}
	all := Archetypes()
	all[0].Services[0] = "mutated"
	if Archetypes()[0].Services[0] == "mutated" {
		t.Fatal("Archetypes exposes internal slices")
	}
}
