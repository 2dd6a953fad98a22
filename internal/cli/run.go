package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"sync"

	"github.com/spf13/cobra"

	"decnet/internal/analysis"
	"decnet/internal/api"
	"decnet/internal/bus"
	"decnet/internal/collector"
	"decnet/internal/compose"
	"decnet/internal/event"
	"decnet/internal/ingest"
	"decnet/internal/prober"
	"decnet/internal/sniffer"
	"decnet/internal/state"
	"decnet/internal/syslogfwd"
)

func init() { register(newRunCmd) }

func newRunCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "run",
		Short: "Run the whole pipeline of one host: collector, sniffer, (syslog forwarding), ingester, analysis",
		Long: `Run is the whole pipeline of one host in one process (` + "`decnet collect`" + `, ` + "`decnet ingest`" + ` and more): it follows
every decky container into the spool, sniffs the fleet's parent interface for TLS/SSH
fingerprints, SYN features and scans (like ` + "`decnet sniff`" + `; --sniff=false to leave it out),
forwards events to the syslog target when one is set, stores everything (with its bounty)
in the database, publishing each stored event on the in-process live bus that the API's live
stream pushes to the dashboard (--api-listen, default ` + api.DefaultListen + `; "" for none), and correlates and
profiles attackers (like ` + "`decnet analyze`" + `; see ` + "`decnet attackers`" + `). With --probe it also
probes the attackers it has seen (JARM, SSH server HASSH): that sends traffic to them.
Stop it with Ctrl-C or SIGTERM: every part commits what it has and exits.

Examples:
  sudo decnet run
  sudo decnet run --db 'mysql://decnet:secret@tcp(db.example:3306)/decnet'`,
		Args: cobra.NoArgs,
	}
	var pf pipelineFlags
	var inf ingestFlags
	var af apiFlags
	af.add(c, "api-", api.DefaultListen)
	pf.addDB(c)
	pf.addSpool(c)
	inf.add(c)
	project := c.Flags().String("project", "", "compose project whose containers to follow (default: the deployed one, else "+compose.DefaultProject+")")
	logTarget := c.Flags().String("log-target", "", "also forward events to this syslog target (default: the deployed log_target)")
	analyze := c.Flags().Bool("analyze", true, "also run the correlation engine and profiler (attackers, traversal paths, behaviour; as 'decnet analyze' does)")
	probe := c.Flags().Bool("probe", false, "also probe attackers actively (JARM on 443/8443, SSH server HASSH on 22): SENDS TRAFFIC TO ATTACKER ADDRESSES, off by default; see 'decnet probe --help'")
	sniff := c.Flags().Bool("sniff", true, "also run the sniffer on the deployed fleet's parent interface (TLS/SSH fingerprints, SYN features, scans)")
	logBuffer := byteSize(syslogfwd.DefaultMaxBuffer)
	c.Flags().Var(&logBuffer, "log-buffer", "most spool bytes kept for the syslog target while it is down; past it the oldest are given up, counted and logged (e.g. 512MiB, or unbounded)")
	c.RunE = func(c *cobra.Command, _ []string) error {
		if err := inf.check(); err != nil {
			return err
		}
		if err := af.check("api-"); err != nil {
			return err
		}
		dir, err := stateDir(c)
		if err != nil {
			return err
		}
		spoolDir, err := pf.spoolDirFromFlags(c)
		if err != nil {
			return err
		}
		dep, err := state.Load(dir)
		if err != nil && !errors.Is(err, state.ErrNoState) {
			return err
		}
		if *project == "" {
			*project = compose.DefaultProject
			if dep != nil && dep.Project != "" {
				*project = dep.Project
			}
		}
		if *logTarget == "" && dep != nil {
			*logTarget = dep.Fleet.LogTarget
		}
		log := slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))

		var fwd *syslogfwd.Forwarder
		if *logTarget != "" {
			if fwd, err = syslogfwd.New(*logTarget, syslogfwd.Options{Log: log, MaxBuffer: int64(logBuffer)}); err != nil {
				return usageErr(err)
			}
		}
		col, err := collector.New(collector.Config{Project: *project, SpoolDir: spoolDir,
			StatePath: filepath.Join(dir, collector.StateFileName), QuarantinePath: filepath.Join(dir, collector.QuarantineFileName), Log: log})
		if err != nil {
			return usageErr(err)
		}
		live := bus.New()
		defer live.Close()
		cfg, err := inf.config(c, nil, spoolDir, log)
		if err != nil {
			return err
		}
		cfg.Bus = live
		extraDirs, err := pf.extraSpoolDirs(c)
		if err != nil {
			return err
		}
		var in *ingest.Ingester // set by the ingester part once the database is open

		// Each part runs until the command is stopped; the first to fail stops the others.
		ctx, cancel := context.WithCancel(c.Context())
		defer cancel()
		var (
			wg   sync.WaitGroup
			mu   sync.Mutex
			errs []error
		)
		start := func(name string, run func(context.Context) error) {
			wg.Add(1)
			go func() {
				defer wg.Done()
				if err := run(ctx); err != nil {
					mu.Lock()
					errs = append(errs, fmt.Errorf("%s: %w", name, err))
					mu.Unlock()
					cancel()
				}
			}()
		}
		start("collector", col.Run)
		// The collector runs at once; the ingester waits for the database if it is
		// not reachable yet (the spool holds the events meanwhile).
		start("ingester", func(ctx context.Context) error {
			st, err := pf.openStoreWaiting(ctx, c, log)
			if errors.Is(err, context.Canceled) {
				return nil
			}
			if err != nil {
				return err
			}
			defer st.Close()
			cfg.Store = st
			mu.Lock()
			in = ingest.New(cfg)
			mu.Unlock()
			// The sniffer's and prober's spools go into the same store, each with
			// its own cursor.
			var g sync.WaitGroup
			extraErrs := make([]error, len(extraDirs))
			for i, ec := range extraConfigs(cfg, extraDirs) {
				g.Add(1)
				go func() {
					defer g.Done()
					if extraErrs[i] = ingest.New(ec).Run(ctx); extraErrs[i] != nil {
						extraErrs[i] = fmt.Errorf("ingesting %s: %w", ec.SpoolDir, extraErrs[i])
						cancel()
					}
				}()
			}
			var analysisErr error
			if *analyze {
				g.Add(1)
				go func() {
					defer g.Done()
					if err := analysis.Run(ctx, st, analysis.Options{Log: log}); err != nil && ctx.Err() == nil {
						analysisErr = fmt.Errorf("analysis: %w", err)
						cancel()
					}
				}()
			}
			err = in.Run(ctx)
			g.Wait()
			return errors.Join(append(extraErrs, analysisErr, err)...)
		})
		if af.listen != "" {
			start("api", func(ctx context.Context) error {
				st, err := pf.openStoreWaiting(ctx, c, log)
				if errors.Is(err, context.Canceled) {
					return nil
				}
				if err != nil {
					return err
				}
				defer st.Close()
				srv, err := af.server(c, st, live, log)
				if err != nil {
					return err
				}
				return af.run(ctx, srv)
			})
		}
		if *sniff && dep != nil && dep.Fleet.Interface != "" {
			scfg := sniffer.FleetConfig(&dep.Fleet, dir)
			scfg.Log = log
			start("sniffer", func(ctx context.Context) error { return sniffer.Run(ctx, scfg) })
			log.Info("sniffing", "interface", scfg.Iface)
		}
		if *probe {
			sink, err := prober.OpenSpoolSink(filepath.Join(dir, ProberSpoolDir))
			if err != nil {
				return err
			}
			defer sink.Close()
			p, err := prober.New(prober.Config{StatePath: filepath.Join(dir, ProberStateFile), Log: log}, sink)
			if err != nil {
				return usageErr(err)
			}
			addrs := make(chan netip.Addr)
			src := prober.SpoolSource{Dir: spoolDir, CursorPath: filepath.Join(dir, ProberCursorFile), MaxAge: prober.DefaultInterval, Log: log}
			start("prober source", func(ctx context.Context) error { return src.Run(ctx, addrs) })
			start("prober", func(ctx context.Context) error { return p.Run(ctx, addrs) })
			log.Warn("probing attackers: JARM and SSH probes are sent to attacker addresses seen in the spool")
		}
		if fwd != nil {
			start("syslog forwarder", func(ctx context.Context) error {
				return fwd.Run(ctx, spoolDir, filepath.Join(dir, SyslogCursorFile))
			})
			log.Info("forwarding events", "target", fwd.Target().String())
		}
		wg.Wait()
		err = errors.Join(errs...)
		if errors.Is(err, collector.ErrNoDocker) {
			return prereqErr(err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintln(c.ErrOrStderr(), event.SafeTerminal(fmt.Sprintf("collector stopped: %+v", col.Stats())))
		if in != nil {
			fmt.Fprintln(c.ErrOrStderr(), event.SafeTerminal(fmt.Sprintf("ingester stopped: %+v", in.Stats())))
		}
		return nil
	}
	return c
}
