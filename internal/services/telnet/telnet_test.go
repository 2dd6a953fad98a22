package telnet

import (
	"bytes"
	"encoding/base64"
	"io"
	"net"
	"os/exec"
	"regexp"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/testenv"
)

const wait = 10 * time.Second

// start runs the telnet service with a short failure pause.
func start(t *testing.T, cfg service.Config) *servicetest.Harness {
	t.Helper()
	oldMin, oldMax := failDelayMin, failDelayMax
	failDelayMin, failDelayMax = 20*time.Millisecond, 40*time.Millisecond
	t.Cleanup(func() { failDelayMin, failDelayMax = oldMin, oldMax })
	return servicetest.Start(t, "telnet", cfg)
}

func port(h *servicetest.Harness) string {
	_, p, _ := net.SplitHostPort(h.Addr(23))
	return p
}

func TestLinuxLoginWithTelnetClient(t *testing.T) {
	testenv.RequireTool(t, "telnet")
	h := start(t, service.Config{Distro: "ubuntu22", Hostname: "web-prod-03", IP: "10.0.0.5/24"})
	tm := startTerm(t, "telnet", "127.0.0.1", port(h))

	tm.expect("Ubuntu 22.04.4 LTS\r\nweb-prod-03 login: ", wait)
	tm.send("root\r")
	tm.expect("root\r\nPassword: ", wait)
	tm.send("s3cr3t-wrong\r")
	tm.expect("\r\nLogin incorrect\r\nweb-prod-03 login: ", wait)
	if strings.Contains(tm.all(), "s3cr3t-wrong") {
		t.Errorf("the password was echoed:\n%s", tm.all())
	}
	tm.send("root\r")
	tm.expect("Password: ", wait)
	tm.send("123456\r")
	tm.expect("Welcome to Ubuntu 22.04.4 LTS (GNU/Linux ", wait)
	tm.expect("root@web-prod-03:~# ", wait)
	tm.send("uname -a\r")
	out := tm.expect("root@web-prod-03:~# ", wait)
	if !strings.Contains(out, h.RT.Distro.Kernel) {
		t.Errorf("uname -a printed %q, want the kernel %q", out, h.RT.Distro.Kernel)
	}
	tm.send("exit\r")
	tm.expect("Connection closed by foreign host.", wait)

	e := h.Wait(t, wait, "failed login", servicetest.Type(event.Auth, "username=root", "password=s3cr3t-wrong", "outcome=failure", "secret_kind=plaintext"))
	if e.AttackerIP != "127.0.0.1" || e.AttackerPort == 0 {
		t.Errorf("auth event source %s:%d, want 127.0.0.1 and a port", e.AttackerIP, e.AttackerPort)
	}
	if e.Fields["secret_b64"] != base64.StdEncoding.EncodeToString([]byte("s3cr3t-wrong")) {
		t.Errorf("secret_b64 = %q", e.Fields["secret_b64"])
	}
	h.Wait(t, wait, "successful login", servicetest.Type(event.Auth, "username=root", "password=123456", "outcome=success"))
	h.Wait(t, wait, "shell command", servicetest.Type(event.Command, "command=uname -a", "via=telnet", "username=root"))
	fp := h.Wait(t, wait, "client fingerprint", servicetest.Type(event.Fingerprint))
	if !strings.EqualFold(fp.Fields["terminal_type"], "xterm") {
		t.Errorf("terminal_type = %q, want the client's TERM (xterm)", fp.Fields["terminal_type"])
	}
}

// telnet -l user sends USER with NEW-ENVIRON; telnetd hands it to login, which
// asks only for the password.
func TestLinuxUserFromEnviron(t *testing.T) {
	testenv.RequireTool(t, "telnet")
	h := start(t, service.Config{Distro: "debian", Hostname: "files01"})
	tm := startTerm(t, "telnet", "-l", "admin", "127.0.0.1", port(h))
	tm.expect("Debian GNU/Linux 12\r\nPassword: ", wait)
	tm.send("admin\r")
	tm.expect("The programs included with the Debian GNU/Linux system are free software;", wait)
	tm.expect("admin@files01:~$ ", wait)
	tm.send("id\r")
	tm.expect("uid=", wait)
	h.Wait(t, wait, "login via environ", servicetest.Type(event.Auth, "username=admin", "password=admin", "outcome=success"))
	fp := h.Wait(t, wait, "client fingerprint", servicetest.Type(event.Fingerprint))
	if !strings.Contains(fp.Fields["env"], "USER=admin") {
		t.Errorf("fingerprint env = %q, want USER=admin", fp.Fields["env"])
	}
}

func TestBusyBoxLoginWithTelnetClient(t *testing.T) {
	testenv.RequireTool(t, "telnet")
	h := start(t, service.Config{Distro: "alpine", OSFamily: "embedded", Hostname: "cam-21"})
	tm := startTerm(t, "telnet", "127.0.0.1", port(h))
	tm.expect("cam-21 login: ", wait)
	tm.send("support\r")
	tm.expect("Password: ", wait)
	tm.send("support\r")
	tm.expect("\r\nLogin incorrect\r\ncam-21 login: ", wait)
	tm.send("admin\r")
	tm.expect("Password: ", wait)
	tm.send("admin\r")
	tm.expect("cam-21:~$ ", wait)
	tm.send("cat /etc/os-release | head -1\r")
	tm.expect("Alpine Linux", wait)
	h.Wait(t, wait, "busybox failure", servicetest.Type(event.Auth, "username=support", "password=support", "outcome=failure", "style=busybox"))
	h.Wait(t, wait, "busybox command", servicetest.Type(event.Command, "command=cat /etc/os-release | head -1"))
}

func TestCiscoLoginWithTelnetClient(t *testing.T) {
	testenv.RequireTool(t, "telnet")
	h := start(t, service.Config{Distro: "ios", OSFamily: "cisco", Hostname: "SW-CORE-01", IP: "10.1.2.3/24",
		Persona: map[string]string{"users": "netadmin:Cisco123"}})
	tm := startTerm(t, "telnet", "127.0.0.1", port(h))
	tm.expect("\r\nUser Access Verification\r\n\r\nUsername: ", wait)
	tm.send("cisco\r")
	tm.expect("Password: ", wait)
	tm.send("cisco\r")
	tm.expect("\r\n% Authentication failed\r\n\r\nUsername: ", wait)
	tm.send("netadmin\r")
	tm.expect("Password: ", wait)
	tm.send("Cisco123\r")
	tm.expect("\r\nSW-CORE-01>", wait)
	tm.send("sh ver\r")
	out := tm.expect("SW-CORE-01>", wait)
	for _, want := range []string{"Cisco IOS Software, C2960X Software", "SW-CORE-01 uptime is ", "c2960x-universalk9-mz.152-7.E10.bin"} {
		if !strings.Contains(out, want) {
			t.Errorf("show version lacks %q:\n%s", want, out)
		}
	}
	tm.send("show ip interface brief\r")
	out = tm.expect("SW-CORE-01>", wait)
	if !strings.Contains(out, "10.1.2.3") {
		t.Errorf("show ip interface brief lacks the decky's IP:\n%s", out)
	}
	tm.send("show running-config\r")
	tm.expect("% Invalid input detected at '^' marker.", wait)
	tm.send("wget\r")
	tm.expect("% Unknown command or computer name, or unable to find computer address", wait)
	tm.send("enable\r")
	for i := 0; i < 3; i++ {
		tm.expect("Password: ", wait)
		tm.send("enable" + string(rune('1'+i)) + "\r")
	}
	tm.expect("% Bad secrets", wait)
	tm.send("exit\r")
	tm.expect("Connection closed by foreign host.", wait)

	h.Wait(t, wait, "cisco failed login", servicetest.Type(event.Auth, "username=cisco", "password=cisco", "outcome=failure", "style=cisco"))
	h.Wait(t, wait, "cisco login", servicetest.Type(event.Auth, "username=netadmin", "password=Cisco123", "outcome=success"))
	h.Wait(t, wait, "cisco command", servicetest.Type(event.Command, "command=sh ver", "mode=user-exec", "username=netadmin"))
	h.Wait(t, wait, "enable attempt", servicetest.Type(event.Auth, "method=enable", "password=enable3", "username=netadmin"))
}

// readFor reads what the server sends within d.
func readFor(t *testing.T, c net.Conn, d time.Duration) []byte {
	t.Helper()
	var out []byte
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(d))
	for {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			return out
		}
	}
}

// readUntil reads from c until what it read ends with suffix, or d has passed.
func readUntil(t *testing.T, c net.Conn, suffix string, d time.Duration) []byte {
	t.Helper()
	var out []byte
	buf := make([]byte, 4096)
	c.SetReadDeadline(time.Now().Add(d))
	defer c.SetReadDeadline(time.Time{})
	for !bytes.HasSuffix(out, []byte(suffix)) {
		n, err := c.Read(buf)
		out = append(out, buf[:n]...)
		if err != nil {
			break
		}
	}
	return out
}

// The first segment each style sends is what nmap's probes match on.
func TestFirstBytes(t *testing.T) {
	for _, tc := range []struct {
		name string
		cfg  service.Config
		want string
	}{
		{"linux", service.Config{Distro: "ubuntu22"}, "\xff\xfd\x18\xff\xfd\x20\xff\xfd\x23\xff\xfd\x27"},
		{"busybox", service.Config{Distro: "alpine", OSFamily: "embedded", Hostname: "cam-21"}, "\xff\xfd\x01\xff\xfd\x1f\xff\xfd\x21\xff\xfb\x01\xff\xfb\x03cam-21 login: "},
		{"cisco", service.Config{Distro: "ios", OSFamily: "cisco"}, "\xff\xfb\x01\xff\xfb\x03\xff\xfd\x18\xff\xfd\x1f\r\n\r\nUser Access Verification\r\n\r\nUsername: "},
	} {
		t.Run(tc.name, func(t *testing.T) {
			h := start(t, tc.cfg)
			c, err := net.Dial("tcp", h.Addr(23))
			if err != nil {
				t.Fatal(err)
			}
			defer c.Close()
			got := readFor(t, c, 1500*time.Millisecond)
			if string(got) != tc.want {
				t.Errorf("first bytes %q, want %q", got, tc.want)
			}
		})
	}
}

// A client that answers nothing still gets the login prompt after telnetd's wait,
// and a raw-socket bot's credentials (IAC-escaped 0xFF, hostile bytes) are
// recorded exactly.
func TestRawClientHostileCredentials(t *testing.T) {
	h := start(t, service.Config{Distro: "ubuntu22", Hostname: "h1", Persona: map[string]string{"max_tries": "1"}})
	c, err := net.Dial("tcp", h.Addr(23))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	// Refuse everything telnetd asks for once it has asked, as a minimal bot does
	// (a refusal that arrives before the request answers nothing: telnetd then
	// waits its full negotiation time, as in the full suite once).
	if got := readUntil(t, c, "\xff\xfd'", 10*time.Second); !bytes.HasSuffix(got, []byte{cmdIAC, cmdDO, optNewEnviron}) {
		t.Fatalf("no option requests: %q", got)
	}
	c.Write([]byte{cmdIAC, cmdWONT, optTTYPE, cmdIAC, cmdWONT, optTSPEED, cmdIAC, cmdWONT, optXDISPLOC, cmdIAC, cmdWONT, optNewEnviron})
	// It asks again (echo, SGA…), gets no answer, and carries on after its wait.
	if got := readUntil(t, c, "Ubuntu 22.04.4 LTS\r\nh1 login: ", 15*time.Second); !bytes.HasSuffix(got, []byte("Ubuntu 22.04.4 LTS\r\nh1 login: ")) {
		t.Fatalf("no login prompt: %q", got)
	}
	user := "ro]ot\"\x1b[31m\xff"
	pw := "p\\w]\x00\"\xfe\xff"
	c.Write(append(escapeIAC([]byte(user)), '\r', 0))
	c.Write(append(escapeIAC([]byte(pw)), '\r', '\n'))
	e := h.Wait(t, wait, "hostile auth", servicetest.Type(event.Auth, "outcome=failure"))
	if b, _ := base64.StdEncoding.DecodeString(e.Fields["username_b64"]); string(b) != user {
		t.Errorf("username bytes %q, want %q", b, user)
	}
	// The NUL is dropped by the line reader as a terminal would; the rest is exact.
	if b, _ := base64.StdEncoding.DecodeString(e.Fields["secret_b64"]); string(b) != "p\\w]\"\xfe\xff" {
		t.Errorf("password bytes %q", b)
	}
	if e.Fields["password"] != event.SafeTerminal("p\\w]\"\xfe\xff") {
		t.Errorf("printable password %q", e.Fields["password"])
	}
	// max_tries=1: the connection ends after the first failure.
	rest := readFor(t, c, 3*time.Second)
	if !strings.Contains(string(rest), "Login incorrect") {
		t.Errorf("after the failure the server sent %q", rest)
	}
	if _, err := c.Read(make([]byte, 1)); err != io.EOF {
		t.Errorf("connection still open after max_tries failures (err %v)", err)
	}
}

func TestAreYouThere(t *testing.T) {
	h := start(t, service.Config{Distro: "ios", OSFamily: "cisco"})
	c, err := net.Dial("tcp", h.Addr(23))
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	readFor(t, c, 500*time.Millisecond)
	c.Write([]byte{cmdIAC, cmdAYT})
	if got := readFor(t, c, 500*time.Millisecond); string(got) != "\r\n[Yes]\r\n" {
		t.Errorf("AYT answered %q", got)
	}
}

// nmap -sV names each style as the product it imitates.
func TestNmapNamesTelnetd(t *testing.T) {
	testenv.RequireTool(t, "nmap")
	for _, tc := range []struct {
		name string
		cfg  service.Config
		want *regexp.Regexp
	}{
		{"linux", service.Config{Distro: "ubuntu22", Hostname: "web-prod-03"}, regexp.MustCompile(`open\s+telnet\s+Linux telnetd`)},
		{"busybox", service.Config{Distro: "alpine", OSFamily: "embedded", Hostname: "cam-21"}, regexp.MustCompile(`open\s+telnet\s+BusyBox telnetd`)},
		{"cisco", service.Config{Distro: "ios", OSFamily: "cisco", Hostname: "SW-CORE-01"}, regexp.MustCompile(`open\s+telnet\s+Cisco (IOS|router) telnetd`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := servicetest.Start(t, "telnet", tc.cfg)
			out, err := exec.Command("nmap", "-sV", "-Pn", "-n", "--version-intensity", "7", "-p", port(h), "127.0.0.1").CombinedOutput()
			if err != nil {
				t.Fatalf("nmap: %v\n%s", err, out)
			}
			if !tc.want.Match(out) {
				t.Errorf("nmap did not name the service %v:\n%s", tc.want, out)
			}
		})
	}
}
