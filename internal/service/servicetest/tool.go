package servicetest

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"testing"
	"time"

	"decnet/internal/testenv"
)

// Run runs a real client tool (curl, hydra, nmap, psql, ...) against a service
// under test and returns its combined output and its exit error: a failed login is
// often a non-zero exit, so the output is what a test checks. env adds variables to
// the test's environment (nil for none).
//
// The test skips when the tool is not installed (fails under DECNET_FULL_SUITE=1)
// and fails when the tool has not finished within timeout, with what it printed.
func Run(t testing.TB, timeout time.Duration, env []string, name string, args ...string) (string, error) {
	t.Helper()
	testenv.RequireTool(t, name)
	ctx, cancel := context.WithTimeout(context.Background(), timeout)
	defer cancel()
	cmd := exec.CommandContext(ctx, name, args...)
	if env != nil {
		cmd.Env = append(os.Environ(), env...)
	}
	var out bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &out
	err := cmd.Run()
	if ctx.Err() != nil {
		t.Fatalf("%s %q did not finish within %v: %s", name, args, timeout, out.String())
	}
	return out.String(), err
}
