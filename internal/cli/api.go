package cli

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"log/slog"
	"os"
	"sync"
	"time"

	"github.com/spf13/cobra"

	"decnet/internal/api"
	"decnet/internal/bus"
	"decnet/internal/engine"
	"decnet/internal/engine/docker"
	"decnet/internal/fleet"
	"decnet/internal/ingest"
	"decnet/internal/store"
	"decnet/internal/webui"
)

func init() { register(newAPICmd) }

// EnvAdminPassword names the first admin's password when --admin-password is not given.
const EnvAdminPassword = "DECNET_ADMIN_PASSWORD"

// apiFlags are the flags of the API server (decnet api; decnet run can add them too).
type apiFlags struct {
	listen, adminPassword, tlsCert, tlsKey string
	rowCacheMB                             int
}

// add registers the flags; prefix ("" or e.g. "api-") lets a command that has
// flags of its own name them apart.
func (f *apiFlags) add(c *cobra.Command, prefix, defListen string) {
	c.Flags().StringVar(&f.listen, prefix+"listen", defListen, "address of the API and dashboard (host:port; keep it on loopback or a management network)")
	c.Flags().StringVar(&f.adminPassword, prefix+"admin-password", "", "password of the first admin account, used only when no user exists (env "+EnvAdminPassword+"; default: a random one, printed once); it must be changed at first login")
	c.Flags().StringVar(&f.tlsCert, prefix+"tls-cert", "", "serve HTTPS with this certificate file (PEM; with --"+prefix+"tls-key)")
	c.Flags().StringVar(&f.tlsKey, prefix+"tls-key", "", "the private key file of --"+prefix+"tls-cert")
	c.Flags().IntVar(&f.rowCacheMB, prefix+"row-cache-mb", int(api.DefaultRowCache()>>20), "MiB of memory for stored events' JSON, so that searches do not read and encode them again: filled at start with the newest events up to half of it, then as searches read events (default: an eighth of this machine's memory; 0: none, else at least 32)")
}

func (f *apiFlags) check(prefix string) error {
	if (f.tlsCert == "") != (f.tlsKey == "") {
		return usageErr(fmt.Errorf("--%stls-cert and --%stls-key go together", prefix, prefix))
	}
	if f.rowCacheMB != 0 && (f.rowCacheMB < 32 || f.rowCacheMB > 1<<20) {
		return usageErr(fmt.Errorf("--%srow-cache-mb must be 0 (no cache) or from 32 to %d", prefix, 1<<20))
	}
	return nil
}

// server builds the API server on st, streaming from live (may be nil).
func (f *apiFlags) server(c *cobra.Command, st store.Store, live *bus.Bus, log *slog.Logger) (*api.Server, error) {
	dir, err := stateDir(c)
	if err != nil {
		return nil, err
	}
	pw := f.adminPassword
	if pw == "" {
		pw = os.Getenv(EnvAdminPassword)
	}
	srv, err := api.New(api.Config{Store: st, Bus: live, StateDir: dir, Engine: &lazyEngine{}, Assets: dashboardAssets(),
		Log: log, AdminPassword: pw, PasswordOut: c.ErrOrStderr(), RowCache: rowCacheBytes(f.rowCacheMB)})
	if err != nil {
		return nil, err
	}
	return srv, nil
}

// rowCacheBytes is api.Config.RowCache for --row-cache-mb.
func rowCacheBytes(mb int) int64 {
	if mb == 0 {
		return -1
	}
	return int64(mb) << 20
}

// run serves until ctx ends.
func (f *apiFlags) run(ctx context.Context, srv *api.Server) error {
	return srv.RunTLS(ctx, f.listen, f.tlsCert, f.tlsKey)
}

// dashboardAssets is the embedded dashboard (a variable so a test can swap it).
var dashboardAssets func() fs.FS = webui.Assets

// lazyEngine connects to Docker on first use and again (at most every 30 s)
// after a failure, so the API starts without Docker and shows container states
// once it is reachable.
type lazyEngine struct {
	mu      sync.Mutex
	eng     *docker.Engine
	lastTry time.Time
	lastErr error
}

// get returns the engine, connecting first if needed.
func (l *lazyEngine) get(ctx context.Context) (*docker.Engine, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.eng == nil {
		if time.Since(l.lastTry) < 30*time.Second && l.lastErr != nil {
			return nil, l.lastErr
		}
		l.lastTry = time.Now()
		cctx, cancel := context.WithTimeout(ctx, 3*time.Second)
		l.eng, l.lastErr = docker.New(cctx)
		cancel()
		if l.lastErr != nil {
			return nil, l.lastErr
		}
	}
	return l.eng, nil
}

func (l *lazyEngine) Status(ctx context.Context, project string) ([]engine.ContainerState, error) {
	eng, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return eng.Status(ctx, project)
}

func (l *lazyEngine) Listening(ctx context.Context, project, decky string) ([]fleet.Port, error) {
	eng, err := l.get(ctx)
	if err != nil {
		return nil, err
	}
	return eng.Listening(ctx, project, decky)
}

func newAPICmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "api",
		Short: "Serve the REST API and the web dashboard",
		Long: `API serves the JSON API (/api/…, described at /api/openapi.json) and the dashboard on one
port. On first start, when the database has no user, it creates the user "admin" with a random
password printed once on stderr (or --admin-password / $` + EnvAdminPassword + `), which must be
changed at first login.

The live stream (/api/stream) is fed by the ingester of the same process: run the API inside
` + "`decnet run`" + `, or pass --ingest here to store the spool in this process too. Without it the
stream only replays stored events.

The database is --db, else $` + EnvDB + `, else SQLite at <state-dir>/decnet.db.

Examples:
  decnet api
  decnet api --listen 10.0.0.5:8443 --tls-cert api.crt --tls-key api.key
  DECNET_ADMIN_PASSWORD='a long passphrase' decnet api --ingest`,
		Args: cobra.NoArgs,
	}
	var pf pipelineFlags
	var inf ingestFlags
	var af apiFlags
	pf.addDB(c)
	pf.addSpool(c)
	inf.add(c)
	af.add(c, "", api.DefaultListen)
	withIngest := c.Flags().Bool("ingest", false, "also run the ingester (as decnet ingest does) in this process, feeding the live stream")
	c.RunE = func(c *cobra.Command, _ []string) error {
		if err := af.check(""); err != nil {
			return err
		}
		if *withIngest {
			if err := inf.check(); err != nil {
				return err
			}
		}
		log := slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
		st, err := pf.openStoreWaiting(c.Context(), c, log)
		if errors.Is(err, context.Canceled) {
			return nil
		}
		if err != nil {
			return err
		}
		defer st.Close()
		live := bus.New()
		defer live.Close()
		srv, err := af.server(c, st, live, log)
		if err != nil {
			return err
		}
		ctx, cancel := context.WithCancel(c.Context())
		defer cancel()
		var wg sync.WaitGroup
		var errs []error
		if *withIngest {
			spoolDir, err := pf.spoolDirFromFlags(c)
			if err != nil {
				return err
			}
			cfg, err := inf.config(c, st, spoolDir, log)
			if err != nil {
				return err
			}
			cfg.Bus = live
			extra, err := pf.extraSpoolDirs(c)
			if err != nil {
				return err
			}
			cfgs := append([]ingest.Config{cfg}, extraConfigs(cfg, extra)...)
			errs = make([]error, len(cfgs))
			for i, cf := range cfgs {
				wg.Add(1)
				go func() {
					defer wg.Done()
					if errs[i] = ingest.New(cf).Run(ctx); errs[i] != nil {
						errs[i] = fmt.Errorf("ingesting %s: %w", cf.SpoolDir, errs[i])
						cancel()
					}
				}()
			}
		} else {
			log.Info("no ingester in this process: the live stream only replays stored events (use `decnet run` or --ingest)")
		}
		err = af.run(ctx, srv)
		cancel()
		wg.Wait()
		if ingErr := errors.Join(errs...); ingErr != nil {
			return ingErr
		}
		return err
	}
	return c
}
