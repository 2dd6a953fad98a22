package analysis

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	gossh "golang.org/x/crypto/ssh"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/testenv"
)

// TestHASSHTable drives the real SSH clients the hasshTable entries were measured
// from at the ssh service in process, and checks that the HASSH each one sends
// (as the service computes it) still names it, so a client that lies in its
// identification string is still recognised.
func TestHASSHTable(t *testing.T) {
	h := servicetest.Start(t, "ssh", service.Config{ArtifactDir: t.TempDir()})
	addr := h.Addr(22)
	port := addr[strings.LastIndex(addr, ":")+1:]
	words := filepath.Join(t.TempDir(), "words")
	os.WriteFile(words, []byte("not-the-password\n"), 0o600)
	clients := []struct {
		tool, ident string
		run         func(t *testing.T)
	}{
		{"go-ssh", "SSH-2.0-Go", func(t *testing.T) {
			c, err := gossh.Dial("tcp", addr, &gossh.ClientConfig{User: "root", Auth: []gossh.AuthMethod{gossh.Password("nope")},
				HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: 10 * time.Second})
			if err == nil {
				c.Close()
			}
		}},
		{"hydra", "SSH-2.0-libssh_", func(t *testing.T) {
			servicetest.Run(t, time.Minute, nil, "hydra", "-l", "root", "-P", words, "-t", "1", "-s", port, "-I", "ssh://127.0.0.1")
		}},
		{"paramiko", "SSH-2.0-paramiko_", func(t *testing.T) {
			testenv.RequireTool(t, "/usr/bin/python3")
			servicetest.Run(t, time.Minute, nil, "/usr/bin/python3", "-c", `
import sys, paramiko
c = paramiko.SSHClient()
c.set_missing_host_key_policy(paramiko.AutoAddPolicy())
try: c.connect("127.0.0.1", int(sys.argv[1]), username="root", password="nope", look_for_keys=False, allow_agent=False, timeout=10)
except Exception: pass
`, port)
		}},
		{"openssh", "SSH-2.0-OpenSSH_", func(t *testing.T) {
			servicetest.Run(t, time.Minute, nil, "ssh", "-o", "BatchMode=yes", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
				"-o", "ConnectTimeout=10", "-p", port, "root@127.0.0.1", "true")
		}},
	}
	for _, c := range clients {
		t.Run(c.tool, func(t *testing.T) {
			c.run(t)
			e := h.Wait(t, 20*time.Second, c.tool+" fingerprint", func(e event.Event) bool {
				return e.Type == event.Fingerprint && strings.HasPrefix(e.Fields["client_version"], c.ident) && e.Fields["hassh"] != ""
			})
			hassh := e.Fields["hassh"]
			t.Logf("measured %s (%s) HASSH %s", c.tool, e.Fields["client_version"], hassh)
			a := newAcc("u", "127.0.0.1")
			a.hassh(hassh)
			if a.st.Tools[c.tool] == nil {
				t.Errorf("HASSH %s of %s (%s) is not in hasshTable; tools %v", hassh, c.tool, e.Fields["client_version"], a.st.Tools)
			}
		})
	}
}
