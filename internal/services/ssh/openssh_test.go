package ssh

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service/servicetest"
)

// needOpenSSH returns the paths of ssh, scp and sshpass (Debian's openssh-client
// and sshpass packages), skipping the test when they are missing unless the full
// suite runs.
func needOpenSSH(t *testing.T) {
	t.Helper()
	for _, tool := range []string{"ssh", "scp", "sshpass"} {
		if _, err := exec.LookPath(tool); err != nil {
			msg := tool + " not installed (apt-get install openssh-client sshpass); real OpenSSH client tests skipped"
			if os.Getenv("DECNET_FULL_SUITE") == "1" {
				t.Fatal(msg)
			}
			t.Skip(msg)
		}
	}
}

// opensshArgs are the options every real-client call uses: no config, no known
// hosts, password authentication only.
func opensshArgs(portFlag, port string) []string {
	return []string{"-F", "/dev/null", "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "LogLevel=ERROR", "-o", "PreferredAuthentications=password", "-o", "NumberOfPasswordPrompts=1",
		"-o", "ConnectTimeout=10", portFlag, port}
}

func runTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	return servicetest.Run(t, 30*time.Second, nil, name, args...)
}

func TestOpenSSHClient(t *testing.T) {
	needOpenSSH(t)
	h := start(t, "ubuntu22", nil)
	_, port, _ := net.SplitHostPort(h.Addr(22))

	args := append([]string{"-p", "123456", "ssh"}, opensshArgs("-p", port)...)
	out, err := runTool(t, "sshpass", append(args, "root@127.0.0.1", "uname -a")...)
	if err != nil {
		t.Fatalf("ssh with the right password: %v\n%s", err, out)
	}
	if !strings.Contains(out, h.RT.Distro.Kernel) {
		t.Errorf("uname -a over OpenSSH = %q, want kernel %q", out, h.RT.Distro.Kernel)
	}
	h.Wait(t, wait, "OpenSSH exec", servicetest.Type(event.Command, "command=uname -a", "via=exec"))

	args = append([]string{"-p", "letmein", "ssh"}, opensshArgs("-p", port)...)
	if out, err := runTool(t, "sshpass", append(args, "root@127.0.0.1", "id")...); err == nil {
		t.Fatalf("ssh with a wrong password succeeded: %s", out)
	}
	e := h.Wait(t, wait, "OpenSSH failed auth", servicetest.Type(event.Auth, "password=letmein", "outcome=failure"))
	if !strings.HasPrefix(e.Fields["client_version"], "SSH-2.0-OpenSSH_") {
		t.Errorf("client_version %q", e.Fields["client_version"])
	}

	// HASSH: compare with the client's own resolved configuration (ssh -G).
	g, err := runTool(t, "ssh", "-G", "-F", "/dev/null", "-p", port, "root@127.0.0.1")
	if err != nil {
		t.Fatalf("ssh -G: %v", err)
	}
	conf := map[string]string{}
	for _, l := range strings.Split(g, "\n") {
		if k, v, ok := strings.Cut(l, " "); ok {
			conf[k] = v
		}
	}
	parts := strings.Split(e.Fields["hassh_algorithms"], ";")
	if len(parts) != 4 || !strings.HasPrefix(parts[0], conf["kexalgorithms"]) || parts[1] != conf["ciphers"] || parts[2] != conf["macs"] {
		t.Errorf("OpenSSH hassh_algorithms %q does not match ssh -G (kex %q ciphers %q macs %q)",
			e.Fields["hassh_algorithms"], conf["kexalgorithms"], conf["ciphers"], conf["macs"])
	}
	if e.Fields["hassh"] != md5hex(e.Fields["hassh_algorithms"]) {
		t.Errorf("hassh %q is not md5 of its algorithms", e.Fields["hassh"])
	}
}

func TestOpenSSHSCPUpload(t *testing.T) {
	needOpenSSH(t)
	h := start(t, "ubuntu22", nil)
	_, port, _ := net.SplitHostPort(h.Addr(22))
	for _, mode := range []struct{ name, flag, via string }{{"legacy", "-O", "scp"}, {"sftp", "", "sftp"}} {
		t.Run(mode.name, func(t *testing.T) {
			data := make([]byte, 200<<10+7)
			rand.Read(data)
			src := filepath.Join(t.TempDir(), "dropper-"+mode.name)
			if err := os.WriteFile(src, data, 0o755); err != nil {
				t.Fatal(err)
			}
			args := append([]string{"-p", "123456", "scp"}, opensshArgs("-P", port)...)
			if mode.flag != "" {
				args = append(args, mode.flag)
			}
			if out, err := runTool(t, "sshpass", append(args, src, "root@127.0.0.1:/tmp/")...); err != nil {
				t.Fatalf("scp %s: %v\n%s", mode.flag, err, out)
			}
			sum := sha256.Sum256(data)
			h.Wait(t, wait, mode.name+" upload", servicetest.Type(event.FileUpload, "via="+mode.via,
				"filename=/tmp/dropper-"+mode.name, "sha256="+hex.EncodeToString(sum[:]), "size="+itoa(int64(len(data)))))
		})
	}
}
