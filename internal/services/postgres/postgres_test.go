package postgres

import (
	"bytes"
	"encoding/binary"
	"encoding/hex"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/testenv"
)

func runTool(t *testing.T, timeout time.Duration, env []string, name string, args ...string) string {
	t.Helper()
	out, _ := servicetest.Run(t, timeout, env, name, args...)
	return out
}

func hostPort(addr string) (string, string) {
	i := strings.LastIndexByte(addr, ':')
	return addr[:i], addr[i+1:]
}

// psql connects with a password in the connection string and returns its output.
func psql(t *testing.T, h *servicetest.Harness, user, password string) string {
	t.Helper()
	host, port := hostPort(h.Addr(Port))
	conn := "host=" + host + " port=" + port + " user=" + user + " password=" + password + " dbname=sales sslmode=disable connect_timeout=5"
	return runTool(t, 30*time.Second, []string{"PGAPPNAME=decnet-test"}, "psql", conn, "-c", "select 1")
}

func wantFatal(t *testing.T, out, user string) {
	t.Helper()
	want := `FATAL:  password authentication failed for user "` + user + `"`
	if !strings.Contains(out, want) {
		t.Fatalf("psql output %q lacks %q", out, want)
	}
}

func TestPsqlSCRAM(t *testing.T) {
	testenv.RequireTool(t, "psql")
	h := servicetest.Start(t, "postgres", service.Config{Distro: "ubuntu22"})
	wantFatal(t, psql(t, h, "admin", "Secret1"), "admin")
	e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "username=admin"))
	if e.Fields["secret_kind"] != "postgres_scram_sha256" || e.Fields["database"] != "sales" || e.Fields["outcome"] != "failure" ||
		e.Fields["application_name"] != "decnet-test" || e.AttackerIP != "127.0.0.1" {
		t.Fatalf("auth event fields wrong: %+v", e)
	}
	c, err := ParseSCRAM(e.Fields["hash"])
	if err != nil {
		t.Fatal(err)
	}
	if !VerifySCRAM(c, "Secret1") || VerifySCRAM(c, "secret1") {
		t.Fatalf("captured exchange does not verify Secret1 (and only it): %+v", c)
	}
	// A dictionary run over the capture finds the password.
	if got := crackSCRAM(c, []string{"123456", "password", "Secret1", "admin"}); got != "Secret1" {
		t.Fatalf("wordlist check found %q", got)
	}
	// The user's salt is the same on the next connection, the nonce is not.
	psql(t, h, "admin", "other")
	var caps []SCRAMCapture
	for _, e := range h.Events() {
		if e.Type == event.Auth && e.Fields["username"] == "admin" {
			c, _ := ParseSCRAM(e.Fields["hash"])
			caps = append(caps, c)
		}
	}
	if len(caps) != 2 || !bytes.Equal(caps[0].Salt, caps[1].Salt) || caps[0].AuthMessage == caps[1].AuthMessage {
		t.Fatalf("salt not stable per user or nonce reused: %+v", caps)
	}
}

func crackSCRAM(c SCRAMCapture, words []string) string {
	for _, w := range words {
		if VerifySCRAM(c, w) {
			return w
		}
	}
	return ""
}

func TestPsqlMD5(t *testing.T) {
	testenv.RequireTool(t, "psql")
	h := servicetest.Start(t, "postgres", service.Config{Distro: "debian", Persona: map[string]string{"auth": "md5"}})
	wantFatal(t, psql(t, h, "postgres", "Secret1"), "postgres")
	e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "username=postgres"))
	hash := e.Fields["hash"]
	if e.Fields["secret_kind"] != "postgres_md5" || !strings.HasPrefix(hash, "$postgres$postgres*") {
		t.Fatalf("md5 capture wrong: %+v", e.Fields)
	}
	f := strings.Split(strings.TrimPrefix(hash, "$postgres$"), "*")
	salt, _ := hex.DecodeString(f[1])
	if len(f) != 3 || len(salt) != 4 || f[2] != md5Response("Secret1", "postgres", salt) {
		t.Fatalf("hash %q is not md5(md5(Secret1+postgres)+salt)", hash)
	}
}

func TestPsqlCleartext(t *testing.T) {
	testenv.RequireTool(t, "psql")
	h := servicetest.Start(t, "postgres", service.Config{Persona: map[string]string{"auth": "password"}})
	wantFatal(t, psql(t, h, "admin", "p@ss]\"word"), "admin")
	e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "username=admin"))
	if e.Fields["password"] != "p@ss]\"word" || e.Fields["secret_kind"] != "plaintext" {
		t.Fatalf("cleartext capture wrong: %+v", e.Fields)
	}
}

// TestPsqlSSLPrefer: psql's default sslmode=prefer asks for TLS first; the
// server declines as one without ssl configured does, and psql goes on in clear.
func TestPsqlSSLPrefer(t *testing.T) {
	testenv.RequireTool(t, "psql")
	h := servicetest.Start(t, "postgres", service.Config{})
	host, port := hostPort(h.Addr(Port))
	out := runTool(t, 30*time.Second, []string{"PGPASSWORD=hunter2"}, "psql", "-h", host, "-p", port, "-U", "dba", "-d", "postgres", "-c", "select 1")
	wantFatal(t, out, "dba")
	h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "username=dba", "ssl_requested=true"))
}

func TestNmapNamesPostgreSQL(t *testing.T) {
	testenv.RequireTool(t, "nmap")
	for _, tc := range []struct{ distro, want string }{
		{"debian", "PostgreSQL DB"},
		{"ubuntu22", "PostgreSQL DB 14.1 - 14.5"},
	} {
		t.Run(tc.distro, func(t *testing.T) {
			h := servicetest.Start(t, "postgres", service.Config{Distro: tc.distro})
			host, port := hostPort(h.Addr(Port))
			out := runTool(t, 3*time.Minute, nil, "nmap", "-Pn", "-n", "-sV", "--version-intensity", "7", "-p", port, host)
			if !strings.Contains(out, "postgresql") || !strings.Contains(out, tc.want) {
				t.Fatalf("nmap does not name %q:\n%s", tc.want, out)
			}
		})
	}
}

func TestHashcatCracksMD5(t *testing.T) {
	testenv.RequireTool(t, "hashcat", "psql")
	h := servicetest.Start(t, "postgres", service.Config{Persona: map[string]string{"auth": "md5"}})
	psql(t, h, "admin", "Winter2024!")
	e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth, "username=admin"))
	if got := servicetest.Hashcat(t, "11100", e.Fields["hash"], []string{"123456", "password", "Winter2024!", "letmein"}); got != "Winter2024!" {
		t.Fatalf("hashcat recovered %q, want Winter2024!", got)
	}
}

// TestHostileValues sends a user name and password holding every byte the event
// codec must escape; both arrive in the event byte for byte.
func TestHostileValues(t *testing.T) {
	h := servicetest.Start(t, "postgres", service.Config{Persona: map[string]string{"auth": "password"}})
	c, err := net.DialTimeout("tcp", h.Addr(Port), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(5 * time.Second))
	user, pw := "a]\"b\\\nc\x1b[31m\xff", "p]\"\r\n\x1b\xfe"
	c.Write(startupPacket(3<<16, "user", user))
	buf := make([]byte, 9)
	if _, err := io.ReadFull(c, buf); err != nil || buf[0] != 'R' || buf[8] != 3 {
		t.Fatalf("no cleartext request: %q %v", buf, err)
	}
	body := append([]byte(pw), 0)
	c.Write(append(append([]byte{'p'}, binary.BigEndian.AppendUint32(nil, uint32(len(body)+4))...), body...))
	reply, _ := io.ReadAll(c)
	if !bytes.Contains(reply, []byte(`password authentication failed for user "`+user+`"`)) {
		t.Fatalf("reply %q", reply)
	}
	e := h.Wait(t, 5*time.Second, "auth", servicetest.Type(event.Auth))
	if e.Fields["username"] != user || e.Fields["password"] != pw {
		t.Fatalf("event %q / %q, want %q / %q", e.Fields["username"], e.Fields["password"], user, pw)
	}
}
