package cli

import (
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"

	"github.com/spf13/cobra"

	"decnet/internal/lab"
)

func requireRoot(what string) error {
	if os.Geteuid() != 0 {
		return prereqErr(fmt.Errorf("%s needs root (network namespaces, links and Docker): run it with sudo", what))
	}
	return nil
}

func newLabCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "lab",
		Short: "An isolated virtual LAN with an attacker namespace, for trying DECNET safely",
		Long: `The lab is a veth pair: its host end (decnet-lan0) is the deckies' parent interface and
carries the host's lab address, as a NIC does on a real LAN; its other end sits in the network
namespace decnet-attacker with its own address. Deploy onto decnet-lan0 and attack the deckies
from the namespace with real tools; no real NIC is touched and no traffic leaves the machine.`,
	}
	var name string
	c.PersistentFlags().StringVar(&name, "name", "decnet", "lab name: links <name>-lan0/<name>-att0, namespace <name>-attacker")

	up := &cobra.Command{
		Use:   "up",
		Short: "Create the lab LAN (idempotent)",
		Args:  cobra.NoArgs,
	}
	upJSON := addJSONFlag(up)
	subnet := up.Flags().String("subnet", lab.DefaultSubnet.String(), "lab subnet (IPv4 CIDR, /16–/28); host .1, attacker .250, gateway .254 by default")
	up.RunE = func(c *cobra.Command, _ []string) error {
		if err := requireRoot("lab up"); err != nil {
			return err
		}
		p, err := netip.ParsePrefix(*subnet)
		if err != nil {
			return usageErr(fmt.Errorf("--subnet %q is not a CIDR prefix", *subnet))
		}
		l, err := lab.Up(lab.Config{Name: name, Subnet: p})
		if err != nil {
			return err
		}
		return printLab(c, l, *upJSON)
	}

	down := &cobra.Command{
		Use:   "down",
		Short: "Remove the lab LAN and its attacker namespace",
		Args:  cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			if err := requireRoot("lab down"); err != nil {
				return err
			}
			if err := lab.Down(name); err != nil {
				return err
			}
			fmt.Fprintf(c.OutOrStdout(), "lab %s removed\n", name)
			return nil
		},
	}

	status := &cobra.Command{
		Use:   "status",
		Short: "Show the lab LAN, if it is up",
		Args:  cobra.NoArgs,
	}
	stJSON := addJSONFlag(status)
	status.RunE = func(c *cobra.Command, _ []string) error {
		l, ok, err := lab.Status(name)
		if err != nil {
			return err
		}
		if !ok {
			return &exitError{ExitPrereq, fmt.Errorf("lab %s is not up (run `decnet lab up`)", name)}
		}
		return printLab(c, l, *stJSON)
	}

	execCmd := &cobra.Command{
		Use:   "exec -- <command> [args…]",
		Short: "Run a command inside the lab's attacker namespace (exit status is the command's)",
		Args:  cobra.MinimumNArgs(1),
		RunE: func(c *cobra.Command, args []string) error {
			if err := requireRoot("lab exec"); err != nil {
				return err
			}
			l, ok, err := lab.Status(name)
			if err != nil {
				return err
			}
			if !ok {
				return prereqErr(fmt.Errorf("lab %s is not up (run `decnet lab up`)", name))
			}
			cmd := l.Command(c.Context(), args[0], args[1:]...)
			cmd.Stdin, cmd.Stdout, cmd.Stderr = os.Stdin, c.OutOrStdout(), c.ErrOrStderr()
			err = cmd.Run()
			var ee *exec.ExitError
			if errors.As(err, &ee) {
				return &exitError{ee.ExitCode(), fmt.Errorf("%s exited with status %d", args[0], ee.ExitCode())}
			}
			return err
		},
	}
	c.AddCommand(up, down, status, execCmd)
	return c
}

func printLab(c *cobra.Command, l *lab.Lab, asJSON bool) error {
	info := map[string]string{
		"name":        l.Name,
		"parent":      l.Parent,
		"namespace":   l.Namespace,
		"subnet":      l.Subnet.String(),
		"host_ip":     l.HostIP.String(),
		"attacker_ip": l.AttackerIP.String(),
		"gateway":     l.Gateway.String(),
	}
	if asJSON {
		return writeJSON(c.OutOrStdout(), info)
	}
	fmt.Fprintf(c.OutOrStdout(), "lab %s is up: parent %s (host %s) on %s, attacker %s in namespace %s\n",
		l.Name, l.Parent, l.HostIP, l.Subnet, l.AttackerIP, l.Namespace)
	fmt.Fprintf(c.OutOrStdout(), "deploy with: decnet deploy --interface %s --gateway %s …\n", l.Parent, l.Gateway)
	return nil
}
