package config

import (
	"context"
	"errors"
	"maps"
	"net/netip"
	"os"
	"reflect"
	"slices"
	"strings"
	"testing"

	"decnet/internal/catalog"
	"decnet/internal/fleet"
	"decnet/internal/service"
	_ "decnet/internal/services/http"
	_ "decnet/internal/services/ssh"
)

// webalt is a test fixture: a second registered service on port 80 with a boolean key,
// so port clashes and boolean persona values can be exercised (http has neither a
// clash partner nor a boolean key among the real services linked here).
func init() {
	service.Register(service.Spec{
		Name:    "webalt",
		Summary: "test fixture: another web server on port 80",
		Ports:   []fleet.Port{{Number: 80, Proto: "tcp"}},
		Keys:    []service.Key{{Name: "tls", Kind: service.Bool, Default: "false"}},
		Run: func(ctx context.Context, _ *service.Runtime) error {
			<-ctx.Done()
			return nil
		},
	})
}

const labIface = "dnt-lan0"

var (
	labHost = netip.MustParseAddr("192.168.50.10")
	labGW   = netip.MustParseAddr("192.168.50.1")
)

// labEnv is a machine whose lab NIC dnt-lan0 has 192.168.50.10/24 behind 192.168.50.1.
func labEnv() Env {
	return Env{
		DetectInterface: func() (string, error) { return labIface, nil },
		InterfaceAddr: func(name string) (netip.Prefix, error) {
			if name != labIface {
				return netip.Prefix{}, errors.New("no such interface")
			}
			return netip.PrefixFrom(labHost, 24), nil
		},
		Gateway: func(name string) (netip.Addr, error) {
			if name != labIface {
				return netip.Addr{}, errors.New("no default route")
			}
			return labGW, nil
		},
	}
}

func build(t *testing.T, ini string, fl Flags, env Env) (*Result, error) {
	t.Helper()
	f, err := Parse("fleet.ini", []byte(ini))
	if err != nil {
		return nil, err
	}
	return Build(f, fl, env)
}

func mustBuild(t *testing.T, ini string, fl Flags, env Env) *Result {
	t.Helper()
	res, err := build(t, ini, fl, env)
	if err != nil {
		t.Fatalf("build: %v", err)
	}
	return res
}

func resolve(t *testing.T, svc string, vals map[string]string) map[string]string {
	t.Helper()
	s, ok := service.Lookup(svc)
	if !ok {
		t.Fatalf("service %s not registered", svc)
	}
	m, err := s.Resolve(vals)
	if err != nil {
		t.Fatal(err)
	}
	if len(m) == 0 {
		return nil
	}
	return m
}

func sysctls(t *testing.T, family string) map[string]string {
	t.Helper()
	f, ok := catalog.LookupOSFamily(family)
	if !ok {
		t.Fatalf("no OS family %s", family)
	}
	return maps.Clone(f.Sysctls)
}

func TestErrors(t *testing.T) {
	svcs := "http, ssh, webalt"
	tests := []struct {
		name, ini, want string
	}{
		{"unknown key in general", "[general]\nnet = 192.168.50.0/24\nipvlan = true\n",
			`fleet.ini:3: unknown key "ipvlan" in [general] (known: gw, interface, log_target, mutate_interval, net)`},
		{"unknown key in decky", "[a]\nservices = ssh\nhostname = x\n",
			`fleet.ini:3: unknown key "hostname" in [a] (known: amount, archetype, distro, ip, mutate_interval, nmap_os, services)`},
		{"unknown service", "[a]\nservices = ssh, telnetx\n",
			`fleet.ini:2: unknown service "telnetx" (available: ` + svcs + `)`},
		{"service twice", "[a]\nservices = ssh, ssh\n",
			`fleet.ini:2: service "ssh" is listed twice`},
		{"unknown archetype", "[a]\narchetype = mainframe\n",
			`fleet.ini:2: unknown archetype "mainframe" (known: ` + archetypeSlugs() + `)`},
		{"unknown distro", "[a]\nservices = ssh\ndistro = beos\n",
			`fleet.ini:3: unknown distro "beos" (known: ` + distroSlugs() + `)`},
		{"unknown nmap_os", "[a]\nservices = ssh\nnmap_os = amiga\n",
			`fleet.ini:3: unknown nmap_os "amiga" (known: bsd, cisco, embedded, linux, windows, windows_server)`},
		{"bad bool", "[a]\nservices = webalt\n[a.webalt]\ntls = maybe\n",
			`fleet.ini:4: service webalt: key "tls": "maybe" is not a boolean (use true/false, yes/no, on/off, 1/0)`},
		{"bad port number", "[custom-x]\nimage = x:1\nports = 8080, 70000\n",
			`fleet.ini:3: port "70000" is not a number from 1 to 65535`},
		{"bad port text", "[custom-x]\nimage = x:1\nports = http\n",
			`fleet.ini:3: port "http" is not a number from 1 to 65535`},
		{"bad port sign", "[custom-x]\nimage = x:1\nports = +80\n",
			`fleet.ini:3: port "+80" is not a number from 1 to 65535`},
		{"bad port proto", "[custom-x]\nimage = x:1\nports = 80/sctp\n",
			`fleet.ini:3: port "80/sctp": the protocol must be tcp or udp`},
		{"port twice", "[custom-x]\nimage = x:1\nports = 80, 80/tcp\n",
			`fleet.ini:3: port 80/tcp is listed twice`},
		{"amount 0", "[a]\nservices = ssh\namount = 0\n",
			`fleet.ini:3: amount must be a whole number from 1 to 100, got "0"`},
		{"amount 101", "[a]\nservices = ssh\namount = 101\n",
			`fleet.ini:3: amount must be a whole number from 1 to 100, got "101"`},
		{"amount not a number", "[a]\nservices = ssh\namount = three\n",
			`fleet.ini:3: amount must be a whole number from 1 to 100, got "three"`},
		{"amount with ip", "[a]\nservices = ssh\namount = 2\nip = 192.168.50.40\n",
			`fleet.ini:4: ip cannot be combined with amount = 2 (line 3): one address cannot belong to several deckies; remove ip or set amount = 1`},
		{"ip syntax", "[a]\nservices = ssh\nip = 192.168.50.300\n",
			`fleet.ini:3: ip "192.168.50.300" is not an IPv4 address`},
		{"duplicate ip", "[a]\nservices = ssh\nip = 192.168.50.40\n\n[b]\nservices = ssh\nip = 192.168.50.40\n",
			`fleet.ini:7: ip 192.168.50.40 is already given to decky a (line 3)`},
		{"ip outside subnet", "[a]\nservices = ssh\nip = 10.0.0.5\n",
			`fleet.ini:3: ip 10.0.0.5 is outside the subnet 192.168.50.0/24`},
		{"ip is gateway", "[a]\nservices = ssh\nip = 192.168.50.1\n",
			`fleet.ini:3: ip 192.168.50.1 is the gateway`},
		{"ip is host", "[a]\nservices = ssh\nip = 192.168.50.10\n",
			`fleet.ini:3: ip 192.168.50.10 is this host's own address`},
		{"ip is broadcast", "[a]\nservices = ssh\nip = 192.168.50.255\n",
			`fleet.ini:3: ip 192.168.50.255 is the broadcast address of 192.168.50.0/24`},
		{"ip is network", "[a]\nservices = ssh\nip = 192.168.50.0\n",
			`fleet.ini:3: ip 192.168.50.0 is the network address of 192.168.50.0/24`},
		{"port clash", "[a]\nservices = http, webalt\n",
			`fleet.ini:2: services http and webalt both listen on 80/tcp; a decky can run only one of them`},
		{"port clash with custom", "[a]\nservices = ssh, fakessh\n[custom-fakessh]\nimage = alpine\nports = 22\n",
			`fleet.ini:2: services ssh and fakessh both listen on 22/tcp; a decky can run only one of them`},
		{"unknown persona key", "[a]\nservices = ssh\n[a.ssh]\nshell = /bin/zsh\n",
			`fleet.ini:4: service ssh: key "shell": unknown key (known: version, users, max_auth_tries)`},
		{"bad persona value", "[a]\nservices = ssh\n[a.ssh]\nmax_auth_tries = many\n",
			`fleet.ini:4: service ssh: key "max_auth_tries": "many" is not a whole number`},
		{"subsection for unknown decky", "[a]\nservices = ssh\n[b.ssh]\nusers = x:y\n",
			`fleet.ini:3: [b.ssh]: no decky or amount group named "b" is defined in this file`},
		{"subsection for unknown service", "[a]\nservices = ssh\n[a.smtpx]\nx = y\n",
			`fleet.ini:3: [a.smtpx]: unknown service "smtpx" (available: ` + svcs + `)`},
		{"subsection for a service not on the decky", "[a]\nservices = ssh\n[a.http]\nindex = blank\n",
			`fleet.ini:3: [a.http]: a does not run http (services = ssh on line 2)`},
		{"subsection for a service not in the archetype", "[a]\narchetype = deaddeck\n[a.http]\nindex = blank\n",
			`fleet.ini:3: [a.http]: decky a does not run http (its services: ssh)`},
		{"subsection for a custom service", "[a]\nservices = x\n[custom-x]\nimage = alpine\n[a.x]\nk = v\n",
			`fleet.ini:5: [a.x]: custom service x has no persona keys; configure it in [custom-x]`},
		{"duplicate section", "[a]\nservices = ssh\n\n[a]\nservices = http\n",
			`fleet.ini:4: duplicate section [a] (first defined on line 1)`},
		{"duplicate key", "[a]\nservices = ssh\nServices = http\n",
			`fleet.ini:3: duplicate key "services" in [a] (first set on line 2)`},
		{"key under both spellings", "[a]\nservices = ssh\nnmap_os = linux\nnmap-os = bsd\n",
			`fleet.ini:4: "nmap-os" and "nmap_os" are the same key (first set on line 3)`},
		{"archetype service missing from this build", "[a]\narchetype = mail-server\n",
			`fleet.ini:2: archetype mail-server needs services this build does not have (smtp, pop3, imap); set services = explicitly (available: ` + svcs + `)`},
		{"no services", "[a]\ndistro = debian\n",
			`fleet.ini:1: decky a has no services: set services = or archetype = in [a], or give --services, --archetype or --randomize-services`},
		{"bad decky name", "[Web_1]\nservices = ssh\n",
			`fleet.ini:1: decky name "Web_1" must be a DNS label: 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'`},
		{"decky name too long", "[" + strings.Repeat("a", 64) + "]\nservices = ssh\n",
			`fleet.ini:1: decky name "` + strings.Repeat("a", 64) + `" must be a DNS label: 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'`},
		{"expanded name too long", "[" + strings.Repeat("a", 61) + "]\nservices = ssh\namount = 2\n",
			`fleet.ini:1: decky name "` + strings.Repeat("a", 61) + `-02" must be a DNS label: 1-63 characters of a-z, 0-9 and '-', not starting or ending with '-'`},
		{"amount group collides with a decky", "[web]\namount = 2\nservices = ssh\n[web-01]\nservices = ssh\n",
			`fleet.ini:4: decky name "web-01" is already used by the section on line 1`},
		{"key before any section", "services = ssh\n",
			`fleet.ini:1: key "services" comes before any [section] header`},
		{"line without delimiter", "[a]\nservices ssh\n",
			`fleet.ini:2: expected a [section] header or "key = value", got "services ssh"`},
		{"missing key name", "[a]\n= ssh\n",
			`fleet.ini:2: missing key name before "="`},
		{"unclosed header", "[a\nservices = ssh\n",
			`fleet.ini:1: section header "[a" is missing its closing ]`},
		{"empty header", "[ ]\n",
			`fleet.ini:1: empty section name []`},
		{"DEFAULT section", "[DEFAULT]\nservices = ssh\n",
			`fleet.ini:1: [DEFAULT] sections are not supported: set each key in the section it belongs to`},
		{"bad subnet", "[general]\nnet = 192.168.50.0/33\n[a]\nservices = ssh\n",
			`fleet.ini:2: subnet "192.168.50.0/33" is not an IPv4 CIDR such as 192.168.1.0/24`},
		{"tiny subnet", "[general]\nnet = 192.168.50.0/31\n[a]\nservices = ssh\n",
			`fleet.ini:2: subnet 192.168.50.0/31 has no room for deckies (use a /30 or larger network)`},
		{"gateway outside subnet", "[general]\nnet = 192.168.50.0/24\ngw = 10.0.0.1\n[a]\nservices = ssh\n",
			`fleet.ini:3: gateway 10.0.0.1 is outside the subnet 192.168.50.0/24`},
		{"gateway syntax", "[general]\ngw = router\n[a]\nservices = ssh\n",
			`fleet.ini:2: gateway "router" is not an IPv4 address`},
		{"bad interface", "[general]\ninterface = eth0/1\n[a]\nservices = ssh\n",
			`fleet.ini:2: "eth0/1" is not a network interface name (1-15 characters, no '/', ':' or blanks)`},
		{"bad log target", "[general]\nlog_target = syslog.example\n[a]\nservices = ssh\n",
			`fleet.ini:2: log target "syslog.example": must be host:port, optionally prefixed with udp://, tcp:// or tls://`},
		{"bad log target scheme", "[general]\nlog-target = http://s:514\n[a]\nservices = ssh\n",
			`fleet.ini:2: log target "http://s:514": unknown scheme "http" (use udp://, tcp:// or tls://, or plain host:port for UDP)`},
		{"bad mutate_interval", "[general]\nmutate_interval = soon\n",
			`fleet.ini:2: mutate_interval must be a whole number of minutes, got "soon"`},
		{"custom without image", "[custom-x]\nports = 80\n",
			`fleet.ini:1: [custom-x] needs image = <docker image> (DECNET spelled it binary =)`},
		{"custom with image and binary", "[custom-x]\nimage = a\nbinary = b\n",
			`fleet.ini:3: binary and image are the same key (image set on line 2)`},
		{"custom bad image", "[custom-x]\nimage = Not An Image\n",
			`fleet.ini:2: "Not An Image" is not a valid Docker image reference: invalid reference format`},
		{"custom uppercase image", "[custom-x]\nimage = Acme/App:3\n",
			`fleet.ini:2: "Acme/App:3" is not a valid Docker image reference: the repository name must be lowercase`},
		{"custom malformed image", "[custom-x]\nimage = alpine::3\n",
			`fleet.ini:2: "alpine::3" is not a valid Docker image reference: invalid reference format`},
		{"custom exec quote", "[custom-x]\nimage = alpine\nexec = /bin/x \"a\n",
			`fleet.ini:3: exec: unterminated double quote`},
		{"custom named like a built-in", "[custom-ssh]\nimage = alpine\n",
			`fleet.ini:1: custom service "ssh" has the name of a built-in service`},
		{"custom dotted name", "[custom-My.App]\nimage = alpine\n",
			`fleet.ini:1: [custom-My.App]: unknown service "App" (available: ` + svcs + `)`},
		{"custom bad name", "[custom-My_App]\nimage = alpine\n",
			`fleet.ini:1: custom service name "My_App" must be 1-32 characters of a-z, 0-9, '-' and '_', starting with a letter or digit`},
		{"custom unknown key", "[custom-x]\nimage = alpine\nenv = A=1\n",
			`fleet.ini:3: unknown key "env" in [custom-x] (known: binary, exec, image, ports)`},
		{"invalid utf-8", "[a]\nservices = ssh\xff\n",
			`fleet.ini:2: the line is not valid UTF-8`},
		{"no deckies", "[general]\nnet = 192.168.50.0/24\n",
			`fleet.ini: no deckies defined: add a [name] section, or give --deckies N`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := build(t, tc.ini, Flags{}, labEnv())
			if err == nil {
				t.Fatalf("no error; fleet %+v", res.Fleet)
			}
			var ce *Error
			if !errors.As(err, &ce) {
				t.Fatalf("error %T is not a *config.Error: %v", err, err)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

func TestFlagErrors(t *testing.T) {
	noGW := labEnv()
	noGW.Gateway = func(string) (netip.Addr, error) { return netip.Addr{}, errors.New("no default route") }
	noDetect := labEnv()
	noDetect.DetectInterface = nil
	tests := []struct {
		name string
		fl   Flags
		env  Env
		want string
	}{
		{"nothing to deploy", Flags{}, labEnv(),
			`--deckies: give the number of deckies (--deckies N) or a configuration file (--config)`},
		{"negative deckies", Flags{Deckies: -1}, labEnv(),
			`--deckies: must be a number from 1 to 1024, got -1`},
		{"no services", Flags{Deckies: 2}, labEnv(),
			`--services: no services: give --services, --archetype or --randomize-services`},
		{"unknown service", Flags{Deckies: 1, Services: []string{"ssh", "nope"}}, labEnv(),
			`--services: unknown service "nope" (available: http, ssh, webalt)`},
		{"port clash", Flags{Deckies: 1, Services: []string{"webalt,http"}}, labEnv(),
			`--services: services webalt and http both listen on 80/tcp; a decky can run only one of them`},
		{"unknown archetype", Flags{Deckies: 1, Archetype: "toaster"}, labEnv(),
			`--archetype: unknown archetype "toaster" (known: ` + archetypeSlugs() + `)`},
		{"archetype needs missing services", Flags{Deckies: 1, Archetype: "windows-workstation"}, labEnv(),
			`--archetype: archetype windows-workstation needs services this build does not have (smb, rdp); set services = explicitly (available: http, ssh, webalt)`},
		{"unknown distro", Flags{Deckies: 1, Services: []string{"ssh"}, Distro: "debian,templeos"}, labEnv(),
			`--distro: unknown distro "templeos" (known: ` + distroSlugs() + `)`},
		{"bad subnet", Flags{Deckies: 1, Services: []string{"ssh"}, Subnet: "10.0.0.0"}, labEnv(),
			`--subnet: subnet "10.0.0.0" is not an IPv4 CIDR such as 192.168.1.0/24`},
		{"bad gateway", Flags{Deckies: 1, Services: []string{"ssh"}, Gateway: "192.168.50.255"}, labEnv(),
			`--gateway: gateway 192.168.50.255 is the broadcast address of 192.168.50.0/24`},
		{"gateway not detectable", Flags{Deckies: 1, Services: []string{"ssh"}}, noGW,
			`--gateway: cannot detect the gateway of dnt-lan0 (no default route); give --gateway or gw = in [general]`},
		{"interface not detectable", Flags{Deckies: 1, Services: []string{"ssh"}}, noDetect,
			`--interface: no interface given and none can be detected here; give --interface or interface = in [general]`},
		{"subnet not detectable", Flags{Deckies: 1, Services: []string{"ssh"}, Interface: "dnt-other"}, labEnv(),
			`--subnet: cannot detect the subnet of dnt-other (no such interface); give --subnet or net = in [general]`},
		{"ip-start syntax", Flags{Deckies: 1, Services: []string{"ssh"}, IPStart: "x"}, labEnv(),
			`--ip-start: "x" is not an IPv4 address`},
		{"ip-start outside", Flags{Deckies: 1, Services: []string{"ssh"}, IPStart: "10.1.1.1"}, labEnv(),
			`--ip-start: 10.1.1.1 is outside the subnet 192.168.50.0/24`},
		{"subnet full", Flags{Deckies: 3, Services: []string{"ssh"}, IPStart: "192.168.50.253"}, labEnv(),
			`--ip-start: cannot allocate decky addresses: the subnet 192.168.50.0/24 has only 2 free addresses from 192.168.50.253 on, but 3 are needed`},
		{"bad log target", Flags{Deckies: 1, Services: []string{"ssh"}, LogTarget: "tcp://h:0"}, labEnv(),
			`--log-target: log target "tcp://h:0": port "0" is not a number from 1 to 65535`},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			res, err := Build(nil, tc.fl, tc.env)
			if err == nil {
				t.Fatalf("no error; fleet %+v", res.Fleet)
			}
			if got := err.Error(); got != tc.want {
				t.Errorf("error\n got: %s\nwant: %s", got, tc.want)
			}
		})
	}
}

func TestInlineCommentsAndContinuation(t *testing.T) {
	ini := "[a] ; the first decky\n" +
		"services = ssh  # comment\n" +
		"[a.ssh]\n" +
		"users = root:pass#1, ; the # inside pass#1 stays\n" +
		"\tadmin:x;y,\t# tab before the comment\n" +
		"  # an indented comment line does not end the value\n" +
		"    guest:guest\n" +
		"version: SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3\n" +
		"[b]\n" +
		"services =\n" +
		"   http,\n" +
		"   ssh\n" +
		"\n" +
		"   ; a blank line ended the value above\n"
	f, err := Parse("fleet.ini", []byte(ini))
	if err != nil {
		t.Fatal(err)
	}
	want := []*Section{
		{Name: "a", Line: 1, Entries: []Entry{{Key: "services", Value: "ssh", Line: 2}}},
		{Name: "a.ssh", Line: 3, Entries: []Entry{
			{Key: "users", Value: "root:pass#1,\nadmin:x;y,\nguest:guest", Line: 4},
			{Key: "version", Value: "SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u3", Line: 8},
		}},
		{Name: "b", Line: 9, Entries: []Entry{{Key: "services", Value: "http,\nssh", Line: 10}}},
	}
	if !reflect.DeepEqual(f.Sections, want) {
		t.Fatalf("sections\n got: %+v\nwant: %+v", f.Sections, want)
	}
	res, err := Build(f, Flags{}, labEnv())
	if err != nil {
		t.Fatal(err)
	}
	a, _ := res.Fleet.Decky("a")
	if got := a.Services[0].Persona["users"]; got != "root:pass#1,admin:x;y,guest:guest" {
		t.Errorf("users = %q", got)
	}
	b, _ := res.Fleet.Decky("b")
	if names := serviceNames(b); !slices.Equal(names, []string{"http", "ssh"}) {
		t.Errorf("b services = %v", names)
	}
}

func TestIndentedContinuationAfterBlankLineIsAnError(t *testing.T) {
	// A blank line ends a value; an indented line after it is not silently glued on.
	_, err := Parse("fleet.ini", []byte("[a]\nservices = ssh\n\n    http\n"))
	want := `fleet.ini:4: expected a [section] header or "key = value", got "http"`
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestLoad(t *testing.T) {
	f, err := Load("testdata/fleet.ini")
	if err != nil {
		t.Fatal(err)
	}
	if f.Interface() != labIface {
		t.Errorf("Interface() = %q", f.Interface())
	}
	_, err = Load("testdata/missing.ini")
	if want := "testdata/missing.ini: cannot read the configuration file: no such file or directory"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
	big := make([]byte, MaxFileSize+1)
	for i := range big {
		big[i] = '\n'
	}
	path := t.TempDir() + "/big.ini"
	if err := os.WriteFile(path, big, 0o600); err != nil {
		t.Fatal(err)
	}
	_, err = Load(path)
	if want := path + ": the file is larger than 1048576 bytes"; err == nil || err.Error() != want {
		t.Errorf("err = %v, want %s", err, want)
	}
}

func serviceNames(d *fleet.Decky) []string {
	var out []string
	for _, s := range d.Services {
		out = append(out, s.Name)
	}
	return out
}

// vendorFits reports whether mac's OUI belongs to one of vs.
func vendorFits(mac string, vs []catalog.Vendor) bool {
	name, ok := catalog.VendorOf(mac)
	if !ok {
		return false
	}
	return slices.ContainsFunc(vs, func(v catalog.Vendor) bool { return v.Name == name })
}

func TestFullExample(t *testing.T) {
	f, err := Load("testdata/fleet.ini")
	if err != nil {
		t.Fatal(err)
	}
	res, err := Build(f, Flags{Seed: 7}, labEnv())
	if err != nil {
		t.Fatal(err)
	}
	wantWarn := []string{"testdata/fleet.ini:43: mutate_interval is a DECNET key this version ignores (deckies are not mutated)"}
	if !slices.Equal(res.Warnings, wantWarn) {
		t.Errorf("warnings = %q, want %q", res.Warnings, wantWarn)
	}
	got := res.Fleet

	// MACs and hostnames are random draws: check they fit, then compare the rest exactly.
	linuxServer, _ := catalog.LookupArchetype("linux-server")
	bsd, _ := catalog.LookupOSFamily("bsd")
	linux, _ := catalog.LookupOSFamily("linux")
	vendors := map[string][]catalog.Vendor{
		"db-01":  catalog.ArchetypeVendors(linuxServer),
		"web-01": bsd.Vendors, "web-02": bsd.Vendors, "web-03": bsd.Vendors,
		"gadget": linux.Vendors,
	}
	macs, hosts := map[string]bool{}, map[string]bool{}
	for i := range got.Deckies {
		d := &got.Deckies[i]
		if !vendorFits(d.MAC, vendors[d.Name]) {
			t.Errorf("%s: MAC %s is not from a vendor that fits", d.Name, d.MAC)
		}
		if !validLabel(strings.ToLower(d.Hostname)) || len(d.Hostname) > 15 {
			t.Errorf("%s: hostname %q is not a short DNS label", d.Name, d.Hostname)
		}
		if macs[d.MAC] || hosts[d.Hostname] {
			t.Errorf("%s: MAC %s or hostname %s repeats", d.Name, d.MAC, d.Hostname)
		}
		macs[d.MAC], hosts[d.Hostname] = true, true
		d.MAC, d.Hostname = "", ""
	}

	sshWeb := func(tries string) fleet.Service {
		return fleet.Service{Name: "ssh", Persona: resolve(t, "ssh", map[string]string{"users": "root:toor,admin:admin123", "max_auth_tries": tries})}
	}
	httpWeb := fleet.Service{Name: "http", Persona: resolve(t, "http", map[string]string{"server": "nginx", "index": "wordpress"})}
	web := func(n, ip, tries string) fleet.Decky {
		return fleet.Decky{
			Name: "web-" + n, IP: netip.MustParseAddr(ip), Distro: "freebsd", OSFamily: "bsd", NmapOS: "bsd",
			Sysctls: sysctls(t, "bsd"), Services: []fleet.Service{sshWeb(tries), httpWeb},
		}
	}
	want := &fleet.Fleet{
		Interface: labIface,
		Subnet:    netip.MustParsePrefix("192.168.50.0/24"),
		Gateway:   labGW,
		HostIP:    labHost,
		IPRange:   netip.MustParsePrefix("192.168.50.0/27"),
		Driver:    fleet.Macvlan,
		LogTarget: "udp://192.168.50.5:5140",
		Deckies: []fleet.Decky{
			{
				Name: "db-01", IP: netip.MustParseAddr("192.168.50.20"), Archetype: "linux-server",
				Distro: "rocky9", OSFamily: "linux", NmapOS: "linux", Sysctls: sysctls(t, "linux"),
				Services: []fleet.Service{
					{Name: "ssh", Persona: resolve(t, "ssh", nil)},
					{Name: "http", Persona: resolve(t, "http", nil)},
				},
			},
			web("01", "192.168.50.2", "3"),
			web("02", "192.168.50.3", "5"),
			web("03", "192.168.50.4", "3"),
			{
				Name: "gadget", IP: netip.MustParseAddr("192.168.50.30"), Distro: "debian", OSFamily: "linux",
				Sysctls: sysctls(t, "linux"),
				Services: []fleet.Service{
					{Name: "myapp", Custom: &fleet.Custom{
						Image: "registry.example.com/acme/myapp:1.4",
						Exec:  []string{"/usr/bin/myapp", "--listen", "0.0.0.0:8080", "--banner", "Acme App"},
						Ports: []fleet.Port{{Number: 8080, Proto: "tcp"}, {Number: 9999, Proto: "udp"}},
					}},
					{Name: "ssh", Persona: resolve(t, "ssh", nil)},
				},
			},
		},
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("fleet\n got: %+v\nwant: %+v", got, want)
		for i := range min(len(got.Deckies), len(want.Deckies)) {
			if !reflect.DeepEqual(got.Deckies[i], want.Deckies[i]) {
				t.Errorf("decky %d\n got: %+v\nwant: %+v", i, got.Deckies[i], want.Deckies[i])
			}
		}
	}
}

func TestFlagsOnly(t *testing.T) {
	res, err := Build(nil, Flags{Deckies: 3, Services: []string{"ssh,http"}, IPvlan: true, LogTarget: "10.9.9.9:514"}, labEnv())
	if err != nil {
		t.Fatal(err)
	}
	f := res.Fleet
	if f.Driver != fleet.IPvlan || f.Interface != labIface || f.Gateway != labGW || f.HostIP != labHost || f.LogTarget != "10.9.9.9:514" {
		t.Errorf("fleet header = %+v", f)
	}
	var names, ips []string
	for _, d := range f.Deckies {
		names = append(names, d.Name)
		ips = append(ips, d.IP.String())
		if d.Distro != "debian" || d.OSFamily != "linux" || !slices.Equal(serviceNames(&d), []string{"ssh", "http"}) {
			t.Errorf("%s: %+v", d.Name, d)
		}
	}
	if !slices.Equal(names, []string{"decky-01", "decky-02", "decky-03"}) {
		t.Errorf("names = %v", names)
	}
	if !slices.Equal(ips, []string{"192.168.50.2", "192.168.50.3", "192.168.50.4"}) {
		t.Errorf("ips = %v", ips)
	}
	if f.IPRange != netip.MustParsePrefix("192.168.50.0/29") {
		t.Errorf("ip range = %s", f.IPRange)
	}
}

func TestPrecedence(t *testing.T) {
	ini := "[general]\nnet = 10.20.0.0/16\ngw = 10.20.0.254\ninterface = dnt-ini0\nlog_target = 10.20.0.5:514\n[a]\nservices = ssh\n"
	env := labEnv()
	env.InterfaceAddr = func(name string) (netip.Prefix, error) {
		switch name {
		case "dnt-ini0":
			return netip.MustParsePrefix("10.20.0.7/16"), nil
		case labIface:
			return netip.PrefixFrom(labHost, 24), nil
		}
		return netip.Prefix{}, errors.New("no such interface")
	}
	// [general] alone.
	res := mustBuild(t, ini, Flags{}, env)
	f := res.Fleet
	if f.Interface != "dnt-ini0" || f.Subnet.String() != "10.20.0.0/16" || f.Gateway.String() != "10.20.0.254" ||
		f.HostIP.String() != "10.20.0.7" || f.LogTarget != "10.20.0.5:514" || f.Deckies[0].IP.String() != "10.20.0.1" {
		t.Errorf("from [general]: %+v", f)
	}
	// Flags override [general].
	res = mustBuild(t, ini, Flags{Interface: labIface, Subnet: "192.168.50.0/24", Gateway: "192.168.50.254", LogTarget: "tls://logs:6514", IPStart: "192.168.50.100"}, env)
	f = res.Fleet
	if f.Interface != labIface || f.Subnet.String() != "192.168.50.0/24" || f.Gateway.String() != "192.168.50.254" ||
		f.HostIP != labHost || f.LogTarget != "tls://logs:6514" || f.Deckies[0].IP.String() != "192.168.50.100" {
		t.Errorf("from flags: %+v", f)
	}
	// A subnet that does not hold the host's address: no host IP, and a warning.
	res = mustBuild(t, "[general]\nnet = 172.16.0.0/24\ngw = 172.16.0.1\n[a]\nservices = ssh\n", Flags{}, labEnv())
	if res.Fleet.HostIP.IsValid() || len(res.Warnings) != 1 ||
		res.Warnings[0] != "this host's address on dnt-lan0 (192.168.50.10/24) is outside the subnet 172.16.0.0/24" {
		t.Errorf("host %v, warnings %q", res.Fleet.HostIP, res.Warnings)
	}
	// --deckies with a file that defines deckies is ignored, with a warning.
	res = mustBuild(t, "[a]\nservices = ssh\n", Flags{Deckies: 5}, labEnv())
	if len(res.Fleet.Deckies) != 1 || !slices.Equal(res.Warnings, []string{"--deckies 5 is ignored: fleet.ini defines the deckies"}) {
		t.Errorf("deckies %d, warnings %q", len(res.Fleet.Deckies), res.Warnings)
	}
	// A file without deckies takes --deckies, and its services from --services.
	res = mustBuild(t, "[general]\nnet = 192.168.50.0/24\n[custom-x]\nimage = alpine\nports = 7\n", Flags{Deckies: 2, Services: []string{"x"}}, labEnv())
	if len(res.Fleet.Deckies) != 2 || res.Fleet.Deckies[1].Services[0].Custom == nil {
		t.Errorf("deckies %+v", res.Fleet.Deckies)
	}
	// Per-decky keys override flags.
	res = mustBuild(t, "[a]\nservices = http\ndistro = ubuntu22\n[b]\narchetype = deaddeck\n", Flags{Services: []string{"ssh"}, Distro: "alpine"}, labEnv())
	a, _ := res.Fleet.Decky("a")
	b, _ := res.Fleet.Decky("b")
	if a.Distro != "ubuntu22" || !slices.Equal(serviceNames(a), []string{"http"}) {
		t.Errorf("a = %+v", a)
	}
	if b.Distro != "alpine" || b.Archetype != "deaddeck" || !slices.Equal(serviceNames(b), []string{"ssh"}) {
		t.Errorf("b = %+v", b)
	}
}

func TestPersonaChoices(t *testing.T) {
	// nmap_os picks the family (and its default distro), overriding the archetype's.
	res := mustBuild(t, "[a]\narchetype = linux-server\nnmap_os = windows_server\n[b]\nservices = ssh\nnmap_os = cisco\n[c]\nservices = ssh\ndistro = windows11\n", Flags{}, labEnv())
	a, _ := res.Fleet.Decky("a")
	if a.OSFamily != "windows_server" || a.NmapOS != "windows_server" || a.Distro != "debian" || !maps.Equal(a.Sysctls, sysctls(t, "windows_server")) {
		t.Errorf("a = %+v", a)
	}
	b, _ := res.Fleet.Decky("b")
	if b.OSFamily != "cisco" || b.Distro != "ios" || b.Sysctls["net.ipv4.ip_default_ttl"] != "255" {
		t.Errorf("b = %+v", b)
	}
	c, _ := res.Fleet.Decky("c")
	if c.OSFamily != "windows" || c.NmapOS != "" || !maps.Equal(c.Sysctls, sysctls(t, "windows")) {
		t.Errorf("c = %+v", c)
	}
	// The fleet's sysctls are copies: changing one decky's leaves the catalog alone.
	c.Sysctls["net.ipv4.ip_default_ttl"] = "1"
	if w, _ := catalog.LookupOSFamily("windows"); w.Sysctls["net.ipv4.ip_default_ttl"] != "128" {
		t.Error("decky sysctls alias the catalog")
	}
	// --distro with a list is used in turn.
	res, err := Build(nil, Flags{Deckies: 3, Services: []string{"ssh"}, Distro: "alpine, fedora"}, labEnv())
	if err != nil {
		t.Fatal(err)
	}
	var ds []string
	for _, d := range res.Fleet.Deckies {
		ds = append(ds, d.Distro)
	}
	if !slices.Equal(ds, []string{"alpine", "fedora", "alpine"}) {
		t.Errorf("distros = %v", ds)
	}
}

func TestRandomize(t *testing.T) {
	fl := Flags{Deckies: 40, RandomizeServices: true, RandomizeDistros: true, Seed: 99}
	res, err := Build(nil, fl, labEnv())
	if err != nil {
		t.Fatal(err)
	}
	counts := map[int]int{}
	distros := map[string]bool{}
	for _, d := range res.Fleet.Deckies {
		n := len(d.Services)
		counts[n]++
		if n < 1 || n > 3 {
			t.Errorf("%s has %d services", d.Name, n)
		}
		names := serviceNames(&d)
		if msg := portClash(names, nil); msg != "" {
			t.Errorf("%s: %s", d.Name, msg)
		}
		for _, s := range names {
			if _, ok := service.Lookup(s); !ok {
				t.Errorf("%s: unregistered service %s", d.Name, s)
			}
		}
		dist, _ := catalog.LookupDistro(d.Distro)
		if dist.OSFamily != "linux" || d.OSFamily != "linux" {
			t.Errorf("%s: random distro %s is not a Linux one", d.Name, d.Distro)
		}
		distros[d.Distro] = true
	}
	if len(counts) < 2 || len(distros) < 3 {
		t.Errorf("40 random deckies are too alike: service counts %v, distros %v", counts, distros)
	}
	again, err := Build(nil, fl, labEnv())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(res.Fleet, again.Fleet) {
		t.Error("the same seed gave a different random fleet")
	}
}

func TestDeterminism(t *testing.T) {
	f, err := Load("testdata/fleet.ini")
	if err != nil {
		t.Fatal(err)
	}
	one, err := Build(f, Flags{Seed: 42}, labEnv())
	if err != nil {
		t.Fatal(err)
	}
	f2, err := Load("testdata/fleet.ini")
	if err != nil {
		t.Fatal(err)
	}
	two, err := Build(f2, Flags{Seed: 42}, labEnv())
	if err != nil {
		t.Fatal(err)
	}
	if !reflect.DeepEqual(one, two) {
		t.Fatalf("two builds differ:\n%+v\n%+v", one.Fleet, two.Fleet)
	}
	other, err := Build(f, Flags{Seed: 43}, labEnv())
	if err != nil {
		t.Fatal(err)
	}
	same := 0
	for i := range one.Fleet.Deckies {
		if one.Fleet.Deckies[i].MAC == other.Fleet.Deckies[i].MAC {
			same++
		}
	}
	if same == len(one.Fleet.Deckies) {
		t.Error("a different seed gave the same MACs")
	}
	// A decky's identity depends on its name, not on its position in the file.
	three := mustBuild(t, "[zzz]\nservices = ssh\n[gadget]\nservices = ssh\n", Flags{Seed: 42}, labEnv())
	g1, _ := one.Fleet.Decky("gadget")
	g3, _ := three.Fleet.Decky("gadget")
	if g1.MAC != g3.MAC {
		t.Errorf("gadget's MAC moved with its position: %s vs %s", g1.MAC, g3.MAC)
	}
}

func TestReuseExisting(t *testing.T) {
	existing := &fleet.Fleet{Deckies: []fleet.Decky{
		{Name: "web-02", IP: netip.MustParseAddr("192.168.50.77"), MAC: "00:a0:98:11:22:33", Hostname: "nas-07",
			Distro: "freebsd", OSFamily: "bsd",
			Secrets: map[string]map[string]string{"ssh": {"host_key": "KEY"}, "ftp": {"x": "y"}}},
		{Name: "db-01", IP: netip.MustParseAddr("192.168.50.99"), MAC: "00:14:22:01:02:03", Hostname: "db07",
			Distro: "rocky9", OSFamily: "linux"},
		{Name: "gadget", IP: netip.MustParseAddr("192.168.50.30"), MAC: "00:14:22:0a:0b:0c", Hostname: "old",
			Distro: "ubuntu22", OSFamily: "windows"},
		{Name: "gone", IP: netip.MustParseAddr("192.168.50.2")},
	}}
	f, err := Load("testdata/fleet.ini")
	if err != nil {
		t.Fatal(err)
	}
	env := labEnv()
	var probed []netip.Addr
	env.InUse = func(a netip.Addr) bool {
		probed = append(probed, a)
		return a == netip.MustParseAddr("192.168.50.3") // some other machine
	}
	env.Existing = existing
	res, err := Build(f, Flags{Seed: 7}, env)
	if err != nil {
		t.Fatal(err)
	}
	web2, _ := res.Fleet.Decky("web-02")
	if web2.IP.String() != "192.168.50.77" || web2.MAC != "00:a0:98:11:22:33" || web2.Hostname != "nas-07" {
		t.Errorf("web-02 did not keep its identity: %+v", web2)
	}
	if want := map[string]map[string]string{"ssh": {"host_key": "KEY"}}; !reflect.DeepEqual(web2.Secrets, want) {
		t.Errorf("web-02 secrets = %v, want %v (only services it still runs)", web2.Secrets, want)
	}
	// db-01 sets ip = 192.168.50.20, not its old .99: a different machine, nothing reused.
	db, _ := res.Fleet.Decky("db-01")
	if db.IP.String() != "192.168.50.20" || db.MAC == "00:14:22:01:02:03" || db.Hostname == "db07" || db.Secrets != nil {
		t.Errorf("db-01 reused an identity it should not: %+v", db)
	}
	// gadget keeps its explicit IP; its persona changed (family, distro), so MAC and
	// hostname are new.
	gadget, _ := res.Fleet.Decky("gadget")
	if gadget.IP.String() != "192.168.50.30" || gadget.MAC == "00:14:22:0a:0b:0c" || gadget.Hostname == "old" {
		t.Errorf("gadget = %+v", gadget)
	}
	// The others are allocated around it: .2 belonged to the old fleet ("gone") and is
	// free again without a probe; .3 answers ARP, so it is skipped.
	var ips []string
	for _, n := range []string{"web-01", "web-03"} {
		d, _ := res.Fleet.Decky(n)
		ips = append(ips, d.IP.String())
	}
	if !slices.Equal(ips, []string{"192.168.50.2", "192.168.50.4"}) {
		t.Errorf("web-01, web-03 IPs = %v", ips)
	}
	if slices.Contains(probed, netip.MustParseAddr("192.168.50.2")) || slices.Contains(probed, netip.MustParseAddr("192.168.50.30")) {
		t.Errorf("probed addresses the deployed fleet owns: %v", probed)
	}
	if res.Fleet.IPRange != netip.MustParsePrefix("192.168.50.0/25") {
		t.Errorf("ip range = %s", res.Fleet.IPRange)
	}
}

func TestExplicitIPInUse(t *testing.T) {
	env := labEnv()
	env.InUse = func(a netip.Addr) bool { return a == netip.MustParseAddr("192.168.50.40") }
	_, err := build(t, "[a]\nservices = ssh\nip = 192.168.50.40\n", Flags{}, env)
	want := "fleet.ini:3: ip 192.168.50.40 is already in use on the LAN (another machine answers for it)"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %s", err, want)
	}
}

func TestKeyErrorUnwraps(t *testing.T) {
	_, err := Parse("fleet.ini", []byte("[a]\nservices = ssh\n[a.ssh]\nnope = 1\n"))
	var ke *service.KeyError
	if !errors.As(err, &ke) || ke.Service != "ssh" || ke.Key != "nope" {
		t.Fatalf("err = %v does not unwrap to the service's KeyError", err)
	}
}
