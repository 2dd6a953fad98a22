package cli

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"
	"text/tabwriter"

	"github.com/spf13/cobra"

	"decnet/internal/catalog"
	"decnet/internal/service"
)

func addJSONFlag(c *cobra.Command) *bool {
	return c.Flags().Bool("json", false, "print JSON instead of a table")
}

func writeJSON(w io.Writer, v any) error {
	enc := json.NewEncoder(w)
	enc.SetIndent("", "  ")
	return enc.Encode(v)
}

func table(w io.Writer, header string, rows [][]string) error {
	tw := tabwriter.NewWriter(w, 0, 4, 2, ' ', 0)
	fmt.Fprintln(tw, header)
	for _, r := range rows {
		fmt.Fprintln(tw, strings.Join(r, "\t"))
	}
	return tw.Flush()
}

// serviceInfo is the JSON form of a registered service.
type serviceInfo struct {
	Name    string    `json:"name"`
	Summary string    `json:"summary"`
	Ports   []string  `json:"ports"`
	Keys    []keyInfo `json:"persona_keys"`
}

type keyInfo struct {
	Name    string `json:"name"`
	Type    string `json:"type"`
	Default string `json:"default,omitempty"`
	Help    string `json:"help"`
}

func newServicesCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "services",
		Short: "List the honeypot services this build provides, with their ports and persona keys",
		Args:  cobra.NoArgs,
	}
	asJSON := addJSONFlag(c)
	c.RunE = func(c *cobra.Command, _ []string) error {
		var infos []serviceInfo
		for _, s := range service.All() {
			si := serviceInfo{Name: s.Name, Summary: s.Summary}
			for _, p := range s.Ports {
				si.Ports = append(si.Ports, p.String())
			}
			for _, k := range s.Keys {
				si.Keys = append(si.Keys, keyInfo{k.Name, k.Kind.String(), k.Default, k.Help})
			}
			infos = append(infos, si)
		}
		if *asJSON {
			return writeJSON(c.OutOrStdout(), infos)
		}
		var rows [][]string
		for _, si := range infos {
			keys := make([]string, len(si.Keys))
			for i, k := range si.Keys {
				keys[i] = k.Name
			}
			rows = append(rows, []string{si.Name, strings.Join(si.Ports, ","), si.Summary, strings.Join(keys, ",")})
		}
		return table(c.OutOrStdout(), "SERVICE\tPORTS\tDESCRIPTION\tPERSONA KEYS", rows)
	}
	return c
}

func newArchetypesCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "archetypes",
		Short: "List machine archetypes (services, OS family, distros) for --archetype and archetype=",
		Args:  cobra.NoArgs,
	}
	asJSON := addJSONFlag(c)
	c.RunE = func(c *cobra.Command, _ []string) error {
		as := catalog.Archetypes()
		if *asJSON {
			return writeJSON(c.OutOrStdout(), as)
		}
		var rows [][]string
		for _, a := range as {
			missing := []string{}
			for _, s := range a.Services {
				if _, ok := service.Lookup(s); !ok {
					missing = append(missing, s)
				}
			}
			avail := "yes"
			if len(missing) > 0 {
				avail = "needs " + strings.Join(missing, ",")
			}
			rows = append(rows, []string{a.Slug, a.OSFamily, strings.Join(a.Services, ","), strings.Join(a.Distros, ","), avail})
		}
		return table(c.OutOrStdout(), "ARCHETYPE\tOS FAMILY\tSERVICES\tDISTROS\tDEPLOYABLE", rows)
	}
	return c
}

func newDistrosCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "distros",
		Short: "List distro personas (banners, kernel, hostname style) for --distro and distro=",
		Args:  cobra.NoArgs,
	}
	asJSON := addJSONFlag(c)
	c.RunE = func(c *cobra.Command, _ []string) error {
		ds := catalog.Distros()
		if *asJSON {
			return writeJSON(c.OutOrStdout(), ds)
		}
		var rows [][]string
		for _, d := range ds {
			rows = append(rows, []string{d.Slug, d.Display, d.OSFamily, d.Kernel, d.SSHVersion, d.HTTPServer})
		}
		return table(c.OutOrStdout(), "DISTRO\tNAME\tOS FAMILY\tKERNEL\tSSH BANNER\tHTTP SERVER", rows)
	}
	return c
}
