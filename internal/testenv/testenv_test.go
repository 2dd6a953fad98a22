package testenv

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strings"
	"testing"

	"decnet/internal/lab"

	"golang.org/x/sys/unix"
)

// recorder stands in for a testing.TB to observe Skip and Fatal; both end
// the calling goroutine as the real ones do.
type recorder struct {
	testing.TB
	skipped, failed string
	logs            []string
}

func (r *recorder) Helper() {}
func (r *recorder) Skipf(format string, a ...any) {
	r.skipped = fmt.Sprintf(format, a...)
	runtime.Goexit()
}
func (r *recorder) Fatalf(format string, a ...any) {
	r.failed = fmt.Sprintf(format, a...)
	runtime.Goexit()
}
func (r *recorder) Fatal(a ...any)               { r.failed = fmt.Sprint(a...); runtime.Goexit() }
func (r *recorder) Logf(format string, a ...any) { r.logs = append(r.logs, fmt.Sprintf(format, a...)) }
func (r *recorder) Log(a ...any)                 { r.logs = append(r.logs, fmt.Sprint(a...)) }

func record(t *testing.T, fn func(testing.TB)) *recorder {
	r := &recorder{TB: t}
	done := make(chan struct{})
	go func() {
		defer close(done)
		fn(r)
	}()
	<-done
	return r
}

func fakeDocker(t *testing.T, script string) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, "docker"), []byte("#!/bin/sh\n"+script+"\n"), 0o755); err != nil {
		t.Fatal(err)
	}
	t.Setenv("PATH", dir+string(os.PathListSeparator)+os.Getenv("PATH"))
}

func TestRequire(t *testing.T) {
	tests := []struct {
		name    string
		setup   func(t *testing.T)
		check   func(testing.TB)
		missing string // "" = the prerequisite is present
	}{
		{"tool present", nil, func(tb testing.TB) { RequireTool(tb, "sh") }, ""},
		{"tools missing", nil, func(tb testing.TB) { RequireTool(tb, "sh", "dnt-no-such-tool", "dnt-nor-this") }, "dnt-no-such-tool, dnt-nor-this"},
		{"docker cli missing", func(t *testing.T) { t.Setenv("PATH", t.TempDir()) }, RequireDocker, "needs docker on PATH"},
		{"root", nil, RequireRoot, map[bool]string{true: "", false: "needs root"}[os.Geteuid() == 0]},
	}
	for _, tt := range tests {
		for _, full := range []bool{false, true} {
			t.Run(fmt.Sprintf("%s/full=%v", tt.name, full), func(t *testing.T) {
				t.Setenv(FullSuiteEnv, map[bool]string{true: "1", false: ""}[full])
				if tt.setup != nil {
					tt.setup(t)
				}
				r := record(t, tt.check)
				switch {
				case tt.missing == "" && (r.skipped != "" || r.failed != ""):
					t.Fatalf("present prerequisite: skipped %q, failed %q", r.skipped, r.failed)
				case tt.missing == "":
				case full && (r.failed == "" || r.skipped != "" || !strings.Contains(r.failed, tt.missing)):
					t.Fatalf("full suite: failed %q, skipped %q; want a failure mentioning %q", r.failed, r.skipped, tt.missing)
				case !full && (r.skipped == "" || r.failed != "" || !strings.Contains(r.skipped, tt.missing)):
					t.Fatalf("plain run: skipped %q, failed %q; want a skip mentioning %q", r.skipped, r.failed, tt.missing)
				}
			})
		}
	}
}

func TestCheckDocker(t *testing.T) {
	fakeDocker(t, `echo "Cannot connect to the Docker daemon" >&2; exit 1`)
	if err := checkDocker(); err == nil || !strings.Contains(err.Error(), "Cannot connect") {
		t.Errorf("unreachable engine: %v", err)
	}
	fakeDocker(t, `echo`)
	if err := checkDocker(); err == nil {
		t.Error("an engine without a version was accepted")
	}
	fakeDocker(t, `[ "$1 $2 $3" = "info --format {{.ServerVersion}}" ] && echo 20.10.24`)
	if err := checkDocker(); err != nil {
		t.Errorf("working engine: %v", err)
	}
}

func TestModuleRoot(t *testing.T) {
	root := ModuleRoot(t)
	b, err := os.ReadFile(filepath.Join(root, "go.mod"))
	if err != nil || !strings.HasPrefix(string(b), "module decnet\n") {
		t.Fatalf("ModuleRoot = %s, go.mod %q, %v", root, b, err)
	}
}

func TestBuildBinary(t *testing.T) {
	root := ModuleRoot(t)
	path, err := buildBinary(root, "./internal/testenv/testdata/hello", "dnt-hello")
	if err != nil {
		t.Fatal(err)
	}
	out, err := exec.Command(path).Output()
	if err != nil || string(out) != "hello from dnt\n" {
		t.Fatalf("built binary printed %q, %v", out, err)
	}
	info, err := exec.Command("go", "version", "-m", path).Output()
	if err != nil || !strings.Contains(string(info), "CGO_ENABLED=0") {
		t.Errorf("binary not built with CGO_ENABLED=0: %s %v", info, err)
	}
	if _, err := buildBinary(root, "./internal/testenv/testdata/no-such", "dnt-x"); err == nil {
		t.Error("building a missing package succeeded")
	}
}

func TestBuildDecnet(t *testing.T) {
	if _, err := os.Stat(filepath.Join(ModuleRoot(t), "cmd", "decnet")); errors.Is(err, os.ErrNotExist) {
		t.Skip("skipping: cmd/decnet does not exist yet")
	}
	p1 := BuildDecnet(t)
	p2 := BuildDecnet(t)
	if p1 != p2 {
		t.Errorf("BuildDecnet built twice: %s, %s", p1, p2)
	}
	info, err := exec.Command("go", "version", "-m", p1).Output()
	if err != nil || !strings.Contains(string(info), "path\tdecnet/cmd/decnet") || !strings.Contains(string(info), "CGO_ENABLED=0") {
		t.Errorf("BuildDecnet's binary: %s %v", info, err)
	}
}

func TestSharedLab(t *testing.T) {
	RequireRoot(t)
	// Hold the cross-process lock first, so the stale lab made below cannot
	// disturb another test process using the shared lab.
	if _, err := lockShared(t); err != nil {
		t.Fatal(err)
	}
	other, err := os.Open(sharedLabLock)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(other.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Errorf("the shared lab lock is not held: second flock = %v", err)
	}
	other.Close()

	stale, err := lab.Up(lab.Config{Name: SharedLabName, Subnet: SharedLabSubnet, AttackerIP: SharedLabSubnet.Addr().Next().Next()})
	if err != nil {
		t.Fatalf("making a stale lab: %v", err)
	}

	r := record(t, func(tb testing.TB) { SharedLab(tb) })
	if r.failed != "" || r.skipped != "" {
		t.Fatalf("SharedLab: failed %q, skipped %q", r.failed, r.skipped)
	}
	if !strings.Contains(strings.Join(r.logs, "\n"), `removed the stale lab "dnt"`) {
		t.Errorf("SharedLab did not log removing the stale lab: %q", r.logs)
	}
	l := SharedLab(t)
	want := lab.Config{Name: SharedLabName, Subnet: SharedLabSubnet}.WithDefaults()
	if l.Config != want || l.Config == stale.Config {
		t.Errorf("SharedLab = %+v, want %+v", l.Config, want)
	}
	if got, ok, err := lab.Status(SharedLabName); err != nil || !ok || got.Config != want {
		t.Errorf("shared lab status = %+v, %v, %v", got, ok, err)
	}
	if SharedLab(t) != l {
		t.Error("SharedLab brought a second lab up in one process")
	}
}
