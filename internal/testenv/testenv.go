// Package testenv owns the shared helpers of DECNET's integration tests:
// prerequisite checks that skip (or, in the full suite, fail), building the
// decnet binary once per test process, and the shared lab LAN.
//
// The full suite (.ci/run) sets DECNET_FULL_SUITE=1: there a missing
// prerequisite is a test failure, never a silent skip. Plain `go test ./...`
// without root or Docker skips those tests with a message saying what is
// missing.
package testenv

import (
	"bytes"
	"context"
	"crypto/sha256"
	"encoding/hex"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// FullSuiteEnv is the environment variable that turns a missing prerequisite
// from a skip into a failure.
const FullSuiteEnv = "DECNET_FULL_SUITE"

// FullSuite reports whether the full suite is running (DECNET_FULL_SUITE=1).
func FullSuite() bool { return os.Getenv(FullSuiteEnv) == "1" }

// Missing skips the test with a message saying why, or fails it in the full
// suite, where every prerequisite must be present.
func Missing(t testing.TB, format string, args ...any) {
	t.Helper()
	msg := fmt.Sprintf(format, args...)
	if FullSuite() {
		t.Fatalf("%s (prerequisite missing, and %s=1 requires it)", msg, FullSuiteEnv)
	}
	t.Skipf("skipping: %s (set %s=1 to make this a failure)", msg, FullSuiteEnv)
}

// RequireRoot skips (or fails, in the full suite) unless the test runs as
// root, which namespaces, veths and raw sockets need.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		Missing(t, "this test needs root (network namespaces, links)")
	}
}

// RequireTool skips (or fails, in the full suite) unless every named program
// is on PATH.
func RequireTool(t testing.TB, names ...string) {
	t.Helper()
	var missing []string
	for _, n := range names {
		if _, err := exec.LookPath(n); err != nil {
			missing = append(missing, n)
		}
	}
	if len(missing) > 0 {
		Missing(t, "this test needs %s on PATH (install the Debian package that provides it)", strings.Join(missing, ", "))
	}
}

// RequireDocker skips (or fails, in the full suite) unless a Docker engine
// answers `docker info`.
func RequireDocker(t testing.TB) {
	t.Helper()
	RequireTool(t, "docker")
	if err := dockerInfo(); err != nil {
		Missing(t, "this test needs a reachable Docker engine: %v", err)
	}
}

var docker struct {
	once sync.Once
	err  error
}

// dockerInfo runs checkDocker once per process.
func dockerInfo() error {
	docker.once.Do(func() { docker.err = checkDocker() })
	return docker.err
}

// checkDocker asks the engine for its version through `docker info`.
func checkDocker() error {
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	var stderr bytes.Buffer
	cmd := exec.CommandContext(ctx, "docker", "info", "--format", "{{.ServerVersion}}")
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	switch {
	case err != nil:
		return fmt.Errorf("`docker info` failed: %v: %s", err, strings.TrimSpace(stderr.String()))
	case strings.TrimSpace(string(out)) == "":
		return fmt.Errorf("`docker info` reported no server version")
	}
	return nil
}

// ModuleRoot returns the directory of the go.mod of the module the test runs
// in, found with `go env GOMOD` from the test's working directory.
func ModuleRoot(t testing.TB) string {
	t.Helper()
	root, err := moduleRoot()
	if err != nil {
		t.Fatal(err)
	}
	return root
}

func moduleRoot() (string, error) {
	out, err := exec.Command("go", "env", "GOMOD").Output()
	if err != nil {
		return "", fmt.Errorf("could not find the module root with `go env GOMOD`: %w", err)
	}
	gomod := strings.TrimSpace(string(out))
	if gomod == "" || gomod == os.DevNull {
		return "", fmt.Errorf("could not find the module root: the test does not run inside a Go module")
	}
	return filepath.Dir(gomod), nil
}

// DecnetPackage is the import path BuildDecnet builds.
const DecnetPackage = "decnet/cmd/decnet"

var decnetBin struct {
	once sync.Once
	path string
	err  error
}

// BuildDecnet builds ./cmd/decnet (CGO_ENABLED=0, as released) once per test
// process and returns the binary's path. The binary lives in a directory of
// the system temp dir keyed by the module root, so repeated runs overwrite one
// file instead of leaving one per process.
func BuildDecnet(t testing.TB) string {
	t.Helper()
	decnetBin.once.Do(func() {
		root, err := moduleRoot()
		if err != nil {
			decnetBin.err = err
			return
		}
		decnetBin.path, decnetBin.err = buildBinary(root, DecnetPackage, "decnet")
	})
	if decnetBin.err != nil {
		t.Fatalf("could not build %s: %v", DecnetPackage, decnetBin.err)
	}
	return decnetBin.path
}

// buildBinary builds pkg of the module at root into
// <tmp>/dnt-build-<hash of root>/<name> and returns that path. It builds to a
// temporary name and renames it into place, so a concurrent test process
// running the previous binary is not disturbed.
func buildBinary(root, pkg, name string) (string, error) {
	sum := sha256.Sum256([]byte(root))
	dir := filepath.Join(os.TempDir(), "dnt-build-"+hex.EncodeToString(sum[:6]))
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return "", fmt.Errorf("could not create build directory %s: %w", dir, err)
	}
	tmp, err := os.CreateTemp(dir, name+".tmp-*")
	if err != nil {
		return "", fmt.Errorf("could not create a temporary binary in %s: %w", dir, err)
	}
	tmpPath := tmp.Name()
	tmp.Close()
	defer os.Remove(tmpPath)

	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Minute)
	defer cancel()
	cmd := exec.CommandContext(ctx, "go", "build", "-o", tmpPath, pkg)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return "", fmt.Errorf("`go build %s` in %s failed: %v\n%s", pkg, root, err, out)
	}
	final := filepath.Join(dir, name)
	if err := os.Rename(tmpPath, final); err != nil {
		return "", fmt.Errorf("could not move the built binary into place: %w", err)
	}
	return final, nil
}
