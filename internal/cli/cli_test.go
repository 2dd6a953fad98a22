package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

func run(t *testing.T, args ...string) (int, string, string) {
	t.Helper()
	var out, errb bytes.Buffer
	code := Run(context.Background(), args, &out, &errb)
	return code, out.String(), errb.String()
}

func TestCataloguesJSON(t *testing.T) {
	for _, cmd := range []string{"services", "archetypes", "distros"} {
		code, out, errs := run(t, cmd, "--json")
		if code != ExitOK {
			t.Fatalf("%s --json: exit %d: %s", cmd, code, errs)
		}
		var v []map[string]any
		if err := json.Unmarshal([]byte(out), &v); err != nil || len(v) == 0 {
			t.Fatalf("%s --json is not a non-empty JSON list: %v\n%s", cmd, err, out)
		}
	}
	_, out, _ := run(t, "services", "--json")
	for _, want := range []string{`"name": "ssh"`, `"22/tcp"`, `"name": "http"`, `"users"`} {
		if !strings.Contains(out, want) {
			t.Errorf("services --json lacks %s", want)
		}
	}
	code, out, _ := run(t, "archetypes")
	if code != ExitOK || !strings.Contains(out, "linux-server") || strings.Contains(out, "needs ") {
		t.Errorf("archetypes table (every archetype's services must be registered):\n%s", out)
	}
}

func TestExitCodes(t *testing.T) {
	dir := t.TempDir()
	bad := filepath.Join(dir, "bad.ini")
	os.WriteFile(bad, []byte("[general]\nnet = 10.0.0.0/24\nbogus = 1\n"), 0o644)
	for _, tc := range []struct {
		args []string
		code int
		msg  string
	}{
		{[]string{"nosuchcommand"}, ExitUsage, "unknown command"},
		{[]string{"serve"}, ExitUsage, "accepts 1 arg"},
		{[]string{"deploy", "--no-such-flag"}, ExitUsage, "unknown flag"},
		{[]string{"deploy", "--dry-run"}, ExitUsage, "--config fleet.ini or --deckies N"},
		{[]string{"deploy", "--dry-run", "--config", bad}, ExitUsage, "bad.ini:3:"},
		{[]string{"teardown"}, ExitUsage, "exactly one of --all or --id"},
		{[]string{"teardown", "--all", "--id", "x"}, ExitUsage, "exactly one of --all or --id"},
		{[]string{"serve", "ssh"}, ExitUsage, "serve needs --config"},
		{[]string{"serve", "nope", "--config", bad}, ExitUsage, ""},
		{[]string{"status", "--json", "--state-dir", dir}, ExitOK, ""},
	} {
		code, _, errs := run(t, tc.args...)
		if code != tc.code || !strings.Contains(errs, tc.msg) {
			t.Errorf("decnet %s: exit %d, stderr %q; want exit %d containing %q", strings.Join(tc.args, " "), code, errs, tc.code, tc.msg)
		}
	}
}

func TestStatusEmpty(t *testing.T) {
	code, out, _ := run(t, "status", "--json", "--state-dir", t.TempDir())
	if code != ExitOK || strings.TrimSpace(out) != "[]" {
		t.Errorf("status with nothing deployed: exit %d, %q", code, out)
	}
	code, out, _ = run(t, "status", "--state-dir", t.TempDir())
	if code != ExitOK || !strings.Contains(out, "no deckies deployed") {
		t.Errorf("status table with nothing deployed: exit %d, %q", code, out)
	}
}

func TestCompletion(t *testing.T) {
	code, out, _ := run(t, "completion", "bash")
	if code != ExitOK || !strings.Contains(out, "__start_decnet") {
		t.Errorf("bash completion: exit %d", code)
	}
}

func TestParseByteSize(t *testing.T) {
	for in, want := range map[string]int64{"1048576": 1 << 20, "512MiB": 512 << 20, "1GiB": 1 << 30, "2G": 2 << 30, "10K": 10 << 10, "7B": 7, "unbounded": -1, "-1": -1} {
		if got, err := parseByteSize(in); err != nil || got != want {
			t.Errorf("parseByteSize(%q) = %d, %v; want %d", in, got, err, want)
		}
	}
	for _, bad := range []string{"", "0", "-5", "1.5GiB", "GiB", "12XB", "99999999999T"} {
		if _, err := parseByteSize(bad); err == nil {
			t.Errorf("parseByteSize(%q) accepted", bad)
		}
	}
}
