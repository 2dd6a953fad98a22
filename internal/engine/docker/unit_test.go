package docker

import (
	"archive/tar"
	"bytes"
	"io"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/docker/docker/api/types/network"

	"decnet/internal/compose"
	"decnet/internal/fleet"
)

// buildStub compiles the test stand-in for the decnet binary (static, CGO_ENABLED=0).
func buildStub(t *testing.T) string {
	t.Helper()
	out := filepath.Join(t.TempDir(), "decnet")
	cmd := exec.Command("go", "build", "-o", out, "./testdata/decnetstub")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("building the stub binary: %v\n%s", err, b)
	}
	return out
}

func TestCheckStatic(t *testing.T) {
	stub, err := os.ReadFile(buildStub(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := CheckStatic("stub", stub); err != nil {
		t.Fatalf("static binary rejected: %v", err)
	}
	if err := CheckStatic("text", []byte("#!/bin/sh\necho hi\n")); err == nil || !strings.Contains(err.Error(), "not an ELF") {
		t.Fatalf("script: %v", err)
	}
	if err := CheckStatic("truncated", stub[:200]); err == nil {
		t.Fatal("truncated ELF accepted")
	}
	// A dynamically linked system binary: Debian's /bin/ls always is.
	ls, err := os.ReadFile("/bin/ls")
	if err != nil {
		t.Skipf("no /bin/ls to test a dynamic binary: %v", err)
	}
	if err := CheckStatic("/bin/ls", ls); err == nil || !strings.Contains(err.Error(), "CGO_ENABLED=0") || !strings.Contains(err.Error(), "ld-linux") {
		t.Fatalf("dynamic binary: %v", err)
	}
}

func TestImageTagAndContext(t *testing.T) {
	bin := []byte("\x7fELF not really")
	tag := ImageTag(bin)
	if !strings.HasPrefix(tag, "decnet/service:") || len(tag) != len("decnet/service:")+12 || ImageTag(bin) != tag || ImageTag(append(bin, 0)) == tag {
		t.Fatalf("tag %q", tag)
	}
	ctx, err := buildContext(bin)
	if err != nil {
		t.Fatal(err)
	}
	tr := tar.NewReader(bytes.NewReader(ctx))
	files := map[string][]byte{}
	modes := map[string]int64{}
	for {
		h, err := tr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		b, _ := io.ReadAll(tr)
		files[h.Name], modes[h.Name] = b, h.Mode
	}
	if string(files["Dockerfile"]) != Dockerfile || !bytes.Equal(files["decnet"], bin) || modes["decnet"] != 0o755 || len(files) != 2 {
		t.Fatalf("build context: %q modes %v", files, modes)
	}
	if !strings.Contains(Dockerfile, "FROM scratch") || !strings.Contains(Dockerfile, "USER 65534:65534") {
		t.Fatal("Dockerfile lost its scratch base or unprivileged user")
	}
}

func TestBuildResult(t *testing.T) {
	cases := []struct {
		name, stream, want string
	}{
		{"success", `{"stream":"Step 1/4 : FROM scratch\n"}{"stream":"Successfully built abc\n"}`, ""},
		{"error detail", `{"stream":"Step 1/4"}{"errorDetail":{"message":"COPY failed: no such file"},"error":"COPY failed"}`, "COPY failed: no such file"},
		{"error only", `{"error":"pull access denied"}`, "pull access denied"},
		{"garbage", `{"stream":"Step 1"}not json`, "cannot read the build output"},
		{"empty", ``, ""},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			err := buildResult(strings.NewReader(tc.stream))
			if tc.want == "" {
				if err != nil {
					t.Fatal(err)
				}
				return
			}
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("got %v, want %q", err, tc.want)
			}
		})
	}
}

func unitProject(t *testing.T, driver fleet.Driver) *compose.Project {
	t.Helper()
	f := &fleet.Fleet{
		Interface: "dnt-unit0", Driver: driver,
		Subnet: netip.MustParsePrefix("10.9.0.0/24"), Gateway: netip.MustParseAddr("10.9.0.254"),
		HostIP: netip.MustParseAddr("10.9.0.1"), IPRange: netip.MustParsePrefix("10.9.0.16/28"),
		Deckies: []fleet.Decky{{Name: "d1", Hostname: "h1", IP: netip.MustParseAddr("10.9.0.17"), MAC: "00:1b:21:00:00:01",
			Sysctls:  map[string]string{"net.ipv4.ip_default_ttl": "128"},
			Services: []fleet.Service{{Name: "ssh"}, {Name: "x", Custom: &fleet.Custom{Image: "acme/x:1", Exec: []string{"run"}}}}}},
	}
	p, err := compose.Build(f, compose.Options{Project: "dnt-unit", Image: "decnet/service:000000000000", StateDir: "/var/lib/dnt-unit"})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

func TestContainerSpec(t *testing.T) {
	p := unitProject(t, fleet.Macvlan)
	d := &p.Deckies[0]
	for _, api := range []string{"1.41", "1.44", "1.47"} {
		cfg, host, netCfg := containerSpec(p, &d.Base, "", api)
		ep := netCfg.EndpointsConfig["dnt-unit_lan"]
		if ep == nil || ep.IPAMConfig.IPv4Address != "10.9.0.17" || string(host.NetworkMode) != "dnt-unit_lan" {
			t.Fatalf("API %s: base network %+v %v", api, ep, host.NetworkMode)
		}
		old := api == "1.41"
		//nolint:staticcheck // the field API 1.41 needs
		if (cfg.MacAddress == "00:1b:21:00:00:01") != old || (ep.MacAddress == "00:1b:21:00:00:01") == old {
			t.Fatalf("API %s: MAC in config %q, in endpoint %q", api, cfg.MacAddress, ep.MacAddress)
		}
		if cfg.User != "65534:65534" || cfg.Hostname != "h1" || !host.ReadonlyRootfs || host.Sysctls["net.ipv4.ip_default_ttl"] != "128" ||
			*host.Resources.PidsLimit != compose.BasePidsLimit || host.Resources.Memory != compose.BaseMemLimit ||
			host.RestartPolicy.Name != "unless-stopped" || host.CapDrop[0] != "ALL" || host.SecurityOpt[0] != "no-new-privileges:true" ||
			cfg.Labels[compose.LabelHash] == "" {
			t.Fatalf("API %s: base spec %+v %+v", api, cfg, host)
		}
	}
	cfg, host, netCfg := containerSpec(p, &d.Services[0], "abc123", "1.41")
	if netCfg != nil || string(host.NetworkMode) != "container:abc123" || cfg.Hostname != "" || cfg.MacAddress != "" || //nolint:staticcheck
		strings.Join(cfg.Cmd, " ") != "serve ssh --config /decnet/config/ssh.json" || len(host.Mounts) != 2 ||
		!host.Mounts[0].ReadOnly || host.Mounts[1].ReadOnly || host.Mounts[1].Source != "/var/lib/dnt-unit/artifacts/d1" ||
		host.Tmpfs["/tmp"] == "" || host.CapAdd[0] != "NET_BIND_SERVICE" {
		t.Fatalf("service spec %+v %+v", cfg, host)
	}
	cfg, host, _ = containerSpec(p, &d.Services[1], "abc123", "1.41")
	if cfg.Image != "acme/x:1" || cfg.User != "" || host.ReadonlyRootfs || len(host.Mounts) != 0 || string(host.NetworkMode) != "container:abc123" {
		t.Fatalf("byos spec %+v %+v", cfg, host)
	}
}

func TestNetworkDrift(t *testing.T) {
	want := unitProject(t, fleet.Macvlan).Network
	good := network.Inspect{Driver: "macvlan", Options: map[string]string{"parent": "dnt-unit0", "macvlan_mode": "bridge"},
		IPAM: network.IPAM{Config: []network.IPAMConfig{{Subnet: "10.9.0.0/24", Gateway: "10.9.0.254", IPRange: "10.9.0.16/28"}}}}
	cases := []struct {
		name   string
		mutate func(n *network.Inspect)
		want   string
	}{
		{"same", func(n *network.Inspect) {}, ""},
		{"extra docker option", func(n *network.Inspect) { n.Options["com.docker.x"] = "1" }, ""},
		{"driver", func(n *network.Inspect) { n.Driver = "ipvlan" }, "driver ipvlan"},
		{"parent", func(n *network.Inspect) { n.Options["parent"] = "eth1" }, `parent "eth1"`},
		{"mode", func(n *network.Inspect) { n.Options["macvlan_mode"] = "private" }, "macvlan_mode"},
		{"range", func(n *network.Inspect) { n.IPAM.Config[0].IPRange = "10.9.0.32/28" }, "ip range 10.9.0.32/28"},
		{"subnet", func(n *network.Inspect) { n.IPAM.Config[0].Subnet = "10.9.0.0/16" }, "subnet"},
		{"gateway", func(n *network.Inspect) { n.IPAM.Config[0].Gateway = "10.9.0.1" }, "gateway"},
		{"pools", func(n *network.Inspect) { n.IPAM.Config = nil }, "0 IPAM pools"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			n := good
			n.Options = map[string]string{}
			for k, v := range good.Options {
				n.Options[k] = v
			}
			n.IPAM.Config = append([]network.IPAMConfig(nil), good.IPAM.Config...)
			tc.mutate(&n)
			got := networkDrift(n, want)
			if (tc.want == "") != (got == "") || !strings.Contains(got, tc.want) {
				t.Fatalf("drift %q, want %q", got, tc.want)
			}
		})
	}
}
