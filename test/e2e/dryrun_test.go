package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"decnet/internal/testenv"
)

// TestDryRun: --dry-run writes a compose file that Debian's docker-compose accepts,
// and touches nothing else (no state, no containers, no network).
func TestDryRun(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireTool(t, "docker-compose")
	bin := testenv.BuildDecnet(t)
	l := testenv.SharedLab(t)
	dir, stateDir := t.TempDir(), t.TempDir()
	ini := writeFile(t, dir, "fleet.ini", fmt.Sprintf(`[general]
net = %s
gw = %s
interface = %s

[db]
archetype = deaddeck

[farm]
amount = 3
services = ssh, http
`, l.Subnet, l.Gateway, l.Parent))
	out := filepath.Join(dir, "compose.yml")
	mustRun(t, bin, "deploy", "--config", ini, "--dry-run", "--compose-file", out, "--state-dir", stateDir)
	cmd := exec.Command("docker-compose", "-f", out, "config", "-q")
	if b, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("docker-compose rejects the dry-run file: %v\n%s", err, b)
	}
	body, _ := os.ReadFile(out)
	for _, want := range []string{"mac_address:", "sysctls:", "service:farm-01", "read_only: true", "no-new-privileges"} {
		if !strings.Contains(string(body), want) {
			t.Errorf("compose file lacks %q", want)
		}
	}
	if entries, _ := os.ReadDir(stateDir); len(entries) != 0 {
		t.Errorf("dry run wrote into the state dir: %v", entries)
	}
	// Config errors exit 2 and name the file and line.
	bad := writeFile(t, dir, "bad.ini", "[general]\nnet = 10.0.0.0/24\n\n[x]\nservices = ssh, telnett\n")
	_, errs, code := run(t, bin, "deploy", "--config", bad, "--dry-run", "--state-dir", stateDir)
	if code != 2 || !strings.Contains(errs, "bad.ini:5:") {
		t.Errorf("bad config: exit %d, stderr %q; want exit 2 naming bad.ini:5", code, errs)
	}
}
