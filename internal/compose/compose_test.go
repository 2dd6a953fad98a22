package compose

import (
	"bytes"
	"flag"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"decnet/internal/fleet"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata")

func testFleet(driver fleet.Driver) *fleet.Fleet {
	return &fleet.Fleet{
		Interface: "dnt-lab0",
		Subnet:    netip.MustParsePrefix("192.168.77.0/24"),
		Gateway:   netip.MustParseAddr("192.168.77.1"),
		HostIP:    netip.MustParseAddr("192.168.77.2"),
		IPRange:   netip.MustParsePrefix("192.168.77.16/29"),
		Driver:    driver,
		Deckies: []fleet.Decky{
			{
				Name: "decky-01", Hostname: "WS-FINANCE-07", IP: netip.MustParseAddr("192.168.77.17"),
				MAC: "00:1b:21:3a:4c:01", Distro: "windows-10", OSFamily: "windows",
				Sysctls: map[string]string{
					"net.ipv4.ip_default_ttl":             "128",
					"net.ipv4.ip_unprivileged_port_start": "0",
					"net.ipv4.tcp_timestamps":             "0",
				},
				Services: []fleet.Service{
					{Name: "smb", Persona: map[string]string{"workgroup": "CORP"}},
					{Name: "rdp"},
				},
			},
			{
				Name: "decky-02", Hostname: "web-prod-2", IP: netip.MustParseAddr("192.168.77.18"),
				MAC: "52:54:00:12:34:02", Distro: "debian-12", OSFamily: "linux",
				Sysctls: map[string]string{"net.ipv4.ip_default_ttl": "64", "net.ipv4.ip_unprivileged_port_start": "0"},
				Services: []fleet.Service{
					{Name: "ssh", Persona: map[string]string{"banner": "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3"}},
					{Name: "http"},
				},
				Secrets: map[string]map[string]string{"ssh": {"host_key": "-----BEGIN OPENSSH PRIVATE KEY-----\nAAAA\n"}},
			},
			{
				Name: "decky-03", Hostname: "nas01", IP: netip.MustParseAddr("192.168.77.19"),
				MAC: "00:11:32:aa:bb:03", Distro: "dsm-7", OSFamily: "linux",
				Sysctls: map[string]string{"net.ipv4.ip_unprivileged_port_start": "0"},
				Services: []fleet.Service{
					{Name: "ftp"},
					{Name: "wiki", Custom: &fleet.Custom{
						Image: "localhost/acme/wiki:1.4",
						Exec:  []string{"/usr/bin/wiki", "--listen", ":8080"},
						Ports: []fleet.Port{{Number: 8080, Proto: "tcp"}},
					}},
				},
			},
		},
	}
}

var testOptions = Options{Image: "decnet/service:0123456789ab", StateDir: "/var/lib/decnet"}

func TestGolden(t *testing.T) {
	cases := []struct {
		name   string
		driver fleet.Driver
		opts   Options
	}{
		{"macvlan", fleet.Macvlan, testOptions},
		{"ipvlan", fleet.IPvlan, Options{Project: "dnt-lab", Image: "decnet/service:ba9876543210", StateDir: "/srv/decnet/", HairpinLink: "dnt_hp0"}},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			p, err := Build(testFleet(tc.driver), tc.opts)
			if err != nil {
				t.Fatal(err)
			}
			got, err := p.YAML()
			if err != nil {
				t.Fatal(err)
			}
			again, _ := p.YAML()
			if !bytes.Equal(got, again) {
				t.Fatal("YAML output is not deterministic")
			}
			golden := filepath.Join("testdata", tc.name+".golden")
			if *update {
				if err := os.WriteFile(golden, got, 0o644); err != nil {
					t.Fatal(err)
				}
			}
			want, err := os.ReadFile(golden)
			if err != nil {
				t.Fatalf("%v (run go test -update to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("compose file differs from %s (run go test -update after checking the diff):\n%s", golden, got)
			}
		})
	}
}

func TestModel(t *testing.T) {
	p, err := Build(testFleet(fleet.Macvlan), testOptions)
	if err != nil {
		t.Fatal(err)
	}
	if p.Name != "decnet" || p.Network.Name != "decnet_lan" || p.Hairpin.Link != "decnet_macvlan0" {
		t.Fatalf("defaults: project %q network %q hairpin %q", p.Name, p.Network.Name, p.Hairpin.Link)
	}
	if p.Hairpin.HostIP != "192.168.77.2" || p.Hairpin.Route != "192.168.77.16/29" || p.Hairpin.Parent != "dnt-lab0" {
		t.Fatalf("hairpin %+v", p.Hairpin)
	}
	if got := len(p.Containers()); got != 3+6 {
		t.Fatalf("containers: got %d, want 9", got)
	}
	base := p.Deckies[1].Base
	if base.ContainerName != "decnet-decky-02" || base.IPv4Address != "192.168.77.18" || base.MACAddress != "52:54:00:12:34:02" ||
		base.Hostname != "web-prod-2" || base.Command[0] != "hold" || base.User != Unprivileged || !base.ReadOnly {
		t.Fatalf("base container %+v", base)
	}
	ssh := p.Deckies[1].Services[0]
	if ssh.NetworkOf != "decky-02" || ssh.ContainerName != "decnet-decky-02-ssh" ||
		strings.Join(ssh.Command, " ") != "serve ssh --config /decnet/config/ssh.json" ||
		ssh.Mounts[0].Source != "/var/lib/decnet/deckies/decky-02/config" || !ssh.Mounts[0].ReadOnly ||
		ssh.Mounts[1].Source != "/var/lib/decnet/artifacts/decky-02" || ssh.Mounts[1].ReadOnly {
		t.Fatalf("service container %+v", ssh)
	}
	byos := p.Deckies[2].Services[1]
	if !byos.Custom || byos.Image != "localhost/acme/wiki:1.4" || byos.User != "" || byos.ReadOnly ||
		len(byos.Mounts) != 0 || byos.CapDrop[0] != "ALL" || byos.SecurityOpt[0] != "no-new-privileges:true" {
		t.Fatalf("byos container %+v", byos)
	}
	for _, c := range p.Containers() {
		if len(c.Hash()) != 64 || c.Labels[LabelProject] != "decnet" || c.Labels[LabelDecky] != c.Decky || c.Labels[LabelRole] != c.Role {
			t.Errorf("%s labels %v", c.ContainerName, c.Labels)
		}
	}
}

// TestHash checks the hash changes exactly when what a container runs with changes.
func TestHash(t *testing.T) {
	ref, err := Build(testFleet(fleet.Macvlan), testOptions)
	if err != nil {
		t.Fatal(err)
	}
	hashes := func(p *Project) map[string]string {
		m := map[string]string{}
		for _, c := range p.Containers() {
			m[c.ContainerName] = c.Hash()
		}
		return m
	}
	want := hashes(ref)
	cases := []struct {
		name    string
		mutate  func(f *fleet.Fleet)
		changed []string
	}{
		{"nothing", func(f *fleet.Fleet) {}, nil},
		{"hostname", func(f *fleet.Fleet) { f.Deckies[0].Hostname = "WS-HR-01" },
			[]string{"decnet-decky-01", "decnet-decky-01-smb", "decnet-decky-01-rdp"}},
		{"sysctl", func(f *fleet.Fleet) { f.Deckies[1].Sysctls["net.ipv4.ip_default_ttl"] = "255" },
			[]string{"decnet-decky-02", "decnet-decky-02-ssh", "decnet-decky-02-http"}},
		{"persona", func(f *fleet.Fleet) { f.Deckies[1].Services[0].Persona["banner"] = "SSH-2.0-OpenSSH_8.4" },
			[]string{"decnet-decky-02-ssh"}},
		{"secret", func(f *fleet.Fleet) { f.Deckies[1].Secrets["ssh"]["host_key"] = "other" },
			[]string{"decnet-decky-02-ssh"}},
		{"byos exec", func(f *fleet.Fleet) { f.Deckies[2].Services[1].Custom.Exec = nil },
			[]string{"decnet-decky-03-wiki"}},
		{"other decky added", func(f *fleet.Fleet) {
			f.Deckies = append(f.Deckies, fleet.Decky{Name: "decky-04", IP: netip.MustParseAddr("192.168.77.20"), MAC: "00:11:32:aa:bb:04"})
		}, nil},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f := testFleet(fleet.Macvlan)
			tc.mutate(f)
			p, err := Build(f, testOptions)
			if err != nil {
				t.Fatal(err)
			}
			got := hashes(p)
			changed := map[string]bool{}
			for _, n := range tc.changed {
				changed[n] = true
			}
			for name, h := range want {
				if (got[name] != h) != changed[name] {
					t.Errorf("%s: hash changed=%v, want changed=%v", name, got[name] != h, changed[name])
				}
			}
		})
	}
}

func TestBuildErrors(t *testing.T) {
	cases := []struct {
		name   string
		mutate func(f *fleet.Fleet, o *Options)
		want   string
	}{
		{"relative state dir", func(f *fleet.Fleet, o *Options) { o.StateDir = "state" }, "absolute"},
		{"no image", func(f *fleet.Fleet, o *Options) { o.Image = "" }, "image"},
		{"bad project", func(f *fleet.Fleet, o *Options) { o.Project = "My Fleet" }, "project name"},
		{"bad driver", func(f *fleet.Fleet, o *Options) { f.Driver = "bridge" }, "driver"},
		{"no interface", func(f *fleet.Fleet, o *Options) { f.Interface = "" }, "parent interface"},
		{"range outside subnet", func(f *fleet.Fleet, o *Options) { f.IPRange = netip.MustParsePrefix("10.0.0.0/29") }, "IP range"},
		{"gateway outside", func(f *fleet.Fleet, o *Options) { f.Gateway = netip.MustParseAddr("10.0.0.1") }, "gateway"},
		{"host outside", func(f *fleet.Fleet, o *Options) { f.HostIP = netip.Addr{} }, "host address"},
		{"ip outside range", func(f *fleet.Fleet, o *Options) { f.Deckies[0].IP = netip.MustParseAddr("192.168.77.100") }, "not inside the IP range"},
		{"duplicate ip", func(f *fleet.Fleet, o *Options) { f.Deckies[1].IP = f.Deckies[0].IP }, "share the address"},
		{"bad mac", func(f *fleet.Fleet, o *Options) { f.Deckies[0].MAC = "00:1B:21:3A:4C:01" }, "MAC"},
		{"bad decky name", func(f *fleet.Fleet, o *Options) { f.Deckies[0].Name = "decky 01" }, "decky name"},
		{"duplicate decky", func(f *fleet.Fleet, o *Options) { f.Deckies[1].Name = "decky-01" }, "would both be named"},
		{"name clash", func(f *fleet.Fleet, o *Options) { f.Deckies[1].Name = "decky-01-smb" }, "would both be named"},
		{"duplicate service", func(f *fleet.Fleet, o *Options) { f.Deckies[0].Services[1].Name = "smb" }, "twice"},
		{"byos without image", func(f *fleet.Fleet, o *Options) { f.Deckies[2].Services[1].Custom.Image = "" }, "no image"},
		{"long hairpin", func(f *fleet.Fleet, o *Options) { o.HairpinLink = "a-very-long-link-name" }, "hairpin"},
		{"no deckies", func(f *fleet.Fleet, o *Options) { f.Deckies = nil }, "no deckies"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			f, o := testFleet(fleet.Macvlan), testOptions
			tc.mutate(f, &o)
			_, err := Build(f, o)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got error %v, want one containing %q", err, tc.want)
			}
		})
	}
}

// TestDockerComposeConfig has Debian's docker-compose validate the rendered files.
func TestDockerComposeConfig(t *testing.T) {
	bin, err := exec.LookPath("docker-compose")
	if err != nil {
		if os.Getenv("DECNET_FULL_SUITE") == "1" {
			t.Fatal("docker-compose is not installed (apt-get install docker-compose)")
		}
		t.Skip("docker-compose is not installed; skipping the compose file validation")
	}
	for _, driver := range []fleet.Driver{fleet.Macvlan, fleet.IPvlan} {
		p, err := Build(testFleet(driver), testOptions)
		if err != nil {
			t.Fatal(err)
		}
		y, err := p.YAML()
		if err != nil {
			t.Fatal(err)
		}
		file := filepath.Join(t.TempDir(), "docker-compose.yml")
		if err := os.WriteFile(file, y, 0o644); err != nil {
			t.Fatal(err)
		}
		cmd := exec.Command(bin, "-p", p.Name, "-f", file, "config", "-q")
		cmd.Env = append(os.Environ(), "DOCKER_HOST=unix:///nonexistent.sock")
		if out, err := cmd.CombinedOutput(); err != nil {
			t.Fatalf("docker-compose config rejected the %s file: %v\n%s\n%s", driver, err, out, y)
		}
	}
}
