package cli

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"github.com/spf13/cobra"

	"decnet/internal/config"
	"decnet/internal/deploy"
	"decnet/internal/engine/docker"
	"decnet/internal/fleet"
	"decnet/internal/state"
)

// stateDir resolves --state-dir / DECNET_STATE_DIR to an absolute path.
func stateDir(c *cobra.Command) (string, error) {
	dir, _ := c.Flags().GetString("state-dir")
	if dir == "" {
		dir = state.DefaultDir()
	}
	abs, err := filepath.Abs(dir)
	if err != nil {
		return "", usageErr(fmt.Errorf("--state-dir %q: %w", dir, err))
	}
	return abs, nil
}

// progress prints deploy/teardown steps to stderr so stdout stays for results.
func progress(c *cobra.Command) func(step string, done, total int) {
	return func(step string, done, total int) {
		if total > 0 {
			fmt.Fprintf(c.ErrOrStderr(), "[%d/%d] %s\n", done, total, step)
		} else {
			fmt.Fprintf(c.ErrOrStderr(), "      %s\n", step)
		}
	}
}

func newDeployer(c *cobra.Command, withEngine bool) (*deploy.Deployer, error) {
	dir, err := stateDir(c)
	if err != nil {
		return nil, err
	}
	d := &deploy.Deployer{StateDir: dir, Progress: progress(c)}
	if withEngine {
		bin, err := os.Executable()
		if err != nil {
			return nil, fmt.Errorf("find the running decnet binary: %w", err)
		}
		d.Binary = bin
		eng, err := docker.New(c.Context())
		if err != nil {
			return nil, prereqErr(fmt.Errorf("cannot reach Docker: %w (is dockerd running? see scripts/prereqs.sh)", err))
		}
		d.Engine = eng
	}
	return d, nil
}

func newDeployCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "deploy",
		Short: "Deploy a fleet of deckies onto a LAN (idempotent; the whole fleet every time)",
		Long: `Deploy renders the whole fleet from an INI file and/or flags, validates it, builds the
service image from this binary (FROM scratch, no registry), writes docker-compose.yml, creates
the decoy network, the host hairpin and every container, and records decnet-state.json.
Running it again with the same configuration changes nothing; a changed decky is recreated.
A failed deploy rolls back what it created. Deploy then waits until every service port is
open inside its decky (read from the kernel, no traffic sent), so the fleet answers a scan as
soon as the command returns; a port still closed after --wait is reported (the fleet stays
deployed; exit status 1). Ports of bring-your-own-service containers are not waited for: those
not open yet are warnings.

Examples:
  sudo decnet deploy --deckies 5 --randomize-services --interface eth1
  sudo decnet deploy --config fleet.ini
  decnet deploy --config fleet.ini --dry-run --compose-file ./docker-compose.yml`,
		Args: cobra.NoArgs,
	}
	var fl config.Flags
	var iniPath, composeFile string
	var dryRun, noProbe bool
	var wait time.Duration
	var services string
	f := c.Flags()
	f.StringVarP(&iniPath, "config", "c", "", "INI fleet file (DECNET format; see docs/config.md)")
	f.IntVarP(&fl.Deckies, "deckies", "n", 0, "number of deckies to deploy without a config file (decky-01…)")
	f.StringVarP(&fl.Interface, "interface", "i", "", "parent network interface of the decoy LAN (default: the default route's)")
	f.StringVar(&fl.Subnet, "subnet", "", "LAN subnet in CIDR form (default: the interface's)")
	f.StringVar(&fl.Gateway, "gateway", "", "LAN gateway (default: the interface's default gateway)")
	f.StringVar(&fl.IPStart, "ip-start", "", "first address to allocate deckies from")
	f.StringVar(&services, "services", "", "comma-separated services for every decky (see `decnet services`)")
	f.BoolVar(&fl.RandomizeServices, "randomize-services", false, "give each decky 1–3 random services")
	f.StringVar(&fl.Distro, "distro", "", "distro persona for every decky (see `decnet distros`)")
	f.BoolVar(&fl.RandomizeDistros, "randomize-distros", false, "give each decky a random distro persona")
	f.StringVar(&fl.Archetype, "archetype", "", "machine archetype for every decky (see `decnet archetypes`)")
	f.BoolVar(&fl.IPvlan, "ipvlan", false, "use an ipvlan (L2) network instead of macvlan (for NICs/Wi-Fi that reject extra MACs)")
	f.StringVar(&fl.LogTarget, "log-target", "", "syslog target for events (host:port)")
	f.BoolVar(&dryRun, "dry-run", false, "only write the compose file; touch nothing")
	f.StringVar(&composeFile, "compose-file", "", "where --dry-run writes the compose file (default ./docker-compose.yml; a real deploy writes it into the state dir)")
	f.BoolVar(&noProbe, "no-arp-probe", false, "do not ARP-probe addresses before claiming them")
	f.DurationVar(&wait, "wait", deploy.DefaultReadyTimeout, "how long to wait for every service port to open (0: do not wait)")
	_ = c.MarkFlagFilename("config", "ini")
	asJSON := addJSONFlag(c)

	c.RunE = func(c *cobra.Command, _ []string) error {
		fl.Services = splitComma(services)
		if iniPath == "" && fl.Deckies == 0 {
			return usageErr(errors.New("say what to deploy: --config fleet.ini or --deckies N"))
		}
		if !dryRun {
			if err := requireRoot("deploy"); err != nil {
				return err
			}
		}
		d, err := newDeployer(c, !dryRun)
		if err != nil {
			return err
		}
		res, err := d.Plan(c.Context(), iniPath, fl, !dryRun && !noProbe)
		if err != nil {
			return err
		}
		for _, w := range res.Warnings {
			fmt.Fprintln(c.ErrOrStderr(), "warning: "+w)
		}
		if dryRun {
			path := composeFile
			if path == "" {
				path = "docker-compose.yml"
			}
			p, err := d.Render(res.Fleet, deploy.DryRunImage, path)
			if err != nil {
				return err
			}
			fmt.Fprintf(c.ErrOrStderr(), "dry run: wrote %s for %d deckies; nothing else was touched\n", path, len(res.Fleet.Deckies))
			return printFleet(c, p, res.Fleet, nil, nil, *asJSON)
		}
		st, err := d.Apply(c.Context(), res.Fleet)
		if err != nil {
			return err
		}
		fmt.Fprintf(c.ErrOrStderr(), "deployed %d deckies on %s (compose file %s)\n", len(st.Fleet.Deckies), st.Fleet.Interface, st.ComposeFile)
		var notReady error
		if wait > 0 {
			var warnings []string
			warnings, notReady = d.WaitReady(c.Context(), st, wait)
			if notReady != nil && c.Context().Err() != nil {
				return notReady
			}
			for _, w := range warnings {
				fmt.Fprintln(c.ErrOrStderr(), "warning: "+w)
			}
		}
		p, err := d.Project(st)
		if err != nil {
			return err
		}
		containers, err := d.Engine.Status(c.Context(), st.Project)
		if err != nil {
			return err
		}
		var open map[string][]fleet.Port // right after a deploy without --wait, closed means "not yet"
		if wait > 0 {
			open = openPorts(c, d.Engine, st.Project, p, containers)
		}
		if err := printFleet(c, p, &st.Fleet, containers, open, *asJSON); err != nil {
			return err
		}
		return notReady
	}
	return c
}

func splitComma(s string) []string {
	var out []string
	for _, p := range strings.Split(s, ",") {
		if p = strings.TrimSpace(p); p != "" {
			out = append(out, p)
		}
	}
	return out
}
