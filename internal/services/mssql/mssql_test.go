package mssql

import (
	"net"
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

// tsql runs FreeTDS's tsql (freetds-bin) with its own freetds.conf.
func tsql(t *testing.T, addr, user, pass, encryption string) string {
	t.Helper()
	host, port, _ := strings.Cut(addr, ":")
	dir := t.TempDir()
	conf := filepath.Join(dir, "freetds.conf")
	os.WriteFile(conf, []byte("[global]\n\ttds version = 7.4\n\tencryption = "+encryption+"\n"), 0o600)
	out, _ := servicetest.Run(t, 30*time.Second, []string{"FREETDSCONF=" + conf, "HOME=" + dir}, "tsql", "-H", host, "-p", port, "-U", user, "-P", pass)
	return out
}

func TestTsqlLoginFailed(t *testing.T) {
	// FreeTDS's encryption setting → what it asks for in PRELOGIN → what SQL Server
	// answers: "off" says it cannot encrypt and logs in in clear, "request" gets the
	// login encrypted (the rest in clear), "require" gets everything encrypted.
	for _, tc := range []struct {
		freetds, client, server string
		tls                     bool
	}{
		{"off", "not_supported", "not_supported", false}, {"request", "off", "off", true}, {"require", "on", "on", true},
	} {
		t.Run(tc.freetds, func(t *testing.T) {
			h := servicetest.Start(t, "mssql", service.Config{Distro: "windows2019", OSFamily: "windows_server", Hostname: "sql01"})
			out := tsql(t, h.Addr(Port), "sa", "P@ss'w0rd]", tc.freetds)
			if !strings.Contains(out, `Msg 18456 (severity 14, state 1) from SQL01`) || !strings.Contains(out, "Login failed for user 'sa'.") {
				t.Fatalf("tsql did not show SQL Server's login failure:\n%s", out)
			}
			h.Wait(t, 5*time.Second, "prelogin", servicetest.Type(event.Request, "kind=prelogin", "encryption="+tc.client, "server_encryption="+tc.server))
			if tc.tls {
				h.Wait(t, 5*time.Second, "tls", servicetest.Type(event.Fingerprint, "kind=tls"))
			}
			e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "username=sa", "password=P@ss'w0rd]", "secret_kind=plaintext", "app=TSQL", "method=sql"))
			if e.AttackerIP != "127.0.0.1" || e.Fields["client_host"] == "" || e.Fields["tds_version"] != "7.4" {
				t.Errorf("auth event: %v", e.Fields)
			}
		})
	}
}

func TestHydraEveryPairCaptured(t *testing.T) {
	h := servicetest.Start(t, "mssql", service.Config{Distro: "windows2022", OSFamily: "windows_server", Hostname: "sql02", Persona: map[string]string{KeyVersion: "2022"}})
	host, port, _ := strings.Cut(h.Addr(Port), ":")
	dir := t.TempDir()
	users, pass := []string{"sa", "admin"}, []string{"123456", "password", "sa", "Summer2024!", "P@ssw0rd"}
	os.WriteFile(filepath.Join(dir, "users"), []byte(strings.Join(users, "\n")+"\n"), 0o600)
	os.WriteFile(filepath.Join(dir, "pass"), []byte(strings.Join(pass, "\n")+"\n"), 0o600)
	out, _ := servicetest.Run(t, 2*time.Minute, nil, "hydra", "-I", "-t", "2", "-L", filepath.Join(dir, "users"), "-P", filepath.Join(dir, "pass"), "-s", port, "-o", filepath.Join(dir, "found"), host, "mssql")
	t.Logf("%s", out)
	if !strings.Contains(out, "0 valid password") {
		t.Errorf("hydra found a valid password:\n%s", out)
	}
	for _, u := range users {
		for _, p := range pass {
			h.Wait(t, 10*time.Second, u+"/"+p, servicetest.Type(event.Auth, "username="+u, "password="+p, "secret_kind=plaintext", "method=tds42"))
		}
	}
}

// startOn1433 runs the service on 127.0.0.1:1433 when that port is free (nmap
// sends its SQL Server probe early only to the port its probe file names), else
// on an ephemeral port.
func startOn1433(t *testing.T, cfg service.Config) *servicetest.Harness {
	if l, err := net.Listen("tcp", "127.0.0.1:1433"); err == nil {
		l.Close()
		return servicetest.Start(t, "mssql", cfg, func(rt *service.Runtime) { rt.Bind[Port] = "127.0.0.1:1433" })
	}
	t.Log("127.0.0.1:1433 is busy: nmap runs against an ephemeral port (slower: its SQL Server probe comes late)")
	return servicetest.Start(t, "mssql", cfg)
}

// fixedNmapData is an nmap data directory whose nselib/mssql.lua carries nmap's
// upstream fix for 7.93 (nmap issue #2622: GetTargetInstances misreads
// GetDiscoveredInstances' single return value, and InitScript counts a map with
// #), without which every ms-sql-* script fails against real SQL Servers too.
func fixedNmapData(t *testing.T) string {
	testenv.RequireTool(t, "nmap")
	src, err := os.ReadFile("/usr/share/nmap/nselib/mssql.lua")
	if err != nil {
		t.Fatalf("nmap is installed but its mssql.lua is not: %v", err)
	}
	lua := strings.Replace(string(src), "local status, instances = Helper.GetDiscoveredInstances(host, port)\n      if status then",
		"local instances = Helper.GetDiscoveredInstances(host, port)\n      if instances then", 1)
	lua = strings.Replace(lua, "if #output > 0 then\n        return outlib.sorted_by_key(output)", "if next(output) then\n        return outlib.sorted_by_key(output)", 1)
	dir := t.TempDir()
	os.MkdirAll(filepath.Join(dir, "nselib"), 0o755)
	if err := os.WriteFile(filepath.Join(dir, "nselib", "mssql.lua"), []byte(lua), 0o644); err != nil {
		t.Fatal(err)
	}
	return dir
}

func TestNmapVersionAndNTLMInfo(t *testing.T) {
	h := startOn1433(t, service.Config{Distro: "windows2019", OSFamily: "windows_server", Hostname: "sql01",
		Persona: map[string]string{KeyDomain: "corp.local"}})
	_, port, _ := strings.Cut(h.Addr(Port), ":")
	out, err := servicetest.Run(t, 4*time.Minute, nil, "nmap", "--datadir", fixedNmapData(t), "-Pn", "-n", "-sV",
		"--script", "ms-sql-info,ms-sql-ntlm-info", "-p", port, "127.0.0.1")
	if err != nil {
		t.Fatalf("nmap: %v\n%s", err, out)
	}
	t.Logf("%s", out)
	for _, want := range []string{"Microsoft SQL Server 2019 15.00.2000", "Product: Microsoft SQL Server 2019", "number: 15.00.2000",
		"Target_Name: CORP", "NetBIOS_Computer_Name: SQL01", "DNS_Computer_Name: sql01.corp.local", "Product_Version: 10.0.17763"} {
		if !strings.Contains(out, want) {
			t.Errorf("nmap output lacks %q:\n%s", want, out)
		}
	}
}

func TestTsqlIntegratedNTLM(t *testing.T) {
	h := servicetest.Start(t, "mssql", service.Config{Distro: "windows2022", OSFamily: "windows_server", Hostname: "sql03",
		Persona: map[string]string{KeyDomain: "corp.local"}})
	out := tsql(t, h.Addr(Port), `CORP\alice`, "Secret1", "request")
	if !strings.Contains(out, "Login failed. The login is from an untrusted domain and cannot be used with Integrated authentication.") || !strings.Contains(out, "18452") {
		t.Fatalf("tsql did not show SQL Server's integrated logon failure:\n%s", out)
	}
	e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "username=alice", "domain=CORP", "method=sspi_ntlm", "secret_kind=ntlmv2"))
	if !ntlmssp.VerifyHash(e.Fields["hash"], "Secret1") {
		t.Fatalf("captured hash %q does not verify with the password", e.Fields["hash"])
	}
	if got := servicetest.Hashcat(t, "5600", e.Fields["hash"], []string{"Password1", "Secret1", "letmein"}); got != "Secret1" {
		t.Fatalf("hashcat recovered %q", got)
	}
}
