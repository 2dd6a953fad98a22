package mysql

import (
	"bytes"
	"encoding/base64"
	"encoding/hex"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/testenv"
)

// runTool runs a client tool with a deadline and returns its combined output.
func runTool(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	out, _ := servicetest.Run(t, timeout, nil, name, args...)
	return out
}

func hostPort(t *testing.T, addr string) (string, string) {
	t.Helper()
	i := strings.LastIndexByte(addr, ':')
	return addr[:i], addr[i+1:]
}

// checkNative asserts an auth event holds a mysql_native_password capture of
// password, in hashcat 11200 form.
func checkNative(t *testing.T, e event.Event, user, password string) {
	t.Helper()
	if e.Fields["username"] != user || e.Fields["secret_kind"] != pluginNative || e.Fields["outcome"] != "failure" || e.AttackerIP != "127.0.0.1" {
		t.Fatalf("auth event fields wrong: %+v", e)
	}
	h := e.Fields["hash"]
	salt, resp, ok := strings.Cut(strings.TrimPrefix(h, "$mysqlna$"), "*")
	if !strings.HasPrefix(h, "$mysqlna$") || !ok || len(salt) != 40 || len(resp) != 40 {
		t.Fatalf("hash %q is not in hashcat 11200 form", h)
	}
	sb, _ := hex.DecodeString(salt)
	if got := hex.EncodeToString(NativeScramble(password, sb)); got != resp {
		t.Fatalf("captured response %s is not the scramble of %q (want %s)", resp, password, got)
	}
	raw, _ := base64.StdEncoding.DecodeString(e.Fields["secret_b64"])
	if hex.EncodeToString(raw) != resp {
		t.Errorf("secret_b64 does not hold the response")
	}
}

func TestMySQLClient(t *testing.T) {
	testenv.RequireTool(t, "mysql")
	for _, tc := range []struct {
		distro, version string
	}{
		{"ubuntu22", "8.0.37-0ubuntu0.22.04.3"},
		{"debian", "5.5.5-10.11.6-MariaDB-0+deb12u1"},
		{"centos7", "5.5.68-MariaDB"},
	} {
		t.Run(tc.distro, func(t *testing.T) {
			h := servicetest.Start(t, "mysql", service.Config{Distro: tc.distro})
			host, port := hostPort(t, h.Addr(Port))
			out := runTool(t, 20*time.Second, "mysql", "-h"+host, "-P"+port, "--protocol=tcp", "--connect-timeout=5",
				"-uroot", "-pSecret1", "-Dshop", "-e", "select 1")
			want := "ERROR 1045 (28000): Access denied for user 'root'@'localhost' (using password: YES)"
			if !strings.Contains(out, want) {
				t.Fatalf("client output %q lacks %q", out, want)
			}
			e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth))
			checkNative(t, e, "root", "Secret1")
			if e.Fields["database"] != "shop" {
				t.Errorf("database %q, want shop", e.Fields["database"])
			}
			if !strings.Contains(e.Fields["client_version"], "libmariadb") {
				t.Errorf("client_version %q does not name the client library", e.Fields["client_version"])
			}
			if s := newServer(h.RT).p.wireVersion; s != tc.version {
				t.Errorf("wire version %q, want %q", s, tc.version)
			}

			// Without a password the error says so, and no secret is recorded.
			out = runTool(t, 20*time.Second, "mysql", "-h"+host, "-P"+port, "--protocol=tcp", "--connect-timeout=5", "-uscanner", "-e", "select 1")
			if want := "Access denied for user 'scanner'@'localhost' (using password: NO)"; !strings.Contains(out, want) {
				t.Fatalf("client output %q lacks %q", out, want)
			}
			e = h.Wait(t, 5*time.Second, "auth without password", servicetest.Type(event.Auth, "username=scanner", "password_used=no"))
			if e.IsCredential() {
				t.Errorf("an attempt without a password is recorded as a credential: %+v", e.Fields)
			}
		})
	}
}

// TestHydra runs hydra's mysql module with five passwords: every pair is captured.
func TestHydra(t *testing.T) {
	testenv.RequireTool(t, "hydra")
	h := servicetest.Start(t, "mysql", service.Config{Distro: "ubuntu22"})
	host, port := hostPort(t, h.Addr(Port))
	dir := t.TempDir()
	pw := []string{"123456", "password", "Secret1", "letmein", "qwerty"}
	list := filepath.Join(dir, "pw.txt")
	os.WriteFile(list, []byte(strings.Join(pw, "\n")+"\n"), 0o600)
	out := runTool(t, 90*time.Second, "hydra", "-l", "root", "-P", list, "-t", "2", "-s", port, "-I", "-o", filepath.Join(dir, "found"), host, "mysql")
	if !strings.Contains(out, "0 valid password") {
		t.Logf("hydra output: %s", out)
	}
	for _, p := range pw {
		found := false
		for _, e := range h.Events() {
			if e.Type != event.Auth || e.Fields["hash"] == "" {
				continue
			}
			salt, resp, _ := strings.Cut(strings.TrimPrefix(e.Fields["hash"], "$mysqlna$"), "*")
			sb, _ := hex.DecodeString(salt)
			if e.Fields["username"] == "root" && hex.EncodeToString(NativeScramble(p, sb)) == resp {
				found = true
			}
		}
		if !found {
			t.Errorf("hydra's attempt root/%s was not captured; hydra said: %s", p, out)
		}
	}
}

// TestNmapNamesProduct checks nmap -sV names the persona's product and version.
func TestNmapNamesProduct(t *testing.T) {
	testenv.RequireTool(t, "nmap")
	for _, tc := range []struct{ distro, want string }{
		{"ubuntu22", "MySQL 8.0.37-0ubuntu0.22.04.3"},
		{"debian", "5.5.5-10.11.6-MariaDB-0+deb12u1"},
	} {
		t.Run(tc.distro, func(t *testing.T) {
			h := servicetest.Start(t, "mysql", service.Config{Distro: tc.distro})
			host, port := hostPort(t, h.Addr(Port))
			out := runTool(t, 120*time.Second, "nmap", "-Pn", "-n", "-sV", "--version-intensity", "7", "-p", port, host)
			if !strings.Contains(out, "mysql") || !strings.Contains(out, tc.want) {
				t.Fatalf("nmap does not name %q:\n%s", tc.want, out)
			}
		})
	}
}

// TestHashcatCracks feeds a captured hash to hashcat -m 11200 with a small wordlist.
func TestHashcatCracks(t *testing.T) {
	testenv.RequireTool(t, "hashcat", "mysql")
	h := servicetest.Start(t, "mysql", service.Config{Distro: "ubuntu22"})
	host, port := hostPort(t, h.Addr(Port))
	runTool(t, 20*time.Second, "mysql", "-h"+host, "-P"+port, "--protocol=tcp", "-uroot", "-pWinter2024!", "-e", "select 1")
	e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "username=root"))
	got := servicetest.Hashcat(t, "11200", e.Fields["hash"], []string{"123456", "password", "Winter2024!", "letmein"})
	if got != "Winter2024!" {
		t.Fatalf("hashcat recovered %q, want Winter2024!", got)
	}
}

// TestHostileUsername sends a user name holding every byte the event codec must
// escape; it arrives in the event byte for byte, and the error names it as sent.
func TestHostileUsername(t *testing.T) {
	h := servicetest.Start(t, "mysql", service.Config{Distro: "debian"})
	c, err := net.DialTimeout("tcp", h.Addr(Port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	_, greet, err := readPacket(c)
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.IndexByte(greet[1:], 0) + 1
	salt := append(append([]byte{}, greet[i+5:i+13]...), greet[i+32:i+44]...)
	user := "a]\"b\\\nc\x1b[31m\xff\xfe"
	full := uint32(capProtocol41 | capSecureConnection | capPluginAuth | capPluginAuthLenenc)
	c.Write(packet(1, response41(full, user, string(NativeScramble("pw", salt)), "", pluginNative)))
	_, errp, err := readPacket(c)
	if err != nil || !bytes.Contains(errp, []byte("'"+user+"'@'localhost'")) {
		t.Fatalf("error packet %q (%v)", errp, err)
	}
	e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth))
	if e.Fields["username"] != user {
		t.Fatalf("username %q, want %q", e.Fields["username"], user)
	}
	checkNative(t, e, user, "pw")
}
