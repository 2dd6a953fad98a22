// Package collector owns the path from the deckies' stdout to the spool: it follows the
// log stream of every service container of a DECNET project through the Docker Engine
// API, parses each line with the event codec, attributes it to the decky named by the
// container's decnet.decky label and appends it to the spool. Lines that are not events
// go, verbatim, to a quarantine file and are counted; nothing is dropped silently.
//
// Selection: containers labelled decnet.project=<project> and decnet.role=service (BYOS
// containers too), found by a list at start, by the Docker events API (start, restart,
// die) and by a periodic resync, with one goroutine per container and no limit on their
// number. Only stdout is collected: stderr is the services' operational log.
//
// Resume: each container has a cursor (Position: Docker's nanosecond timestamp of the
// last line collected and how many lines share it), kept in a state file that is
// written atomically only after the spool fsync that covers those lines. On restart
// each stream is reopened a second before its cursor and the lines up to the cursor
// are skipped, so no line is lost. A crash between the spool fsync and the state write
// would re-collect the last batch, so each batch is first described in a small
// journal (the spool position it starts at, and each record's container, cursor and
// event ID), written atomically before the batch is appended: at start, the records
// found in the spool past the committed position are matched, in order, with the
// journal and their containers' cursors move past them, so the spool normally holds
// each event once. The kill tests still see a few events spooled twice after some
// SIGKILLs (236 of 16000 in one run): the spool is at-least-once, and storage is
// exactly-once through the store's unique event_id. The same window in the quarantine file is closed by truncating it to the size
// the state records (its lines are then quarantined again).
//
// Attribution: the decky is the container's decnet.decky label, never the line's
// HOSTNAME. When they differ the event is stored under the label's decky and the
// line's HOSTNAME is kept in the field "wire_hostname" (raw_line keeps the line as
// sent). A line without event_id (DECNET's legacy lines, BYOS) gets a deterministic
// UUIDv5 from the container, its Docker timestamp and ordinal and the line, so
// re-collecting it yields the same ID.
//
// Limits (documented, not hidden): a container whose clock steps backwards while the
// collector is down can have the lines older than its cursor skipped by Docker's
// `since`; TTY containers (never deckies) have no message framing, so a line over
// Docker's 16 KiB message size arrives split and is quarantined; spool records are
// JSON, so invalid UTF-8 inside a BYOS event's values is replaced by U+FFFD there.
package collector

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	cerrdefs "github.com/containerd/errdefs"
	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/api/types/events"
	"github.com/docker/docker/api/types/filters"
	"github.com/docker/docker/client"

	"decnet/internal/compose"
	"decnet/internal/event"
)

const maxEventLine = event.MaxLine

// Defaults of Config.
const (
	DefaultSyncInterval = 100 * time.Millisecond
	DefaultSyncLines    = 1000
	DefaultResync       = 30 * time.Second
	StateFileName       = "collector-state.json"
	QuarantineFileName  = "quarantine.jsonl"
)

// ErrNoDocker is wrapped by Run's error when the Docker daemon does not answer.
var ErrNoDocker = errors.New("cannot reach the Docker daemon")

// Config configures a Collector.
type Config struct {
	Docker         *client.Client // nil: from the environment (DOCKER_HOST), API version negotiated
	Project        string         // compose project (decnet.project label); required
	SpoolDir       string         // spool directory; required
	StatePath      string         // cursor file; "" = <SpoolDir>/../collector-state.json
	QuarantinePath string         // "" = <SpoolDir>/../quarantine.jsonl
	Log            *slog.Logger   // nil: discard

	SyncInterval time.Duration // group commit interval; 0 = DefaultSyncInterval
	SyncLines    int           // group commit size; 0 = DefaultSyncLines
	Resync       time.Duration // container list safety net; 0 = DefaultResync
	SegmentSize  int64         // spool segment size; 0 = spool.DefaultSegmentSize
}

// Stats are the collector's counters since New.
type Stats struct {
	Streams      int64 `json:"streams"`       // container streams being followed now
	Lines        int64 `json:"lines"`         // new lines read (events + quarantined)
	Events       int64 `json:"events"`        // events appended to the spool
	Quarantined  int64 `json:"quarantined"`   // lines written to the quarantine file
	Overlong     int64 `json:"overlong"`      // of which longer than MaxLineBytes
	Mismatched   int64 `json:"mismatched"`    // events whose HOSTNAME was not the decky label
	Replayed     int64 `json:"replayed"`      // lines skipped because they were collected before
	Recovered    int64 `json:"recovered"`     // spooled records whose cursor was recovered from the batch journal at start
	Commits      int64 `json:"commits"`       // group commits (spool fsync + state write)
	StreamErrors int64 `json:"stream_errors"` // log streams that ended in an error
}

type counters struct {
	streams, lines, events, quarantined, overlong, mismatched, replayed, recovered, commits, streamErrors atomic.Int64
}

// Collector follows the service containers of one project into the spool.
type Collector struct {
	cfg     Config
	cli     *client.Client
	ownsCli bool
	log     *slog.Logger
	st      counters

	out chan item

	mu        sync.Mutex
	active    map[string]*streamState // container ID → its goroutine
	positions map[string]Position     // delivered (≥ committed) cursor per container
	drained   map[string]string       // stopped container ID → FinishedAt it was drained at
	wg        sync.WaitGroup
	commit    *committer
}

type streamState struct{ kick bool }

// New checks cfg and connects to Docker. Nothing is opened until Run.
func New(cfg Config) (*Collector, error) {
	if cfg.Project == "" {
		return nil, errors.New("collector: a project name is required")
	}
	if cfg.SpoolDir == "" {
		return nil, errors.New("collector: a spool directory is required")
	}
	parent := filepath.Dir(filepath.Clean(cfg.SpoolDir))
	if cfg.StatePath == "" {
		cfg.StatePath = filepath.Join(parent, StateFileName)
	}
	if cfg.QuarantinePath == "" {
		cfg.QuarantinePath = filepath.Join(parent, QuarantineFileName)
	}
	if cfg.SyncInterval <= 0 {
		cfg.SyncInterval = DefaultSyncInterval
	}
	if cfg.SyncLines <= 0 {
		cfg.SyncLines = DefaultSyncLines
	}
	if cfg.Resync <= 0 {
		cfg.Resync = DefaultResync
	}
	c := &Collector{cfg: cfg, cli: cfg.Docker, log: cfg.Log}
	if c.log == nil {
		c.log = slog.New(slog.DiscardHandler)
	}
	if c.cli == nil {
		cli, err := client.NewClientWithOpts(client.FromEnv, client.WithAPIVersionNegotiation())
		if err != nil {
			return nil, fmt.Errorf("collector: cannot set up the Docker client: %w", err)
		}
		c.cli, c.ownsCli = cli, true
	}
	return c, nil
}

// Stats returns a snapshot of the counters.
func (c *Collector) Stats() Stats {
	s := &c.st
	return Stats{Streams: s.streams.Load(), Lines: s.lines.Load(), Events: s.events.Load(),
		Quarantined: s.quarantined.Load(), Overlong: s.overlong.Load(), Mismatched: s.mismatched.Load(),
		Replayed: s.replayed.Load(), Recovered: s.recovered.Load(), Commits: s.commits.Load(),
		StreamErrors: s.streamErrors.Load()}
}

// Run collects until ctx is cancelled (then it commits what it has and returns nil) or
// a fatal error (the spool, quarantine or state file cannot be written).
func (c *Collector) Run(ctx context.Context) error {
	if c.ownsCli {
		defer c.cli.Close()
	}
	if _, err := c.cli.Ping(ctx); err != nil {
		return fmt.Errorf("collector: %w (is dockerd running?): %w", ErrNoDocker, err)
	}
	c.cli.NegotiateAPIVersion(ctx)

	cm, st, err := openCommitter(c.cfg, c.log, &c.st)
	if err != nil {
		return err
	}
	c.commit = cm
	c.out = make(chan item, 256)
	c.active = map[string]*streamState{}
	c.positions = map[string]Position{}
	for id, p := range st.Containers {
		c.positions[id] = p
	}
	c.drained = map[string]string{}
	c.log.Info("collector started", "project", c.cfg.Project, "spool", c.cfg.SpoolDir,
		"containers_with_cursor", len(st.Containers), "recovered", c.st.recovered.Load())

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	commitErr := make(chan error, 1)
	go func() {
		err := cm.loop(c.out)
		if err != nil {
			cancel()
		}
		commitErr <- err
	}()
	c.wg.Add(1)
	go c.watch(ctx)
	<-ctx.Done()
	c.wg.Wait()
	close(c.out)
	err = <-commitErr
	if cerr := cm.close(); err == nil {
		err = cerr
	}
	return err
}

// labelFilter selects the project's service containers.
func (c *Collector) labelFilter() filters.Args {
	return filters.NewArgs(
		filters.Arg("label", compose.LabelProject+"="+c.cfg.Project),
		filters.Arg("label", compose.LabelRole+"="+compose.RoleService),
	)
}

// watch follows Docker events and resyncs periodically; it starts the streams.
func (c *Collector) watch(ctx context.Context) {
	defer c.wg.Done()
	tick := time.NewTicker(c.cfg.Resync)
	defer tick.Stop()
	for ctx.Err() == nil {
		f := c.labelFilter()
		f.Add("type", "container")
		for _, a := range []events.Action{events.ActionStart, events.ActionRestart, events.ActionDie} {
			f.Add("event", string(a))
		}
		// Subscribe first, then list: a container that starts in between is seen twice, never missed.
		evctx, evcancel := context.WithCancel(ctx)
		msgs, errs := c.cli.Events(evctx, events.ListOptions{Filters: f})
		c.resync(ctx)
	loop:
		for {
			select {
			case <-ctx.Done():
				break loop
			case m := <-msgs:
				c.ensure(ctx, m.Actor.ID, true)
			case err := <-errs:
				if ctx.Err() == nil {
					c.log.Warn("docker events stream ended; resubscribing", "err", err)
				}
				break loop
			case <-tick.C:
				c.resync(ctx)
			}
		}
		evcancel()
		select {
		case <-ctx.Done():
		case <-time.After(time.Second):
		}
	}
}

// resync lists the project's containers (running or not) and makes sure each is
// followed or drained; it forgets the cursors of containers that no longer exist.
func (c *Collector) resync(ctx context.Context) {
	list, err := c.cli.ContainerList(ctx, container.ListOptions{All: true, Filters: c.labelFilter()})
	if err != nil {
		if ctx.Err() == nil {
			c.log.Warn("cannot list the project's containers", "err", err)
		}
		return
	}
	seen := map[string]bool{}
	for _, ct := range list {
		seen[ct.ID] = true
		c.ensure(ctx, ct.ID, false)
	}
	for _, id := range c.commit.containers() {
		if seen[id] {
			continue
		}
		if _, err := c.cli.ContainerInspect(ctx, id); cerrdefs.IsNotFound(err) {
			c.commit.forget(id)
			c.mu.Lock()
			if c.active[id] == nil {
				delete(c.positions, id)
				delete(c.drained, id)
			}
			c.mu.Unlock()
		}
	}
}

// ensure starts the stream goroutine of a container, or, when it runs and kick is set
// (a start event), makes it look at the container once more before it exits.
func (c *Collector) ensure(ctx context.Context, id string, kick bool) {
	if id == "" || ctx.Err() != nil {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if s := c.active[id]; s != nil {
		if kick {
			s.kick = true
		}
		return
	}
	c.active[id] = &streamState{}
	c.wg.Add(1)
	go c.stream(ctx, id)
}

// exiting removes the goroutine of id unless it was kicked; it reports whether it may exit.
func (c *Collector) exiting(id string, pos Position) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.positions[id] = pos
	if s := c.active[id]; s != nil && s.kick {
		s.kick = false
		return false
	}
	delete(c.active, id)
	return true
}

func sleepCtx(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}

// stream is the goroutine of one container: it follows its log while it runs,
// drains it once it has stopped, and exits.
func (c *Collector) stream(ctx context.Context, id string) {
	defer c.wg.Done()
	c.st.streams.Add(1)
	defer c.st.streams.Add(-1)
	c.mu.Lock()
	pos := c.positions[id]
	c.mu.Unlock()
	backoff := 100 * time.Millisecond
	for ctx.Err() == nil {
		info, err := c.cli.ContainerInspect(ctx, id)
		if cerrdefs.IsNotFound(err) {
			if c.exiting(id, pos) {
				return
			}
			continue
		}
		if err != nil {
			if ctx.Err() != nil {
				break
			}
			c.log.Warn("cannot inspect container", "container", short(id), "err", err)
			sleepCtx(ctx, backoff)
			backoff = min(backoff*2, 10*time.Second)
			continue
		}
		running := info.State != nil && info.State.Running
		finished := ""
		if info.State != nil {
			finished = info.State.FinishedAt
		}
		if !running {
			c.mu.Lock()
			done := c.drained[id] == finished
			c.mu.Unlock()
			if done {
				if c.exiting(id, pos) {
					return
				}
				continue
			}
		}
		start := time.Now()
		n, err := c.read(ctx, id, &info, &pos, running)
		if ctx.Err() != nil {
			break
		}
		if err != nil {
			c.st.streamErrors.Add(1)
			c.log.Warn("container log stream failed", "container", short(id), "err", err)
		}
		if !running && err == nil {
			c.mu.Lock()
			c.drained[id] = finished
			c.mu.Unlock()
			continue // re-inspect: exits unless it was started again meanwhile
		}
		if err != nil || (n == 0 && time.Since(start) < time.Second) {
			sleepCtx(ctx, backoff)
			backoff = min(backoff*2, 10*time.Second)
		} else {
			backoff = 100 * time.Millisecond
		}
	}
	c.mu.Lock()
	c.positions[id] = pos
	delete(c.active, id)
	c.mu.Unlock()
}

func short(id string) string {
	if len(id) > 12 {
		return id[:12]
	}
	return id
}
