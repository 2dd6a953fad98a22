package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"path/filepath"
	"sync"

	"github.com/spf13/cobra"

	"decnet/internal/collector"
	"decnet/internal/compose"
	"decnet/internal/state"
	"decnet/internal/syslogfwd"
)

func init() { register(newCollectCmd) }

// SyslogCursorFile is the syslog forwarder's cursor file inside the state directory.
const SyslogCursorFile = "syslog-cursor"

func newCollectCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "collect",
		Short: "Follow every decky container's events into the spool (and forward them to a syslog target)",
		Long: `Collect follows the stdout of every service container of the deployment through the Docker
API (containers that start later or restart too), parses each line as a DECNET event and appends
it to the spool, which the ingester reads. Lines that are not events are kept in
quarantine.jsonl next to the spool and counted. After a crash or restart it resumes from its
cursors (collector-state.json) with no loss and no duplicates.

With --log-target (or log_target in the deployed configuration) every spooled event is also
sent to a syslog receiver: udp://host:port, tcp://host:port (octet counting),
tls://host:port?ca=FILE&fingerprint=SHA256&cert=FILE&key=FILE, or host:port (UDP).

Examples:
  sudo decnet collect
  sudo decnet collect --log-target tls://logs.example:6514?ca=/etc/decnet/ca.pem`,
		Args: cobra.NoArgs,
	}
	spoolDir := c.Flags().String("spool-dir", "", "spool directory (default <state-dir>/spool)")
	project := c.Flags().String("project", "", "compose project whose containers to follow (default: the deployed one, else "+compose.DefaultProject+")")
	logTarget := c.Flags().String("log-target", "", "also forward events to this syslog target (default: the deployed log_target)")
	logBuffer := byteSize(syslogfwd.DefaultMaxBuffer)
	c.Flags().Var(&logBuffer, "log-buffer", "most spool bytes kept for the syslog target while it is down; past it the oldest are given up, counted and logged (e.g. 512MiB, or unbounded)")
	c.RunE = func(c *cobra.Command, _ []string) error {
		dir, err := stateDir(c)
		if err != nil {
			return err
		}
		st, err := state.Load(dir)
		if err != nil && !errors.Is(err, state.ErrNoState) {
			return err
		}
		if *project == "" {
			*project = compose.DefaultProject
			if st != nil && st.Project != "" {
				*project = st.Project
			}
		}
		if *logTarget == "" && st != nil {
			*logTarget = st.Fleet.LogTarget
		}
		if *spoolDir == "" {
			*spoolDir = filepath.Join(dir, "spool")
		}
		if *spoolDir, err = filepath.Abs(*spoolDir); err != nil {
			return usageErr(fmt.Errorf("--spool-dir: %w", err))
		}
		log := slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
		var fwd *syslogfwd.Forwarder
		if *logTarget != "" {
			if fwd, err = syslogfwd.New(*logTarget, syslogfwd.Options{Log: log, MaxBuffer: int64(logBuffer)}); err != nil {
				return usageErr(err)
			}
		}
		col, err := collector.New(collector.Config{Project: *project, SpoolDir: *spoolDir,
			StatePath: filepath.Join(dir, collector.StateFileName), QuarantinePath: filepath.Join(dir, collector.QuarantineFileName), Log: log})
		if err != nil {
			return usageErr(err)
		}
		ctx, cancel := context.WithCancel(c.Context())
		defer cancel()
		var wg sync.WaitGroup
		var fwdErr error
		if fwd != nil {
			wg.Add(1)
			go func() {
				defer wg.Done()
				fwdErr = fwd.Run(ctx, *spoolDir, filepath.Join(dir, SyslogCursorFile))
			}()
			log.Info("forwarding events", "target", fwd.Target().String())
		}
		err = col.Run(ctx)
		cancel() // the collector stopped: the forwarder has nothing more to send
		wg.Wait()
		if err == nil {
			err = fwdErr
		}
		if errors.Is(err, collector.ErrNoDocker) {
			return prereqErr(err)
		}
		if err != nil {
			return err
		}
		fmt.Fprintf(c.ErrOrStderr(), "collector stopped: %+v\n", col.Stats())
		return nil
	}
	return c
}
