package servicetest

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"decnet/internal/testenv"
)

// HashcatTimeout bounds one Hashcat run. The first run on a machine compiles the
// OpenCL kernels of its mode, which takes minutes on a CPU device.
const HashcatTimeout = 8 * time.Minute

var hashcatRuns atomic.Int64

// Hashcat runs the real hashcat on one captured hash line in the given mode (-m,
// e.g. "5600" for NetNTLMv2) with words as a straight wordlist (-a 0), and returns
// the password it recovered. It proves that what a service captured is crackable as
// the mode's format says.
//
// The test skips when hashcat is not installed (fails under DECNET_FULL_SUITE=1)
// and fails when hashcat recovers nothing, with hashcat's output. Each run has a
// session name and data directory of its own (hashcat refuses a second instance of
// a session) and no potfile; the kernel cache stays the user's, so only the first
// run of a mode on a machine pays for the compilation.
func Hashcat(t testing.TB, mode, hashLine string, words []string) string {
	t.Helper()
	testenv.RequireTool(t, "hashcat")
	dir := t.TempDir()
	hf, wf, of := filepath.Join(dir, "hash.txt"), filepath.Join(dir, "words.txt"), filepath.Join(dir, "out.txt")
	if err := os.WriteFile(hf, []byte(hashLine+"\n"), 0o600); err != nil {
		t.Fatalf("hashcat: write the hash file: %v", err)
	}
	if err := os.WriteFile(wf, []byte(strings.Join(words, "\n")+"\n"), 0o600); err != nil {
		t.Fatalf("hashcat: write the wordlist: %v", err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), HashcatTimeout)
	defer cancel()
	session := "decnet-test-" + strconv.Itoa(os.Getpid()) + "-" + strconv.FormatInt(hashcatRuns.Add(1), 10)
	cmd := exec.CommandContext(ctx, "hashcat", "-m", mode, "-a", "0", "--potfile-disable", "--force", "--quiet",
		"--session", session, "--outfile", of, "--outfile-format", "2", hf, wf)
	cmd.Dir = dir
	cmd.Env = append(append(os.Environ(), "XDG_DATA_HOME="+dir), hashcatCacheEnv()...)
	out, err := cmd.CombinedOutput()
	res, _ := os.ReadFile(of)
	if len(res) == 0 {
		t.Fatalf("hashcat -m %s cracked nothing in %q (err %v):\n%s", mode, hashLine, err, out)
	}
	return strings.TrimRight(string(res), "\r\n")
}

// hashcatCacheEnv points hashcat's kernel cache (XDG_CACHE_HOME) at the user's cache
// directory, or, when that is not writable, at a per-user directory under the system
// temp dir that outlives the test, so kernels are compiled only once either way. It
// is always set: hashcat finds the home directory through the password database,
// not $HOME, and a service account's (nobody: /nonexistent) cannot be written.
func hashcatCacheEnv() []string {
	if d, err := os.UserCacheDir(); err == nil && os.MkdirAll(d, 0o700) == nil {
		if f, err := os.CreateTemp(d, ".decnet-write-check-*"); err == nil {
			f.Close()
			os.Remove(f.Name())
			return []string{"XDG_CACHE_HOME=" + d}
		}
	}
	d := filepath.Join(os.TempDir(), "decnet-hashcat-cache-"+strconv.Itoa(os.Getuid()))
	os.MkdirAll(d, 0o700)
	return []string{"XDG_CACHE_HOME=" + d}
}
