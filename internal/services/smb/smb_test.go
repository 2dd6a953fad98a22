package smb

import (
	"fmt"
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

func run10(t *testing.T, timeout time.Duration, name string, args ...string) string {
	t.Helper()
	out, _ := servicetest.Run(t, timeout, nil, name, args...)
	return out
}

// verifyNTLMv2 fails unless the captured line verifies with the password: the line
// is only useful if a cracker that guesses the password gets the same value.
func verifyNTLMv2(t *testing.T, line, password string) {
	t.Helper()
	if !strings.HasPrefix(line, strings.SplitN(line, ":", 2)[0]+"::") || !VerifyHash(line, password) {
		t.Fatalf("NTProofStr of %q does not verify with password %q", line, password)
	}
}

func TestSmbclientWindows(t *testing.T) {
	testenv.RequireTool(t, "smbclient")
	h := servicetest.Start(t, "smb", service.Config{Distro: "windows10", OSFamily: "windows", Hostname: "DESKTOP-7QK2M1B"})
	_, port, _ := net.SplitHostPort(h.Addr(Port))
	out := run10(t, 30*time.Second, "smbclient", "-L", "//127.0.0.1", "-p", port, "-U", "jsmith%Passw0rd", "-W", "CORP")
	if !strings.Contains(out, "NT_STATUS_LOGON_FAILURE") {
		t.Fatalf("smbclient did not see a logon failure:\n%s", out)
	}
	fp := h.Wait(t, 5*time.Second, "negotiate fingerprint", servicetest.Type(event.Fingerprint, "smb_version=smb2"))
	if fp.Fields["dialect"] != "3.1.1" || !strings.Contains(fp.Fields["dialects"], "2.0.2") {
		t.Errorf("fingerprint: %+v", fp.Fields)
	}
	e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "username=jsmith", "secret_kind=ntlmv2"))
	if e.Fields["domain"] != "CORP" || e.Fields["outcome"] != "failure" || e.AttackerIP != "127.0.0.1" || e.Fields["secret_b64"] == "" {
		t.Errorf("auth event: %+v", e.Fields)
	}
	if !strings.HasPrefix(e.Fields["hash"], "jsmith::CORP:"+e.Fields["server_challenge"]+":") {
		t.Errorf("hash line %q", e.Fields["hash"])
	}
	verifyNTLMv2(t, e.Fields["hash"], "Passw0rd")

	// Anonymous: refused with access denied, recorded without a secret.
	out = run10(t, 30*time.Second, "smbclient", "-N", "-L", "//127.0.0.1", "-p", port)
	if !strings.Contains(out, "NT_STATUS_ACCESS_DENIED") {
		t.Errorf("anonymous smbclient:\n%s", out)
	}
	h.Wait(t, 5*time.Second, "anonymous auth", servicetest.Type(event.Auth, "method=anonymous"))
}

func TestSmbclientSambaHashcat(t *testing.T) {
	testenv.RequireTool(t, "smbclient", "hashcat")
	h := servicetest.Start(t, "smb", service.Config{Distro: "debian", OSFamily: "linux", Hostname: "files01"})
	_, port, _ := net.SplitHostPort(h.Addr(Port))
	out := run10(t, 30*time.Second, "smbclient", "-L", "//127.0.0.1", "-p", port, "-U", "backup%Summer2024!")
	if !strings.Contains(out, "NT_STATUS_LOGON_FAILURE") {
		t.Fatalf("smbclient did not see a logon failure:\n%s", out)
	}
	e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "username=backup", "secret_kind=ntlmv2"))
	verifyNTLMv2(t, e.Fields["hash"], "Summer2024!")

	if got := servicetest.Hashcat(t, "5600", e.Fields["hash"], []string{"123456", "password", "Summer2024!", "letmein", "qwerty"}); got != "Summer2024!" {
		t.Fatalf("hashcat -m 5600 recovered %q, want Summer2024!", got)
	}
}

// nmap's SMB2 scripts see the persona: signing enabled but not required, and the
// dialects it offers.
func TestNmapSMB2Scripts(t *testing.T) {
	testenv.RequireTool(t, "nmap")
	// nmap's SMB scripts only run against 445 (or 139), so listen on a free loopback
	// address at 445 (binding it needs root or a low ip_unprivileged_port_start).
	addr := freeLoopback(t, Port)
	h := servicetest.Start(t, "smb", service.Config{Distro: "windows2019", OSFamily: "windows_server", Hostname: "FS01"},
		func(rt *service.Runtime) { rt.Bind[Port] = addr })
	host, port, _ := net.SplitHostPort(h.Addr(Port))
	out := run10(t, 3*time.Minute, "nmap", "-Pn", "-sV", "-p", port, "--script", "smb2-security-mode,smb-protocols,smb2-time", host)
	for _, want := range []string{"445/tcp open  microsoft-ds", "Message signing enabled but not required", "    202\n", "|_    311\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("nmap output lacks %q:\n%s", want, out)
		}
	}
	if strings.Contains(out, "SMBv1") { // SMB1 is off, as on a current Windows
		t.Errorf("nmap found SMB1:\n%s", out)
	}
	if strings.Contains(strings.ToLower(out), "honeypot") {
		t.Errorf("nmap calls it a honeypot:\n%s", out)
	}
}

// ntlmv1Matches reports whether a hashcat 5500 line (user::domain:lm:nt:challenge)
// is the NetNTLMv1 response of password.
func ntlmv1Matches(t *testing.T, line, password string) bool {
	if len(strings.Split(line, ":")) != 6 {
		t.Fatalf("hash %q is not user::domain:lm:nt:challenge", line)
	}
	return VerifyHash(line, password)
}

// freeLoopback returns a 127.0.0.x:port address nothing listens on; it skips (fails in
// the full suite) when the port cannot be bound.
func freeLoopback(t *testing.T, port int) string {
	t.Helper()
	var last error
	for i := 2; i < 50; i++ {
		a := fmt.Sprintf("127.0.0.%d:%d", i, port)
		l, err := net.Listen("tcp", a)
		if err == nil {
			l.Close()
			return a
		}
		last = err
	}
	testenv.Missing(t, "cannot listen on a loopback address at port %d (needs root): %v", port, last)
	return ""
}

func TestHydraSMB1(t *testing.T) {
	testenv.RequireTool(t, "hydra")
	h := servicetest.Start(t, "smb", service.Config{Distro: "windows10", OSFamily: "windows", Hostname: "PC-ACCT-04",
		Persona: map[string]string{KeySMB1: "true"}})
	_, port, _ := net.SplitHostPort(h.Addr(Port))
	dir := t.TempDir()
	pw := []string{"123456", "password", "Winter2023", "admin", "letmein"}
	os.WriteFile(filepath.Join(dir, "pw.txt"), []byte(strings.Join(pw, "\n")+"\n"), 0o600)
	out := run10(t, 3*time.Minute, "hydra", "-l", "administrator", "-P", filepath.Join(dir, "pw.txt"), "-s", port, "-t", "1", "-m", "local", "127.0.0.1", "smb")
	// hydra's NTLM dialect sends NetNTLMv1: every password it tried must be the one
	// behind exactly one captured response.
	deadline := time.Now().Add(10 * time.Second)
	var found map[string]bool
	for time.Now().Before(deadline) {
		found = map[string]bool{}
		for _, e := range h.Events() {
			if e.Type != event.Auth || e.Fields["method"] != "smb1" || e.Fields["secret_kind"] != "ntlmv1" || e.Fields["username"] != "administrator" {
				continue
			}
			if ntlmv1Matches(t, e.Fields["hash"], "not-a-tried-password") {
				t.Fatalf("%q matches a password hydra never sent", e.Fields["hash"])
			}
			for _, p := range pw {
				if ntlmv1Matches(t, e.Fields["hash"], p) {
					found[p] = true
				}
			}
		}
		if len(found) == len(pw) {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if len(found) != len(pw) {
		t.Errorf("captured responses match %v of %v:\n%s", found, pw, out)
	}
	if strings.Contains(out, "valid password found") && !strings.Contains(out, "0 valid password") {
		t.Errorf("hydra believes a password worked:\n%s", out)
	}
}

// With SMB1 enabled, nmap's smb-os-discovery reads the persona from the SMB1 logon.
func TestNmapSMB1OSDiscovery(t *testing.T) {
	testenv.RequireTool(t, "nmap")
	addr := freeLoopback(t, Port)
	h := servicetest.Start(t, "smb", service.Config{Distro: "windows2019", OSFamily: "windows_server", Hostname: "FS01",
		Persona: map[string]string{KeySMB1: "true"}}, func(rt *service.Runtime) { rt.Bind[Port] = addr })
	host, port, _ := net.SplitHostPort(h.Addr(Port))
	out := run10(t, 3*time.Minute, "nmap", "-Pn", "-sV", "-p", port, "--script", "smb-os-discovery,smb-protocols", host)
	for _, want := range []string{
		"445/tcp open  microsoft-ds Windows Server 2019 Standard 17763 microsoft-ds (workgroup: FS01)",
		"OS: Windows Server 2019 Standard 17763 (Windows Server 2019 Standard 6.3)",
		"NetBIOS computer name: FS01",
		"NT LM 0.12 (SMBv1)",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("nmap output lacks %q:\n%s", want, out)
		}
	}
	// nmap's guest attempt is a captured NetNTLMv1 logon; its null session is recorded.
	h.Wait(t, 5*time.Second, "guest logon", servicetest.Type(event.Auth, "username=guest", "secret_kind=ntlmv1"))
	h.Wait(t, 5*time.Second, "null session", servicetest.Type(event.Auth, "method=anonymous"))
}

// A Linux decky is Samba with SMB1 off: nmap's SMB1 probe gets Samba's "no dialect"
// answer, which nmap names Samba smbd; the SMB2 scripts still work.
func TestNmapSamba(t *testing.T) {
	testenv.RequireTool(t, "nmap")
	addr := freeLoopback(t, Port)
	h := servicetest.Start(t, "smb", service.Config{Distro: "debian", OSFamily: "linux", Hostname: "files01"},
		func(rt *service.Runtime) { rt.Bind[Port] = addr })
	host, port, _ := net.SplitHostPort(h.Addr(Port))
	out := run10(t, 3*time.Minute, "nmap", "-Pn", "-sV", "-p", port, "--script", "smb2-security-mode,smb-protocols", host)
	for _, want := range []string{"Samba smbd", "Message signing enabled but not required", "|_    311\n"} {
		if !strings.Contains(out, want) {
			t.Errorf("nmap output lacks %q:\n%s", want, out)
		}
	}
}
