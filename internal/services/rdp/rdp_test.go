package rdp

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/services/ntlmssp"
	"decnet/internal/testenv"
)

// xfreerdp runs the real FreeRDP client (+auth-only: NLA only, no session) against
// the service and returns its output.
func xfreerdp(t *testing.T, addr, user, pass, domain string) string {
	t.Helper()
	testenv.RequireTool(t, "xfreerdp")
	host, port, _ := strings.Cut(addr, ":")
	args := []string{"-a", "xfreerdp", "/v:" + host + ":" + port, "/u:" + user, "/p:" + pass, "/cert:ignore", "+auth-only", "/log-level:INFO"}
	if domain != "" {
		args = append(args, "/d:"+domain)
	}
	out, _ := servicetest.Run(t, 60*time.Second, []string{"HOME=" + t.TempDir()}, "xvfb-run", args...)
	return out
}

func TestXFreeRDPLogonFailureAndHashcat(t *testing.T) {
	h := servicetest.Start(t, "rdp", service.Config{Distro: "windows2019", OSFamily: "windows_server", Hostname: "srv-files01",
		Persona: map[string]string{KeyDomain: "corp.local"}})
	out := xfreerdp(t, h.Addr(Port), "alice", "Secret1", "CORP")
	// The client's own view: the server refused the credentials, no protocol error.
	if !strings.Contains(out, "STATUS_LOGON_FAILURE") || !strings.Contains(out, "ERRCONNECT_LOGON_FAILURE") {
		t.Fatalf("xfreerdp did not report a logon failure:\n%s", out)
	}
	e := h.Wait(t, 10*time.Second, "auth", servicetest.Type(event.Auth, "username=alice", "domain=CORP", "secret_kind=ntlmv2"))
	if !ntlmssp.VerifyHash(e.Fields["hash"], "Secret1") {
		t.Fatalf("captured hash %q does not verify with the password", e.Fields["hash"])
	}
	if e.Fields["cookie_user"] != "alice" || e.Fields["workstation"] == "" || e.AttackerIP != "127.0.0.1" {
		t.Errorf("auth event fields: %v", e.Fields)
	}
	h.Wait(t, 5*time.Second, "x224", servicetest.Type(event.Request, "kind=x224", "username=alice", "selected=hybrid"))
	if got := servicetest.Hashcat(t, "5600", e.Fields["hash"], []string{"Password1", "Winter2024!", "Secret1", "letmein"}); got != "Secret1" {
		t.Fatalf("hashcat recovered %q", got)
	}
}

func TestNmapVersionAndNTLMInfo(t *testing.T) {
	h := servicetest.Start(t, "rdp", service.Config{Distro: "windows2022", OSFamily: "windows_server", Hostname: "dc01",
		Persona: map[string]string{KeyDomain: "corp.local"}})
	_, port, _ := strings.Cut(h.Addr(Port), ":")
	out, err := servicetest.Run(t, 3*time.Minute, nil, "nmap", "-Pn", "-n", "-sV", "--script", "rdp-ntlm-info,rdp-enum-encryption", "-p", port, "127.0.0.1")
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	for _, want := range []string{"Microsoft Terminal Services", "Target_Name: CORP", "NetBIOS_Domain_Name: CORP", "NetBIOS_Computer_Name: DC01",
		"DNS_Domain_Name: corp.local", "DNS_Computer_Name: dc01.corp.local", "DNS_Tree_Name: corp.local", "Product_Version: 10.0.20348", "CredSSP (NLA): SUCCESS"} {
		if !strings.Contains(out, want) {
			t.Errorf("nmap output lacks %q:\n%s", want, out)
		}
	}
}

// TestHydra: every pair hydra's rdp module (FreeRDP underneath) tries becomes an
// auth event whose NetNTLMv2 response verifies against exactly that password.
func TestHydra(t *testing.T) {
	h := servicetest.Start(t, "rdp", service.Config{Distro: "windows10", OSFamily: "windows", Hostname: "DESKTOP-7QK2M1B"})
	host, port, _ := strings.Cut(h.Addr(Port), ":")
	dir := t.TempDir()
	pass := []string{"123456", "password", "Winter2024!", "P@ssw0rd", "letmein"}
	os.WriteFile(filepath.Join(dir, "pass"), []byte(strings.Join(pass, "\n")+"\n"), 0o600)
	out, _ := servicetest.Run(t, 3*time.Minute, []string{"HOME=" + dir}, "hydra", "-I", "-t", "1", "-l", "administrator", "-P", filepath.Join(dir, "pass"), "-s", port, host, "rdp")
	if !strings.Contains(out, "0 valid password") {
		t.Errorf("hydra found a valid password:\n%s", out)
	}
	for _, p := range pass {
		h.Wait(t, 10*time.Second, "auth for "+p, func(e event.Event) bool {
			return e.Type == event.Auth && e.Fields["username"] == "administrator" && ntlmssp.VerifyHash(e.Fields["hash"], p)
		})
	}
}
