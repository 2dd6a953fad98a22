package cli

import (
	"errors"
	"fmt"
	"os"

	"github.com/spf13/cobra"

	"decnet/internal/service"
	_ "decnet/internal/services/all" // every honeypot service
)

func newServeCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "serve <service>",
		Short: "Run one honeypot service in the foreground (what a service container executes)",
		Long: `Run one honeypot service in the foreground, writing one RFC 5424 event line per attacker
interaction to stdout. Deploy starts this inside each service container with the decky's
config file; run it by hand to try a service on its own:

  decnet serve ssh --config ./ssh.json`,
		Args:      cobra.ExactArgs(1),
		ValidArgs: serviceNames(),
	}
	cfgPath := c.Flags().String("config", os.Getenv("DECNET_CONFIG"), "service config file (JSON written by deploy; env DECNET_CONFIG)")
	c.RunE = func(c *cobra.Command, args []string) error {
		if *cfgPath == "" {
			return usageErr(errors.New("serve needs --config (the JSON file deploy writes for the service)"))
		}
		cfg, err := service.LoadConfig(*cfgPath)
		if err != nil {
			return usageErr(err)
		}
		if _, ok := service.Lookup(args[0]); !ok {
			return usageErr(fmt.Errorf("unknown service %q (see `decnet services`)", args[0]))
		}
		return service.Main(c.Context(), args[0], cfg, c.OutOrStdout())
	}
	return c
}

func serviceNames() []string {
	var names []string
	for _, s := range service.All() {
		names = append(names, s.Name)
	}
	return names
}

func newHoldCmd() *cobra.Command {
	return &cobra.Command{
		Use:    "hold",
		Short:  "Block until SIGTERM (the process of a decky's base container, which owns its network namespace)",
		Hidden: true,
		Args:   cobra.NoArgs,
		RunE: func(c *cobra.Command, _ []string) error {
			<-c.Context().Done()
			return nil
		},
	}
}
