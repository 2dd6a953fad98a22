package cli

import (
	"bufio"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"sync"

	"github.com/spf13/cobra"

	"decnet/internal/event"
	"decnet/internal/sniffer"
	"decnet/internal/spool"
	"decnet/internal/state"
)

func init() { register(newSniffCmd) }

func newSniffCmd() *cobra.Command {
	c := &cobra.Command{
		Use:   "sniff",
		Short: "Fingerprint attackers passively (JA3/JA3S/JA4, HASSH, SYN features, scans) from the wire or a capture file",
		Long: `Sniff captures TCP on the deckies' parent interface (an AF_PACKET socket with a kernel BPF
filter; no libpcap), reassembles the first bytes of every connection and writes fingerprint
events: TLS ClientHello (ja3, ja4, sni, alpn) and ServerHello (ja3s), SSH identification and
KEXINIT (hassh, hassh_server), the SYN's TTL/window/options for passive OS guesses, the first
HTTP request of cleartext connections, and scan events for sources that probe many ports or
deckies without talking. Events name the decky whose address was the destination.

Live, the interface defaults to the deployed fleet's parent interface (never auto-detected):
only traffic to or from the fleet's address range is captured, events go to the spool
<state-dir>/spool-sniffer (or to stdout with --json). With --read it analyses a pcap or
pcapng file instead and prints the events (JSON lines with --json), or spools them with
--spool-dir. Deckies are named from the deployment, or from --decky-map ip=name,...; any
other destination is named by its address.

Examples:
  sudo decnet sniff
  sudo decnet sniff --iface decnet-lan0 --json
  decnet sniff --read capture.pcapng --json --decky-map 10.47.0.10=decky-01`,
		Args: cobra.NoArgs,
	}
	iface := c.Flags().String("iface", "", "interface to capture on (default: the deployed fleet's parent interface)")
	read := c.Flags().String("read", "", "analyse this pcap or pcapng file instead of capturing")
	spoolDir := c.Flags().String("spool-dir", "", "write events to this spool directory (live default <state-dir>/"+sniffer.SpoolDirName+")")
	asJSON := c.Flags().Bool("json", false, "print events to stdout as JSON lines instead of spooling them")
	deckyMap := c.Flags().String("decky-map", "", "name deckies by address: ip=name,ip=name (default: the deployment's deckies)")
	promisc := c.Flags().Bool("promisc", true, "put the interface in promiscuous mode while capturing")
	c.RunE = func(c *cobra.Command, _ []string) error {
		if *read != "" && *iface != "" {
			return usageErr(errors.New("--read and --iface exclude each other: analyse a file or capture live"))
		}
		if *asJSON && *spoolDir != "" {
			return usageErr(errors.New("--json and --spool-dir exclude each other: print the events or spool them"))
		}
		dir, err := stateDir(c)
		if err != nil {
			return err
		}
		st, err := state.Load(dir)
		if err != nil && !errors.Is(err, state.ErrNoState) {
			return err
		}
		var cfg sniffer.Config
		flush := func() error { return nil }
		switch {
		case *read != "":
			cfg.ReadFile = *read
			if st != nil {
				cfg.Deckies = sniffer.DeckiesOf(&st.Fleet)
			}
		case st != nil && (*iface == "" || *iface == st.Fleet.Interface):
			cfg = sniffer.FleetConfig(&st.Fleet, dir)
		case *iface != "":
			cfg.Iface = *iface
			if st != nil {
				cfg.Deckies = sniffer.DeckiesOf(&st.Fleet)
			}
		default:
			return usageErr(errors.New("no interface to capture on: nothing is deployed here, so pass --iface (interfaces are never auto-detected)"))
		}
		cfg.Promiscuous = *promisc && cfg.ReadFile == ""
		if *deckyMap != "" {
			m, err := sniffer.ParseDeckyMap(*deckyMap)
			if err != nil {
				return usageErr(fmt.Errorf("--decky-map: %w", err))
			}
			if cfg.Deckies == nil {
				cfg.Deckies = map[netip.Addr]string{}
			}
			for a, n := range m {
				cfg.Deckies[a] = n
			}
		}
		if cfg.ReadFile != "" {
			if _, err := os.Stat(cfg.ReadFile); err != nil {
				return usageErr(fmt.Errorf("--read: %w", err))
			}
		}
		switch {
		case *asJSON || cfg.ReadFile != "" && *spoolDir == "":
			cfg.SpoolDir = ""
			out := c.OutOrStdout()
			if cfg.ReadFile != "" { // a file: buffer the output; live: every line at once
				bw := bufio.NewWriterSize(out, 256<<10)
				flush = bw.Flush
				out = bw
			}
			cfg.Sink = printSink(out, *asJSON)
		case *spoolDir != "":
			if cfg.SpoolDir, err = filepath.Abs(*spoolDir); err != nil {
				return usageErr(fmt.Errorf("--spool-dir: %w", err))
			}
		case cfg.SpoolDir == "":
			cfg.SpoolDir = filepath.Join(dir, sniffer.SpoolDirName)
		}
		cfg.Log = slog.New(slog.NewTextHandler(c.ErrOrStderr(), &slog.HandlerOptions{Level: slog.LevelInfo}))
		s, err := sniffer.New(cfg)
		if err != nil {
			return usageErr(err)
		}
		err = s.Run(c.Context())
		if ferr := flush(); err == nil && ferr != nil {
			err = fmt.Errorf("writing the events: %w", ferr)
		}
		if err != nil {
			if errors.Is(err, os.ErrPermission) {
				return prereqErr(err)
			}
			return err
		}
		stats := s.Stats()
		kinds := make([]string, 0, len(stats.Events))
		for k, n := range stats.Events {
			kinds = append(kinds, fmt.Sprintf("%s=%d", k, n))
		}
		sort.Strings(kinds)
		fmt.Fprintf(c.ErrOrStderr(), "sniffer: %d packets, %d TCP, events: %s\n", stats.Packets, stats.TCP, strings.Join(kinds, " "))
		return nil
	}
	return c
}

// printSink prints events to w: JSON lines shaped like spool records, or one
// readable line each (attacker-controlled values made terminal-safe).
func printSink(w io.Writer, asJSON bool) func(event.Event) error {
	var mu sync.Mutex
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return func(e event.Event) error {
		mu.Lock()
		defer mu.Unlock()
		if asJSON {
			line, err := event.Format(e)
			if err != nil {
				return err
			}
			return enc.Encode(spool.Record{Event: e, RawLine: string(line)})
		}
		keys := make([]string, 0, len(e.Fields))
		for k := range e.Fields {
			if k != "fp_kind" {
				keys = append(keys, k)
			}
		}
		sort.Strings(keys)
		var b strings.Builder
		kind := e.Fields["fp_kind"]
		if kind == "" {
			kind = e.Type
		}
		fmt.Fprintf(&b, "%s %s %s:%d %s", e.Time.Format("2006-01-02T15:04:05.000000Z"), e.Decky, e.AttackerIP, e.AttackerPort, kind)
		for _, k := range keys {
			fmt.Fprintf(&b, " %s=%q", k, e.Fields[k])
		}
		_, err := fmt.Fprintln(w, event.SafeTerminal(b.String()))
		return err
	}
}
