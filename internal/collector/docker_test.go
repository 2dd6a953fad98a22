package collector

import (
	"archive/tar"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/docker/docker/api/types/build"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"decnet/internal/compose"
	"decnet/internal/spool"
	"decnet/internal/testenv"
)

const genImage = "dnt-collector-gen:test"

var genBuild struct {
	once sync.Once
	err  error
}

// dockerClient returns a negotiated client, skipping (or failing in the full suite)
// without Docker, and removes containers left by earlier runs of these tests.
func dockerClient(t *testing.T) *client.Client {
	t.Helper()
	testenv.RequireDocker(t)
	cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
	if err != nil {
		t.Fatal(err)
	}
	ctx := context.Background()
	if _, err := cli.Ping(ctx); err != nil {
		testenv.Missing(t, "the Docker daemon does not answer: %v", err)
	}
	cli.NegotiateAPIVersion(ctx)
	t.Cleanup(func() { cli.Close() })
	genBuild.once.Do(func() { genBuild.err = buildGenImage(ctx, cli) })
	if genBuild.err != nil {
		t.Fatalf("cannot build the generator image: %v", genBuild.err)
	}
	// Stale containers of a crashed run carry a dnt-coll project label.
	list, _ := cli.ContainerList(ctx, container.ListOptions{All: true, Filters: filters.NewArgs(filters.Arg("label", compose.LabelProject))})
	for _, c := range list {
		if strings.HasPrefix(c.Labels[compose.LabelProject], "dnt-coll") && time.Since(time.Unix(c.Created, 0)) > 30*time.Minute {
			t.Logf("removing stale test container %s", c.ID[:12])
			cli.ContainerRemove(ctx, c.ID, container.RemoveOptions{Force: true})
		}
	}
	return cli
}

// buildGenImage builds testdata/gen statically and an image FROM scratch holding it.
func buildGenImage(ctx context.Context, cli *client.Client) error {
	dir, err := os.MkdirTemp("", "dnt-gen-")
	if err != nil {
		return err
	}
	defer os.RemoveAll(dir)
	bin := filepath.Join(dir, "gen")
	cmd := exec.Command("go", "build", "-o", bin, "./testdata/gen")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		return fmt.Errorf("go build ./testdata/gen: %v\n%s", err, out)
	}
	b, err := os.ReadFile(bin)
	if err != nil {
		return err
	}
	var buf bytes.Buffer
	tw := tar.NewWriter(&buf)
	df := []byte("FROM scratch\nCOPY gen /gen\nUSER 65534:65534\nENTRYPOINT [\"/gen\"]\n")
	for _, f := range []struct {
		name string
		data []byte
	}{{"Dockerfile", df}, {"gen", b}} {
		tw.WriteHeader(&tar.Header{Name: f.name, Mode: 0o755, Size: int64(len(f.data)), Typeflag: tar.TypeReg})
		tw.Write(f.data)
	}
	tw.Close()
	resp, err := cli.ImageBuild(ctx, &buf, build.ImageBuildOptions{Tags: []string{genImage}, Remove: true, ForceRemove: true, Version: build.BuilderV1})
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(resp.Body)
	if bytes.Contains(out, []byte(`"error"`)) {
		return fmt.Errorf("build failed: %s", out)
	}
	_, err = cli.ImageInspect(ctx, genImage)
	return err
}

// runGen starts a generator container labelled as a service of decky in project.
func runGen(t *testing.T, cli *client.Client, project, decky string, args ...string) string {
	t.Helper()
	ctx := context.Background()
	resp, err := cli.ContainerCreate(ctx, &container.Config{
		Image: genImage,
		Cmd:   append([]string{"-decky", decky}, args...),
		Labels: map[string]string{compose.LabelProject: project, compose.LabelRole: compose.RoleService,
			compose.LabelDecky: decky, compose.LabelService: "gen"},
	}, &container.HostConfig{NetworkMode: "none"}, nil, nil, "")
	if err != nil {
		t.Fatalf("create generator: %v", err)
	}
	t.Cleanup(func() {
		cli.ContainerRemove(context.Background(), resp.ID, container.RemoveOptions{Force: true})
	})
	if err := cli.ContainerStart(ctx, resp.ID, container.StartOptions{}); err != nil {
		t.Fatalf("start generator: %v", err)
	}
	return resp.ID
}

func readSpool(t *testing.T, dir string) []*spool.Record {
	t.Helper()
	r, err := spool.OpenReader(dir, spool.Cursor{})
	if err != nil {
		return nil
	}
	defer r.Close()
	var out []*spool.Record
	for {
		rec, _, err := r.Next()
		if errors.Is(err, spool.ErrNoData) {
			return out
		}
		if err != nil {
			t.Fatalf("read spool: %v", err)
		}
		out = append(out, rec)
	}
}

func readQuarantine(t *testing.T, path string) []QuarantineEntry {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		return nil
	}
	// Only lines ended by a newline: the collector may be writing the next one
	// (one write of a batch of up to megabytes, which a reader can see halfway).
	data = data[:bytes.LastIndexByte(data, '\n')+1]
	var out []QuarantineEntry
	for line := range bytes.Lines(data) {
		var q QuarantineEntry
		if err := json.Unmarshal(line, &q); err != nil {
			t.Fatalf("quarantine line: %v", err)
		}
		out = append(out, q)
	}
	return out
}

// waitFor polls cond until it holds or the deadline passes.
func waitFor(t *testing.T, d time.Duration, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(d)
	for {
		ok, msg := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s: %s", what, msg)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// countByPrefix counts the records whose event ID starts with each prefix, and duplicates.
func countIDs(recs []*spool.Record) (byTag map[string]int, dups int) {
	byTag = map[string]int{}
	seen := map[string]bool{}
	for _, r := range recs {
		if seen[r.ID] {
			dups++
			continue
		}
		seen[r.ID] = true
		tag, _, _ := strings.Cut(r.ID, "-")
		byTag[tag]++
	}
	return byTag, dups
}

func startCollector(t *testing.T, cfg Config) (*Collector, func()) {
	t.Helper()
	c, err := New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- c.Run(ctx) }()
	return c, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("collector Run: %v", err)
		}
	}
}

func TestCollectFromContainers(t *testing.T) {
	cli := dockerClient(t)
	project := fmt.Sprintf("dnt-coll-%d", time.Now().UnixNano()%1e9)
	root := t.TempDir()
	cfg := Config{Docker: cli, Project: project, SpoolDir: filepath.Join(root, "spool"),
		Log: slog.New(slog.NewTextHandler(os.Stderr, &slog.HandlerOptions{Level: slog.LevelWarn})), Resync: 2 * time.Second}
	qpath := filepath.Join(root, QuarantineFileName)

	// A container that printed before the collector started, one that starts after,
	// and one of another project that must be ignored.
	a := runGen(t, cli, project, "decky-a", "-tag", "a", "-n", "300", "-invalid", "5", "-long", "3",
		"-legacy", "2", "-overlong", "1", "-wrong-host", "cosmetic-host")
	runGen(t, cli, project+"x", "decky-x", "-tag", "x", "-n", "50")
	time.Sleep(time.Second)
	c, stop := startCollector(t, cfg)
	runGen(t, cli, project, "decky-b", "-tag", "b", "-n", "200", "-rate", "400")

	want := map[string]int{"a": 303, "b": 200}
	legacy := 2
	check := func() (bool, string) {
		recs := readSpool(t, cfg.SpoolDir)
		got, dups := countIDs(recs)
		nLegacy := len(recs) - got["a"] - got["b"] - dups
		return got["a"] == want["a"] && got["b"] == want["b"] && nLegacy == legacy && dups == 0,
			fmt.Sprintf("spool has %v, %d legacy, %d duplicates; stats %+v", got, nLegacy, dups, c.Stats())
	}
	waitFor(t, 60*time.Second, "every event in the spool", check)
	waitFor(t, 10*time.Second, "the quarantine", func() (bool, string) {
		q := readQuarantine(t, qpath)
		return len(q) == 6, fmt.Sprintf("%d quarantined", len(q))
	})

	recs := readSpool(t, cfg.SpoolDir)
	mism := 0
	for _, r := range recs {
		if strings.HasPrefix(r.ID, "x-") {
			t.Fatalf("event of another project collected: %s", r.ID)
		}
		want := "decky-a"
		if strings.HasPrefix(r.ID, "b-") {
			want = "decky-b"
		}
		if r.Decky != want {
			t.Fatalf("event %s attributed to %q, want %q", r.ID, r.Decky, want)
		}
		if h, ok := r.Fields[WireHostnameField]; ok {
			if h != "cosmetic-host" {
				t.Fatalf("wire_hostname = %q", h)
			}
			mism++
		}
		if r.Fields["blob"] != "" && (len(r.Fields["blob"]) < 40<<10 || !strings.Contains(r.RawLine, r.Fields["blob"])) {
			t.Fatalf("long event %s reassembled wrongly (%d bytes)", r.ID, len(r.Fields["blob"]))
		}
		if strings.HasPrefix(r.ID, "a-") && r.Fields["password"] != "p]\"\\\x1b[31m" {
			t.Fatalf("field mangled: %q", r.Fields["password"])
		}
	}
	if mism != 31 { // every 10th of 0..302
		t.Fatalf("%d events carry wire_hostname, want 31", mism)
	}
	q := readQuarantine(t, qpath)
	overlong := 0
	for _, e := range q {
		if e.Container != a || e.Decky != "decky-a" || e.DockerTime == "" {
			t.Fatalf("quarantine entry %+v", e)
		}
		if e.DroppedBytes > 0 {
			overlong++
			if len(e.Bytes()) != MaxLineBytes {
				t.Fatalf("overlong entry keeps %d bytes", len(e.Bytes()))
			}
		} else if !bytes.Contains(e.Bytes(), []byte("not an event")) {
			t.Fatalf("quarantined %q", e.Bytes())
		}
		if strings.Contains(string(e.Bytes()), "\xff") && e.LineB64 == "" {
			t.Fatal("invalid UTF-8 not kept in base64")
		}
	}
	if st := c.Stats(); overlong != 1 || st.Quarantined != 6 || st.Overlong != 1 || st.Mismatched != 31 {
		t.Fatalf("overlong %d, stats %+v", overlong, st)
	}

	// A restarted container: its new lines are collected, the old ones not again.
	ctx := context.Background()
	if err := cli.ContainerRestart(ctx, a, container.StopOptions{}); err != nil {
		t.Fatal(err)
	}
	want["a"] = 2 * 303
	legacy = 4 // the same legacy lines printed again at new Docker timestamps are new lines
	waitFor(t, 60*time.Second, "the restarted container's events", check)
	waitFor(t, 30*time.Second, "the restarted container's quarantine", func() (bool, string) {
		q := readQuarantine(t, qpath)
		return len(q) == 12, fmt.Sprintf("%d quarantined", len(q))
	})
	stop()

	// A second collector on the same state re-reads nothing.
	before := len(readSpool(t, cfg.SpoolDir))
	qbefore := len(readQuarantine(t, qpath))
	c2, stop2 := startCollector(t, cfg)
	waitFor(t, 30*time.Second, "the second collector to replay", func() (bool, string) {
		st := c2.Stats()
		return st.Replayed > 0, fmt.Sprintf("%+v", st)
	})
	time.Sleep(3 * time.Second)
	stop2()
	if st := c2.Stats(); st.Lines != 0 {
		t.Fatalf("the second collector read %d lines as new: %+v", st.Lines, st)
	}
	if after, qafter := len(readSpool(t, cfg.SpoolDir)), len(readQuarantine(t, qpath)); after != before || qafter != qbefore {
		t.Fatalf("after a restart of the collector the spool went %d → %d records, quarantine %d → %d", before, after, qbefore, qafter)
	}
	ok, msg := check()
	if !ok {
		t.Fatal(msg)
	}
}

// TestCollectKill9 kills `decnet collect` with SIGKILL at random moments while
// generators push a known number of events, restarts it each time, and checks that
// the spool ends up with every event exactly once and the quarantine with every
// invalid line exactly once.
func TestCollectKill9(t *testing.T) {
	cli := dockerClient(t)
	bin := testenv.BuildDecnet(t)
	project := fmt.Sprintf("dnt-coll-k%d", time.Now().UnixNano()%1e9)
	root := t.TempDir()
	spoolDir := filepath.Join(root, "spool")
	const perGen, invalid = 4000, 20
	gens := []string{"k1", "k2", "k3"}
	for _, g := range gens {
		runGen(t, cli, project, "decky-"+g, "-tag", g, "-n", fmt.Sprint(perGen), "-rate", "1500", "-invalid", fmt.Sprint(invalid))
	}
	start := func() *exec.Cmd {
		cmd := exec.Command(bin, "collect", "--state-dir", root, "--project", project)
		cmd.Env = append(os.Environ(), "DECNET_STATE_DIR=")
		var out bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &out
		if err := cmd.Start(); err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			cmd.Process.Kill()
			cmd.Wait()
			if t.Failed() {
				t.Logf("collector output:\n%s", out.String())
			}
		})
		return cmd
	}
	rng := time.Now().UnixNano()
	kills := 0
	for i := 0; i < 10; i++ {
		cmd := start()
		rng = rng*6364136223846793005 + 1442695040888963407
		time.Sleep(time.Duration(150+uint64(rng>>33)%600) * time.Millisecond)
		cmd.Process.Signal(syscall.SIGKILL)
		cmd.Wait()
		kills++
		if i == 4 { // a generator that starts while the collector is down
			gens = append(gens, "k4")
			runGen(t, cli, project, "decky-k4", "-tag", "k4", "-n", fmt.Sprint(perGen), "-rate", "3000", "-invalid", fmt.Sprint(invalid))
		}
	}
	start()
	// No loss: every event reaches the spool. A SIGKILL in a narrow window can still
	// spool a few events twice (seen: 236 of 16000 in one run of many); the store's
	// unique event_id makes storage exactly-once, which test/e2e checks end to end.
	dups := 0
	waitFor(t, 90*time.Second, "every event in the spool", func() (bool, string) {
		var got map[string]int
		got, dups = countIDs(readSpool(t, spoolDir))
		done := true
		for _, g := range gens {
			done = done && got[g] == perGen
		}
		return done, fmt.Sprintf("spool has %v, %d duplicates", got, dups)
	})
	t.Logf("%d kills: every event spooled; %d spooled twice (removed by the store's event_id key)", kills, dups)
	waitFor(t, 20*time.Second, "every invalid line in the quarantine", func() (bool, string) {
		q := readQuarantine(t, filepath.Join(root, QuarantineFileName))
		seen := map[string]int{}
		for _, e := range q {
			seen[string(e.Bytes())]++
		}
		dup := 0
		for _, n := range seen {
			if n > 1 {
				dup++
			}
		}
		return len(q) == invalid*len(gens) && dup == 0, fmt.Sprintf("%d quarantined (%d distinct), want %d", len(q), len(seen), invalid*len(gens))
	})
	// Let the last collector settle, then check once more: nothing lost, and a
	// collector that keeps running doubles nothing (duplicates come only from kills).
	time.Sleep(time.Second)
	got, after := countIDs(readSpool(t, spoolDir))
	for _, g := range gens {
		if got[g] != perGen || after != dups {
			t.Fatalf("after %d kills: spool has %v, %d duplicates (%d when the last collector caught up)", kills, got, after, dups)
		}
	}
	t.Logf("%d SIGKILLs: %d events of each of %d containers spooled, %d twice", kills, perGen, len(gens), dups)
}
