package sniffer

import (
	"bufio"
	"bytes"
	"context"
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
	"time"

	"github.com/google/gopacket"
	"github.com/google/gopacket/layers"
	"github.com/google/gopacket/pcapgo"

	"decnet/internal/event"
	"decnet/internal/fleet"
	"decnet/internal/spool"
)

// readFile feeds a pcap or pcapng file through the sniffer, then flushes.
func (s *Sniffer) readFile(ctx context.Context, path string) error {
	f, err := os.Open(path)
	if err != nil {
		return fmt.Errorf("sniffer: %w", err)
	}
	defer f.Close()
	err = s.ReadCapture(ctx, f)
	if err != nil {
		return fmt.Errorf("sniffer: reading %s: %w", path, err)
	}
	return nil
}

// ReadCapture feeds every frame of a pcap or pcapng stream through the sniffer
// and flushes at its end. A capture cut short (a truncated last record) ends it
// like EOF.
func (s *Sniffer) ReadCapture(ctx context.Context, r io.Reader) error {
	br := bufio.NewReaderSize(r, 1<<20)
	magic, err := br.Peek(4)
	if err != nil {
		return fmt.Errorf("not a capture file: %w", err)
	}
	type zeroCopy interface {
		ZeroCopyReadPacketData() ([]byte, gopacket.CaptureInfo, error)
	}
	var src zeroCopy
	var linkOf func(ci gopacket.CaptureInfo) layers.LinkType
	if bytes.Equal(magic, []byte{0x0a, 0x0d, 0x0d, 0x0a}) {
		ng, err := pcapgo.NewNgReader(br, pcapgo.DefaultNgReaderOptions)
		if err != nil {
			return fmt.Errorf("not a pcapng file: %w", err)
		}
		src = ng
		links := map[int]layers.LinkType{}
		linkOf = func(ci gopacket.CaptureInfo) layers.LinkType {
			lt, ok := links[ci.InterfaceIndex]
			if !ok {
				lt = ng.LinkType()
				if intf, err := ng.Interface(ci.InterfaceIndex); err == nil {
					lt = intf.LinkType
				}
				links[ci.InterfaceIndex] = lt
			}
			return lt
		}
	} else {
		pr, err := pcapgo.NewReader(br)
		if err != nil {
			return fmt.Errorf("not a pcap or pcapng file: %w", err)
		}
		src = pr
		lt := pr.LinkType()
		linkOf = func(gopacket.CaptureInfo) layers.LinkType { return lt }
	}
	defer s.Flush()
	for n := 0; ; n++ {
		if n&4095 == 0 && ctx.Err() != nil {
			return nil
		}
		data, ci, err := src.ZeroCopyReadPacketData()
		if err != nil {
			if errors.Is(err, io.EOF) || errors.Is(err, io.ErrUnexpectedEOF) {
				return nil
			}
			return err
		}
		s.Packet(linkOf(ci), data, ci)
		if s.err != nil {
			return s.err
		}
	}
}

// SpoolSink opens a spool writer in dir and returns a sink appending each event
// to it as a spool.Record (raw_line = the event's RFC 5424 form), synced once a
// second and on close.
func SpoolSink(ctx context.Context, dir string, log *slog.Logger) (sink func(event.Event) error, closeFn func() error, err error) {
	w, err := spool.OpenWriter(dir, 0)
	if err != nil {
		return nil, nil, err
	}
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		t := time.NewTicker(time.Second)
		defer t.Stop()
		for {
			select {
			case <-ctx.Done():
				return
			case <-t.C:
				if err := w.Sync(); err != nil && log != nil {
					log.Error("syncing the sniffer spool failed", "err", err)
				}
			}
		}
	}()
	sink = func(e event.Event) error {
		line, err := event.Format(e)
		if err != nil {
			if log != nil {
				log.Error("event dropped: cannot format", "type", e.Type, "err", err)
			}
			return nil
		}
		_, err = w.Append(&spool.Record{Event: e, RawLine: string(line)})
		return err
	}
	closeFn = func() error {
		cancel()
		wg.Wait()
		if err := w.Sync(); err != nil {
			w.Close()
			return err
		}
		return w.Close()
	}
	return sink, closeFn, nil
}

// DeckiesOf maps every decky IP of a fleet to the decky's name.
func DeckiesOf(f *fleet.Fleet) map[netip.Addr]string {
	m := make(map[netip.Addr]string, len(f.Deckies))
	for _, d := range f.Deckies {
		if d.IP.IsValid() {
			m[d.IP.Unmap()] = d.Name
		}
	}
	return m
}

// ParseDeckyMap parses "ip=name,ip=name" (the --decky-map flag).
func ParseDeckyMap(s string) (map[netip.Addr]string, error) {
	m := map[netip.Addr]string{}
	for _, part := range strings.Split(s, ",") {
		part = strings.TrimSpace(part)
		if part == "" {
			continue
		}
		ip, name, ok := strings.Cut(part, "=")
		if !ok || strings.TrimSpace(name) == "" {
			return nil, fmt.Errorf("decky map entry %q is not ip=name", part)
		}
		addr, err := netip.ParseAddr(strings.TrimSpace(ip))
		if err != nil {
			return nil, fmt.Errorf("decky map entry %q: %q is not an IP address", part, ip)
		}
		name = strings.TrimSpace(name)
		if !validName(name) {
			return nil, fmt.Errorf("decky map entry %q: the name must be 1-64 letters, digits, '-', '_' or '.'", part)
		}
		m[addr.Unmap()] = name
	}
	if len(m) == 0 {
		return nil, errors.New("decky map is empty")
	}
	return m, nil
}

func validName(n string) bool {
	if n == "" || len(n) > 64 {
		return false
	}
	for _, c := range n {
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-' || c == '_' || c == '.') {
			return false
		}
	}
	return true
}

// sortedKinds lists the keys of an event counter (for log lines).
func sortedKinds(m map[string]uint64) []string {
	ks := make([]string, 0, len(m))
	for k, v := range m {
		ks = append(ks, fmt.Sprintf("%s=%d", k, v))
	}
	sort.Strings(ks)
	return ks
}

// SpoolDirName is the sniffer's spool directory inside the state directory.
const SpoolDirName = "spool-sniffer"

// FleetConfig is the live configuration for a deployed fleet: capture on its
// parent interface in promiscuous mode, the kernel filter narrowed to its IP range,
// only traffic whose server side is a decky, events into <stateDir>/spool-sniffer.
func FleetConfig(f *fleet.Fleet, stateDir string) Config {
	return Config{
		Iface:       f.Interface,
		Deckies:     DeckiesOf(f),
		OnlyDeckies: true,
		Filter:      f.IPRange,
		Promiscuous: true,
		SpoolDir:    filepath.Join(stateDir, SpoolDirName),
	}
}
