package shell

import (
	"strings"
	"testing"
	"time"

	"decnet/internal/catalog"
)

// TestCatalogDistros checks that every distro of the catalog gives a coherent shell:
// uname and /etc/os-release come straight from the catalog facts.
func TestCatalogDistros(t *testing.T) {
	ds := catalog.Distros()
	if len(ds) == 0 {
		t.Fatal("the catalog has no distros")
	}
	for _, d := range ds {
		t.Run(d.Slug, func(t *testing.T) {
			for _, user := range []string{"root", "operator"} {
				s := New(Options{Hostname: "cat-" + d.Slug, User: user, Distro: d, IP: "192.168.50.10",
					ClientIP: "192.168.50.99", Now: func() time.Time { return fixedNow }})
				if got := run(t, s, "uname -r"); got != d.Kernel+"\n" {
					t.Errorf("uname -r = %q, want %q", got, d.Kernel)
				}
				if got := run(t, s, "uname -m"); got != d.Arch+"\n" {
					t.Errorf("uname -m = %q, want %q", got, d.Arch)
				}
				if got := run(t, s, "cat /etc/os-release"); got != d.OSRelease {
					t.Errorf("/etc/os-release = %q, want %q", got, d.OSRelease)
				}
				if got := run(t, s, "hostname"); got != "cat-"+d.Slug+"\n" {
					t.Errorf("hostname = %q", got)
				}
				if got := run(t, s, "echo $SHELL"); got != d.Shell+"\n" {
					t.Errorf("$SHELL = %q, want %q", got, d.Shell)
				}
				sign := "$ "
				if user == "root" {
					sign = "# "
				}
				if p := s.Prompt(); !strings.HasSuffix(p, sign) && !strings.HasSuffix(p, map[string]string{"$ ": "% ", "# ": "# "}[sign]) {
					t.Errorf("prompt %q for %s", p, user)
				}
				if d.OSFamily != "linux" {
					continue // the other families get their own consoles; only sanity here
				}
				a := run(t, s, "uname -a")
				if !strings.HasPrefix(a, "Linux cat-"+d.Slug+" "+d.Kernel+" "+d.KernelBuild+" "+d.Arch+" ") {
					t.Errorf("uname -a = %q", a)
				}
				if got := run(t, s, "which "+pathBase(d.Shell)); got == "" {
					t.Errorf("login shell %s missing from PATH", d.Shell)
				}
				if got := run(t, s, "cat /etc/issue.net"); d.IssueNet != "" && got != d.IssueNet {
					t.Errorf("/etc/issue.net = %q, want %q", got, d.IssueNet)
				}
				if got := run(t, s, "nosuchcommand"); !strings.Contains(got, "nosuchcommand") || !strings.Contains(got, "not found") {
					t.Errorf("unknown command output %q", got)
				}
			}
		})
	}
}
