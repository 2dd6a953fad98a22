package cli

import (
	"errors"
	"fmt"
	"sort"
	"strings"

	"github.com/spf13/cobra"

	"decnet/internal/compose"
	"decnet/internal/engine"
	"decnet/internal/engine/docker"
	"decnet/internal/event"
	"decnet/internal/fleet"
	"decnet/internal/service"
)

// deckyView is one decky as status and deploy print it (--json).
type deckyView struct {
	Name      string            `json:"name"`
	IP        string            `json:"ip"`
	MAC       string            `json:"mac"`
	Hostname  string            `json:"hostname"`
	OSFamily  string            `json:"os_family"`
	Distro    string            `json:"distro"`
	Archetype string            `json:"archetype,omitempty"`
	Sysctls   map[string]string `json:"sysctls"`
	Base      containerView     `json:"base"`
	Services  []containerView   `json:"services"`
}

type containerView struct {
	Name      string `json:"name"`      // service slug ("base" for the base container)
	Container string `json:"container"` // Docker container name
	State     string `json:"state"`     // running, exited, missing, unknown…
	Status    string `json:"status,omitempty"`
	// Ports are the ports the service listens on (none for the base container).
	// When PortsChecked, ClosedPorts are those not open in the decky right now.
	Ports        []string `json:"ports"`
	PortsChecked bool     `json:"ports_checked"`
	ClosedPorts  []string `json:"closed_ports"`
}

// printFleet prints the fleet of model p joined with the engine's view of its
// containers (nil: unknown) and of the ports open in each decky (open: by decky
// name; a decky missing from it was not checked).
func printFleet(c *cobra.Command, p *compose.Project, f *fleet.Fleet, containers []engine.ContainerState, open map[string][]fleet.Port, asJSON bool) error {
	byName := map[string]engine.ContainerState{}
	for _, cs := range containers {
		byName[cs.Name] = cs
	}
	look := func(ct *compose.Container, svc string) containerView {
		v := containerView{Name: svc, Container: ct.ContainerName, State: "unknown", Ports: []string{}, ClosedPorts: []string{}}
		if containers != nil {
			v.State = "missing"
		}
		if cs, ok := byName[ct.ContainerName]; ok {
			v.State, v.Status = cs.State, cs.Status
		}
		return v
	}
	views := []deckyView{}
	for _, d := range f.Deckies {
		md, ok := p.Decky(d.Name)
		if !ok {
			return fmt.Errorf("decky %s is missing from the deployment model", d.Name)
		}
		v := deckyView{Name: d.Name, IP: d.IP.String(), MAC: d.MAC, Hostname: d.Hostname, OSFamily: d.OSFamily,
			Distro: d.Distro, Archetype: d.Archetype, Sysctls: d.Sysctls, Base: look(&md.Base, "base")}
		got, checked := open[d.Name]
		for i := range md.Services {
			sv := look(&md.Services[i], md.Services[i].Service)
			sv.Ports, sv.ClosedPorts = service.PortNames(d.Services, sv.Name, got, checked)
			sv.PortsChecked = checked
			v.Services = append(v.Services, sv)
		}
		views = append(views, v)
	}
	sort.Slice(views, func(i, j int) bool { return views[i].Name < views[j].Name })
	if asJSON {
		return writeJSON(c.OutOrStdout(), views)
	}
	if len(views) == 0 {
		fmt.Fprintln(c.OutOrStdout(), "no deckies deployed")
		return nil
	}
	var rows [][]string
	for _, v := range views {
		var svcs []string
		for _, s := range v.Services {
			st := s.State
			if len(s.ClosedPorts) > 0 {
				st += "; " + strings.Join(s.ClosedPorts, ",") + " closed"
			}
			svcs = append(svcs, s.Name+"("+st+")")
		}
		rows = append(rows, []string{v.Name, v.IP, v.MAC, event.SafeTerminal(v.Hostname), v.OSFamily + "/" + v.Distro,
			v.Base.State, strings.Join(svcs, " ")})
	}
	return table(c.OutOrStdout(), "DECKY\tIP\tMAC\tHOSTNAME\tOS\tBASE\tSERVICES", rows)
}

func newStatusCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "status",
		Short: "Show the deployed deckies: IP, MAC, hostname, OS, services with their container state and closed ports",
		Long: `Status joins the recorded fleet (decnet-state.json) with the engine's containers (by label).
A container the state expects but the engine lacks shows as "missing". Without access to
Docker the states show as "unknown" and a warning says why.

For each decky whose base container runs, status also reads which ports are open in its
network namespace (from /proc, without sending anything to the decky, so no event) and
names a service port that is not, e.g. "ssh(running; 22/tcp closed)": a service container
can run while its listener is down. --json gives every service's ports, ports_checked and
closed_ports.`,
		Args: cobra.NoArgs,
	}
	asJSON := addJSONFlag(c)
	c.RunE = func(c *cobra.Command, _ []string) error {
		d, err := newDeployer(c, false)
		if err != nil {
			return err
		}
		st, err := d.Load()
		if err != nil {
			return err
		}
		if st == nil {
			return printFleet(c, &compose.Project{}, &fleet.Fleet{}, nil, nil, *asJSON)
		}
		p, err := d.Project(st)
		if err != nil {
			return err
		}
		var containers []engine.ContainerState
		open := map[string][]fleet.Port{}
		if eng, err := docker.New(c.Context()); err != nil {
			fmt.Fprintf(c.ErrOrStderr(), "warning: container states unknown: %v\n", err)
		} else if containers, err = eng.Status(c.Context(), st.Project); err != nil {
			fmt.Fprintf(c.ErrOrStderr(), "warning: container states unknown: %v\n", err)
			containers = nil
		} else {
			if containers == nil {
				containers = []engine.ContainerState{}
			}
			open = openPorts(c, eng, st.Project, p, containers)
		}
		return printFleet(c, p, &st.Fleet, containers, open, *asJSON)
	}
	return c
}

// openPorts reads the ports open in every decky whose base container runs; a decky
// it cannot read is left out (its ports show as not checked) with a warning.
func openPorts(c *cobra.Command, eng engine.Engine, project string, p *compose.Project, containers []engine.ContainerState) map[string][]fleet.Port {
	running := map[string]bool{}
	for _, cs := range containers {
		running[cs.Name] = cs.State == "running"
	}
	open := map[string][]fleet.Port{}
	for _, d := range p.Deckies {
		if !running[d.Base.ContainerName] {
			continue
		}
		got, err := eng.Listening(c.Context(), project, d.Name)
		if err != nil {
			fmt.Fprintf(c.ErrOrStderr(), "warning: open ports of %s unknown: %v\n", d.Name, err)
			continue
		}
		open[d.Name] = got
	}
	return open
}

func newTeardownCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "teardown (--all | --id DECKY)",
		Short: "Remove the whole fleet, or one whole decky, leaving nothing behind",
		Long: `Teardown removes, in order: the containers, then (with --all) the host hairpin link and its
route, the decoy network, and the state. --id removes one decky: its base container, every one
of its service containers and its state entry.`,
		Args: cobra.NoArgs,
	}
	all := c.Flags().Bool("all", false, "remove every decky, the network, the hairpin and the state")
	id := c.Flags().String("id", "", "remove this one decky")
	c.RunE = func(c *cobra.Command, _ []string) error {
		if *all == (*id != "") {
			return usageErr(errors.New("teardown needs exactly one of --all or --id DECKY"))
		}
		if err := requireRoot("teardown"); err != nil {
			return err
		}
		d, err := newDeployer(c, true)
		if err != nil {
			return err
		}
		removed, err := d.Teardown(c.Context(), *id)
		if err != nil {
			return err
		}
		if *id != "" {
			fmt.Fprintf(c.OutOrStdout(), "removed decky %s\n", *id)
		} else {
			fmt.Fprintf(c.OutOrStdout(), "removed %d deckies and the decoy network\n", removed)
		}
		return nil
	}
	return c
}
