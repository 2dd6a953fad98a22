package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"os"
	"path/filepath"
	"runtime/debug"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"decnet/internal/event"
	"decnet/internal/ingest"
	"decnet/internal/sniffer"
	"decnet/internal/store"
)

func init() { register(newIngestCmd) }

// EnvDB names the database DSN when --db is not given.
const EnvDB = "DECNET_DB"

// pipelineFlags are the flags every pipeline command (ingest, logs, run) shares.
type pipelineFlags struct {
	db, spoolDir string
	extraSpools  []string
	extraSet     bool
}

func (p *pipelineFlags) addDB(c *cobra.Command) {
	c.Flags().StringVar(&p.db, "db", "", "database DSN: sqlite:///path/decnet.db or mysql://user:pass@tcp(host:3306)/db (env "+EnvDB+", default <state-dir>/decnet.db)")
}

func (p *pipelineFlags) addSpool(c *cobra.Command) {
	c.Flags().StringVar(&p.spoolDir, "spool-dir", "", "spool directory (default <state-dir>/spool)")
	c.Flags().StringSliceVar(&p.extraSpools, "extra-spool-dirs", nil,
		"more spools to store, each with its own cursor: the sniffer's and the prober's (default <state-dir>/spool-sniffer,<state-dir>/spool-prober; \"\" for none)")
}

// extraSpoolDirs is --extra-spool-dirs (absolute), else the sniffer's and the
// prober's spools in the state directory.
func (p *pipelineFlags) extraSpoolDirs(c *cobra.Command) ([]string, error) {
	if !c.Flags().Changed("extra-spool-dirs") {
		dir, err := stateDir(c)
		if err != nil {
			return nil, err
		}
		return []string{filepath.Join(dir, sniffer.SpoolDirName), filepath.Join(dir, ProberSpoolDir)}, nil
	}
	var out []string
	for _, d := range p.extraSpools {
		if d == "" {
			continue
		}
		abs, err := filepath.Abs(d)
		if err != nil {
			return nil, usageErr(fmt.Errorf("--extra-spool-dirs %q: %w", d, err))
		}
		out = append(out, abs)
	}
	return out, nil
}

// extraConfigs derives, from the main ingester's configuration, one per extra spool:
// its own cursor ("ingester:<dir name>") and rejected-records file, no prune holds
// (the syslog forwarder reads only the collector's spool).
func extraConfigs(main ingest.Config, dirs []string) []ingest.Config {
	var out []ingest.Config
	for _, d := range dirs {
		cfg := main
		cfg.SpoolDir, cfg.CursorName, cfg.PruneHolds, cfg.RejectPath = d, ingest.CursorName+":"+filepath.Base(d), nil, ""
		out = append(out, cfg)
	}
	return out
}

// dsnFromFlags is --db, else $DECNET_DB, else SQLite in the state directory.
func (p *pipelineFlags) dsnFromFlags(c *cobra.Command) (string, error) {
	if p.db != "" {
		return p.db, nil
	}
	if d := os.Getenv(EnvDB); d != "" {
		return d, nil
	}
	dir, err := stateDir(c)
	if err != nil {
		return "", err
	}
	return store.DefaultDSN(dir), nil
}

// spoolDirFromFlags is --spool-dir (absolute), else <state-dir>/spool.
func (p *pipelineFlags) spoolDirFromFlags(c *cobra.Command) (string, error) {
	if p.spoolDir == "" {
		dir, err := stateDir(c)
		if err != nil {
			return "", err
		}
		return filepath.Join(dir, "spool"), nil
	}
	abs, err := filepath.Abs(p.spoolDir)
	if err != nil {
		return "", usageErr(fmt.Errorf("--spool-dir %q: %w", p.spoolDir, err))
	}
	return abs, nil
}

// openStore opens the database the flags name.
func (p *pipelineFlags) openStore(c *cobra.Command) (store.Store, error) {
	dsn, err := p.dsnFromFlags(c)
	if err != nil {
		return nil, err
	}
	st, err := store.Open(c.Context(), dsn)
	if err != nil {
		return nil, fmt.Errorf("cannot open the database: %w", err)
	}
	return st, nil
}

// Backoff of openStoreWaiting between attempts to reach the database.
const (
	openRetryFirst = 500 * time.Millisecond
	openRetryMax   = 15 * time.Second
)

// openStoreWaiting opens the database the flags name like openStore, but while the
// database is unreachable (down, restarting, locked: store.IsRetryable) it logs that
// and tries again with backoff until ctx ends, so an ingester started before its
// database — or while it restarts — waits for it instead of exiting. Errors that no
// wait can fix (a malformed DSN, refused credentials, a newer schema) return at
// once. When ctx ends first it returns ctx's error.
func (p *pipelineFlags) openStoreWaiting(ctx context.Context, c *cobra.Command, log *slog.Logger) (store.Store, error) {
	dsn, err := p.dsnFromFlags(c)
	if err != nil {
		return nil, err
	}
	backoff := openRetryFirst
	for attempt := 1; ; attempt++ {
		st, err := store.Open(ctx, dsn)
		if err == nil {
			if attempt > 1 {
				log.Info("the database is reachable again; starting", "attempts", attempt)
			}
			return st, nil
		}
		if ctx.Err() != nil {
			return nil, ctx.Err()
		}
		if !store.IsRetryable(err) {
			return nil, fmt.Errorf("cannot open the database: %w", err)
		}
		log.Warn("the database is unreachable; retrying (no event is lost: they wait in the spool)", "attempt", attempt, "retry_in", backoff, "err", err)
		t := time.NewTimer(backoff)
		select {
		case <-ctx.Done():
			t.Stop()
			return nil, ctx.Err()
		case <-t.C:
		}
		backoff = min(backoff*2, openRetryMax)
	}
}

// ingestFlags configure the ingester (ingest and run).
type ingestFlags struct {
	batchSize     int
	flushInterval time.Duration
	keepSegments  int
	gogc          int
}

func (f *ingestFlags) add(c *cobra.Command) {
	c.Flags().IntVar(&f.batchSize, "batch-size", ingest.DefaultBatchSize, "most events per database transaction")
	c.Flags().DurationVar(&f.flushInterval, "flush-interval", ingest.DefaultFlushInterval, "longest an event waits for its batch to fill")
	c.Flags().IntVar(&f.keepSegments, "keep-segments", ingest.DefaultKeepSegments, "fully stored spool segments kept as a margin (-1: never prune)")
	c.Flags().IntVar(&f.gogc, "gogc", ingest.DefaultGCPercent, "the Go garbage collector's GOGC for this process: how far (in %) the heap grows past its live size before a collection; "+
		"higher ingests faster for more memory (Go's default is 100; at 400 the ingester was 5-10% faster for twice the memory). Without this flag, a GOGC environment variable wins")
}

// applyGC sets the process's GOGC for ingesting (see ingest.DefaultGCPercent):
// --gogc when given, else the GOGC environment variable when set (the Go runtime
// has read it), else --gogc's default.
func (f *ingestFlags) applyGC(c *cobra.Command, log *slog.Logger) {
	if env := os.Getenv("GOGC"); env != "" && !c.Flags().Changed("gogc") {
		log.Info("garbage collector", "GOGC", env, "from", "environment")
		return
	}
	debug.SetGCPercent(f.gogc)
	log.Info("garbage collector", "GOGC", f.gogc)
}

func (f *ingestFlags) check() error {
	switch {
	case f.batchSize < 1 || f.batchSize > 100000:
		return usageErr(fmt.Errorf("--batch-size %d must be between 1 and 100000", f.batchSize))
	case f.flushInterval <= 0:
		return usageErr(fmt.Errorf("--flush-interval %s must be positive", f.flushInterval))
	case f.keepSegments == 0:
		// 0 means "the default" to ingest.Config; ask for it explicitly here.
		return usageErr(fmt.Errorf("--keep-segments 0 keeps no margin; use at least 1 (or -1 to never prune)"))
	case f.gogc < 10 || f.gogc > 10000:
		return usageErr(fmt.Errorf("--gogc %d must be between 10 and 10000", f.gogc))
	}
	return nil
}

// config builds the ingester's configuration.
func (f *ingestFlags) config(c *cobra.Command, st store.Store, spoolDir string, log *slog.Logger) (ingest.Config, error) {
	dir, err := stateDir(c)
	if err != nil {
		return ingest.Config{}, err
	}
	f.applyGC(c, log)
	return ingest.Config{Store: st, SpoolDir: spoolDir, BatchSize: f.batchSize, FlushInterval: f.flushInterval,
		KeepSegments: f.keepSegments, Log: log,
		// The syslog forwarder of `decnet collect` and the prober read the same spool.
		PruneHolds: []string{filepath.Join(dir, SyslogCursorFile), filepath.Join(dir, ProberCursorFile)}}, nil
}

func newIngestCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "ingest",
		Short: "Store the spooled events in the database (with their bounty), continuously",
		Long: `Ingest tails the spool that ` + "`decnet collect`" + ` writes and stores every event in the database, with
the bounty it carries (credentials, fingerprints, uploaded files); likewise the spools of
` + "`decnet sniff`" + ` and ` + "`decnet probe`" + ` (--extra-spool-dirs), each with its own cursor. Events, bounty and the spool
cursor are committed in one transaction, so after a crash or kill -9 it resumes exactly where it
stopped: nothing lost, nothing stored twice (events are unique by event_id). While the database
is locked or unreachable — also when it starts — it waits and retries without skipping anything.

The database is --db, else $` + EnvDB + `, else SQLite at <state-dir>/decnet.db.

Examples:
  sudo decnet ingest
  decnet ingest --db 'mysql://decnet:secret@tcp(db.example:3306)/decnet' --spool-dir /var/lib/decnet/spool`,
		Args: cobra.NoArgs,
	}
	var pf pipelineFlags
	var inf ingestFlags
	pf.addDB(c)
	pf.addSpool(c)
	inf.add(c)
	c.RunE = func(c *cobra.Command, _ []string) error {
		if err := inf.check(); err != nil {
			return err
		}
		spoolDir, err := pf.spoolDirFromFlags(c)
		if err != nil {
			return err
		}
		log := slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
		st, err := pf.openStoreWaiting(c.Context(), c, log)
		if errors.Is(err, context.Canceled) {
			return nil // stopped while waiting for the database: nothing was read yet
		}
		if err != nil {
			return err
		}
		defer st.Close()
		cfg, err := inf.config(c, st, spoolDir, log)
		if err != nil {
			return err
		}
		extra, err := pf.extraSpoolDirs(c)
		if err != nil {
			return err
		}
		cfgs := append([]ingest.Config{cfg}, extraConfigs(cfg, extra)...)
		ins := make([]*ingest.Ingester, len(cfgs))
		errs := make([]error, len(cfgs))
		ctx, cancel := context.WithCancel(c.Context())
		defer cancel()
		var wg sync.WaitGroup
		for i, cf := range cfgs {
			ins[i] = ingest.New(cf)
			wg.Add(1)
			go func() {
				defer wg.Done()
				if errs[i] = ins[i].Run(ctx); errs[i] != nil {
					errs[i] = fmt.Errorf("ingesting %s: %w", cfgs[i].SpoolDir, errs[i])
					cancel() // one failing stops the others
				}
			}()
		}
		wg.Wait()
		if err := errors.Join(errs...); err != nil {
			return err
		}
		for i, in := range ins {
			fmt.Fprintln(c.ErrOrStderr(), event.SafeTerminal(fmt.Sprintf("ingester of %s stopped: %+v", cfgs[i].SpoolDir, in.Stats())))
		}
		return nil
	}
	return c
}
