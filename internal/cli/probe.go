package cli

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
	"strconv"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"decnet/internal/event"
	"decnet/internal/prober"
)

func init() { register(newProbeCmd) }

// Files of the prober inside the state directory.
const (
	ProberSpoolDir   = "spool-prober"      // the prober's own spool (the ingester tails it)
	ProberCursorFile = "prober-cursor"     // its position in the source spool
	ProberStateFile  = "prober-state.json" // when each address was last probed
)

func newProbeCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "probe",
		Short: "Fingerprint attackers back: JARM and SSH server probes to the addresses that touched the deckies",
		Long: `Probe SENDS TRAFFIC TO ATTACKER ADDRESSES. It is off unless you run it: an attacker may notice
that the network it attacked connects back, and the probes leave your network from this host.

Probe reads the events in the source spool (the collector's, by default) and, for every attacker
address it finds, at most once per --interval and --concurrency addresses at a time:
  - runs JARM (Salesforce's ten TLS ClientHello probes, one connection each) on every --ports port;
  - opens an SSH connection to every --ssh-ports port, reads the server's identification line,
    sends a client identification line and KEXINIT, reads the server's KEXINIT (HASSHServer),
    and hangs up before any key exchange or login.
Each port that answers becomes a ` + "`fingerprint`" + ` event (service and decky "prober", fp_kind "jarm" or
"ssh_server_probe") in its own spool, which the ingester stores. Its position in the source spool
(` + ProberCursorFile + `) and the time each address was probed (` + ProberStateFile + `) are kept in the
state directory, so a restart neither re-probes early nor re-reads old events. Events older than
--interval are not probed.

With --ip it probes the given addresses once, now, and exits (the interval still applies).

Examples:
  sudo decnet probe
  sudo decnet probe --ports 443,8443,9443 --ssh-ports 22,2222 --interval 12h
  sudo decnet probe --ip 203.0.113.7`,
		Args: cobra.NoArgs,
	}
	spoolDir := c.Flags().String("spool-dir", "", "the prober's own spool directory (default <state-dir>/"+ProberSpoolDir+")")
	source := c.Flags().String("source-spool", "", "spool whose events name the attackers to probe (default <state-dir>/spool, the collector's)")
	interval := c.Flags().Duration("interval", prober.DefaultInterval, "probe one address at most once per interval")
	ports := c.Flags().String("ports", joinProbePorts(prober.DefaultJARMPorts), "TLS ports to JARM, comma-separated (\"\" for none)")
	sshPorts := c.Flags().String("ssh-ports", joinProbePorts(prober.DefaultSSHPorts), "SSH ports to probe, comma-separated (\"\" for none)")
	concurrency := c.Flags().Int("concurrency", prober.DefaultConcurrency, "addresses probed at the same time")
	timeout := c.Flags().Duration("timeout", prober.DefaultTimeout, "bound of each network step (one JARM probe; one SSH exchange)")
	ips := c.Flags().StringSlice("ip", nil, "probe these addresses once and exit, instead of reading the source spool")
	c.RunE = func(c *cobra.Command, _ []string) error {
		dir, err := stateDir(c)
		if err != nil {
			return err
		}
		jp, err := parseProbePorts("--ports", *ports)
		if err != nil {
			return usageErr(err)
		}
		sp, err := parseProbePorts("--ssh-ports", *sshPorts)
		if err != nil {
			return usageErr(err)
		}
		var targets []netip.Addr
		for _, s := range *ips {
			a, err := netip.ParseAddr(strings.TrimSpace(s))
			if err != nil {
				return usageErr(fmt.Errorf("--ip %q is not an IP address", s))
			}
			targets = append(targets, a)
		}
		if *spoolDir == "" {
			*spoolDir = filepath.Join(dir, ProberSpoolDir)
		}
		if *source == "" {
			*source = filepath.Join(dir, "spool")
		}
		for _, p := range []*string{spoolDir, source} {
			if *p, err = filepath.Abs(*p); err != nil {
				return usageErr(err)
			}
		}
		if *spoolDir == *source {
			return usageErr(errors.New("--spool-dir and --source-spool must be different directories (each spool has one writer)"))
		}
		log := slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
		sink, err := prober.OpenSpoolSink(*spoolDir)
		if err != nil {
			return err
		}
		defer sink.Close()
		p, err := prober.New(prober.Config{Interval: *interval, Concurrency: *concurrency, JARMPorts: jp, SSHPorts: sp,
			Timeout: *timeout, StatePath: filepath.Join(dir, ProberStateFile), Log: log}, sink)
		if err != nil {
			return usageErr(err)
		}
		ctx, cancel := context.WithCancel(c.Context())
		defer cancel()
		addrs := make(chan netip.Addr)
		var wg sync.WaitGroup
		var srcErr error
		if len(targets) > 0 {
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer close(addrs)
				for _, a := range targets {
					select {
					case addrs <- a:
					case <-ctx.Done():
						return
					}
				}
			}()
		} else {
			src := prober.SpoolSource{Dir: *source, CursorPath: filepath.Join(dir, ProberCursorFile), MaxAge: *interval, Log: log}
			wg.Add(1)
			go func() {
				defer wg.Done()
				if srcErr = src.Run(ctx, addrs); srcErr != nil {
					cancel()
				}
			}()
			log.Info("probing attackers found in the spool", "source", *source, "spool", *spoolDir,
				"jarm_ports", *ports, "ssh_ports", *sshPorts, "interval", interval.String())
		}
		err = p.Run(ctx, addrs)
		cancel()
		wg.Wait()
		if err == nil {
			err = srcErr
		}
		fmt.Fprintln(c.ErrOrStderr(), event.SafeTerminal(fmt.Sprintf("prober stopped: %+v", p.Stats())))
		return err
	}
	return c
}

func joinProbePorts(ports []int) string {
	s := make([]string, len(ports))
	for i, p := range ports {
		s[i] = strconv.Itoa(p)
	}
	return strings.Join(s, ",")
}

// parseProbePorts parses a comma-separated port list; "" is no port.
func parseProbePorts(flag, s string) ([]int, error) {
	ports := []int{}
	seen := map[int]bool{}
	for _, f := range strings.Split(s, ",") {
		f = strings.TrimSpace(f)
		if f == "" {
			continue
		}
		p, err := strconv.Atoi(f)
		if err != nil || p < 1 || p > 65535 {
			return nil, fmt.Errorf("%s: %q is not a port number (1–65535)", flag, f)
		}
		if !seen[p] {
			seen[p] = true
			ports = append(ports, p)
		}
	}
	return ports, nil
}
