// Package prober owns DECNET's active fingerprinting of attackers: given the
// addresses of attackers that touched the deckies, it probes each one back, at most
// once per interval and a few at a time, with JARM (Salesforce's ten TLS probes) on
// the configured TLS ports and with an SSH handshake start on the SSH ports
// (HASSHServer and the server's identification line), and emits `fingerprint`
// events (service and decky "prober") into its own spool.
//
// Probing sends traffic to attacker addresses. It is off by default: an operator
// turns it on (`decnet probe`, or the run command's switch) knowing that an attacker
// may notice. Nothing here probes an address that was not handed to it, and every
// connection, read and scan is bounded in time and size.
package prober

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	"github.com/google/uuid"

	"decnet/internal/event"
	"decnet/internal/fingerprint"
	"decnet/internal/service"
)

// Defaults.
const (
	DefaultInterval    = 24 * time.Hour
	DefaultConcurrency = 4
	DefaultTimeout     = 10 * time.Second
	// Name is the service and decky name of the prober's events.
	Name = "prober"
	// maxTracked bounds the addresses remembered for the once-per-interval rule.
	maxTracked = 1 << 18
	// maxRawField bounds attacker-derived strings copied into events.
	maxRawField = 1 << 10
)

// DefaultJARMPorts and DefaultSSHPorts are the ports probed when none are set.
var (
	DefaultJARMPorts = []int{443, 8443}
	DefaultSSHPorts  = []int{22}
)

// Fingerprint kinds (the fp_kind field) of the prober's events.
const (
	KindJARM     = "jarm"
	KindSSHProbe = "ssh_server_probe"
)

// Sink receives the prober's events.
type Sink interface {
	Emit(event.Event) error
}

// Config configures a Prober. Zero values take the defaults.
type Config struct {
	Interval    time.Duration // probe one address at most once per Interval (DefaultInterval)
	Concurrency int           // addresses probed at the same time (DefaultConcurrency)
	JARMPorts   []int         // TLS ports to JARM (DefaultJARMPorts); an empty non-nil slice probes none
	SSHPorts    []int         // SSH ports to probe (DefaultSSHPorts); an empty non-nil slice probes none
	// Timeout bounds each network step: one JARM probe (connect, send, read) and the
	// whole SSH exchange (DefaultTimeout).
	Timeout time.Duration
	// StatePath, when set, keeps when each address was last probed across restarts
	// (a JSON file written atomically).
	StatePath string
	// Dial opens TCP connections (default: a net.Dialer).
	Dial func(ctx context.Context, network, addr string) (net.Conn, error)
	// Allow filters addresses (default: AllowAddr).
	Allow func(netip.Addr) bool
	Log   *slog.Logger
	Now   func() time.Time
}

// AllowAddr is the default address filter: it refuses addresses that cannot be a
// single remote host (unspecified, multicast, broadcast).
func AllowAddr(a netip.Addr) bool {
	a = a.Unmap()
	return a.IsValid() && !a.IsUnspecified() && !a.IsMulticast() && a != netip.AddrFrom4([4]byte{255, 255, 255, 255})
}

// Stats counts what a Prober did.
type Stats struct {
	Probed   int64 // addresses probed
	Skipped  int64 // addresses skipped: probed within the interval, or refused by Allow
	JARM     int64 // jarm events emitted
	SSH      int64 // ssh_server_probe events emitted
	NoAnswer int64 // port probes that got no usable answer
	Errors   int64 // events that could not be emitted
}

// Prober probes attacker addresses. Use New, then Run.
type Prober struct {
	cfg  Config
	sink Sink
	log  *slog.Logger

	mu     sync.Mutex
	last   map[netip.Addr]time.Time
	saveMu sync.Mutex // orders state writes

	probed, skipped, jarm, ssh, noAnswer, errs atomic.Int64
}

// New checks cfg, fills in its defaults and loads the probe times kept at
// cfg.StatePath.
func New(cfg Config, sink Sink) (*Prober, error) {
	if sink == nil {
		return nil, errors.New("prober: no event sink")
	}
	if cfg.Interval == 0 {
		cfg.Interval = DefaultInterval
	}
	if cfg.Interval < 0 {
		return nil, fmt.Errorf("prober: the interval %v is negative", cfg.Interval)
	}
	if cfg.Concurrency == 0 {
		cfg.Concurrency = DefaultConcurrency
	}
	if cfg.Concurrency < 0 || cfg.Concurrency > 256 {
		return nil, fmt.Errorf("prober: concurrency %d is outside 1–256", cfg.Concurrency)
	}
	if cfg.JARMPorts == nil {
		cfg.JARMPorts = DefaultJARMPorts
	}
	if cfg.SSHPorts == nil {
		cfg.SSHPorts = DefaultSSHPorts
	}
	for _, p := range append(append([]int(nil), cfg.JARMPorts...), cfg.SSHPorts...) {
		if p < 1 || p > 65535 {
			return nil, fmt.Errorf("prober: port %d is outside 1–65535", p)
		}
	}
	if len(cfg.JARMPorts)+len(cfg.SSHPorts) == 0 {
		return nil, errors.New("prober: no port to probe")
	}
	if cfg.Timeout <= 0 {
		cfg.Timeout = DefaultTimeout
	}
	if cfg.Dial == nil {
		var d net.Dialer
		cfg.Dial = d.DialContext
	}
	if cfg.Allow == nil {
		cfg.Allow = AllowAddr
	}
	if cfg.Log == nil {
		cfg.Log = slog.New(slog.DiscardHandler)
	}
	if cfg.Now == nil {
		cfg.Now = time.Now
	}
	p := &Prober{cfg: cfg, sink: sink, log: cfg.Log, last: map[netip.Addr]time.Time{}}
	if err := p.loadState(); err != nil {
		return nil, err
	}
	return p, nil
}

// Stats returns the counters so far.
func (p *Prober) Stats() Stats {
	return Stats{Probed: p.probed.Load(), Skipped: p.skipped.Load(), JARM: p.jarm.Load(), SSH: p.ssh.Load(),
		NoAnswer: p.noAnswer.Load(), Errors: p.errs.Load()}
}

// Run probes the addresses received on ips until ctx ends or ips is closed, then
// waits for the probes under way (they stop early when ctx ends). An address is
// skipped when it was probed less than the interval ago; at most Concurrency
// addresses are probed at once (Run stops receiving while all are busy).
func (p *Prober) Run(ctx context.Context, ips <-chan netip.Addr) error {
	sem := make(chan struct{}, p.cfg.Concurrency)
	var wg sync.WaitGroup
	defer wg.Wait()
	for {
		var ip netip.Addr
		var ok bool
		select {
		case <-ctx.Done():
			return nil
		case ip, ok = <-ips:
			if !ok {
				return nil
			}
		}
		ip = ip.Unmap()
		if !p.cfg.Allow(ip) || !p.claim(ip) {
			p.skipped.Add(1)
			continue
		}
		select {
		case <-ctx.Done():
			p.unclaim(ip)
			return nil
		case sem <- struct{}{}:
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			p.Probe(ctx, ip)
			p.saveState()
		}()
	}
}

// claim records ip as probed now unless it was probed within the interval.
func (p *Prober) claim(ip netip.Addr) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	now := p.cfg.Now()
	if t, ok := p.last[ip]; ok && now.Sub(t) < p.cfg.Interval && !now.Before(t) {
		return false
	}
	if len(p.last) >= maxTracked {
		p.pruneLocked(now)
		if len(p.last) >= maxTracked {
			p.log.Warn("too many attacker addresses probed within one interval; skipping", "ip", ip.String(), "tracked", len(p.last))
			return false
		}
	}
	p.last[ip] = now
	return true
}

func (p *Prober) unclaim(ip netip.Addr) {
	p.mu.Lock()
	delete(p.last, ip)
	p.mu.Unlock()
}

func (p *Prober) pruneLocked(now time.Time) {
	for ip, t := range p.last {
		if now.Sub(t) >= p.cfg.Interval {
			delete(p.last, ip)
		}
	}
}

// Probe probes one address now on every configured port, emitting an event for
// each port that answered, whatever the interval rule says.
func (p *Prober) Probe(ctx context.Context, ip netip.Addr) {
	p.probed.Add(1)
	var answered []string
	defer func() {
		p.log.Info("probed an attacker", "ip", ip.String(), "answered", answered)
	}()
	for _, port := range p.cfg.JARMPorts {
		if ctx.Err() != nil {
			return
		}
		addr := netip.AddrPortFrom(ip, uint16(port)).String()
		res, err := fingerprint.JARMScan{
			Host:         ip.String(),
			Dial:         func(ctx context.Context) (net.Conn, error) { return p.cfg.Dial(ctx, "tcp", addr) },
			ProbeTimeout: p.cfg.Timeout,
		}.Run(ctx)
		if err != nil || res.Zero() {
			p.noAnswer.Add(1)
			continue
		}
		answered = append(answered, fmt.Sprintf("%d/jarm", port))
		p.emit(ip, map[string]string{
			"fp_kind":  KindJARM,
			"jarm":     res.Hash,
			"jarm_raw": service.Printable(res.Raw, 4*maxRawField),
			"dst_port": strconv.Itoa(port),
		}, &p.jarm)
	}
	for _, port := range p.cfg.SSHPorts {
		if ctx.Err() != nil {
			return
		}
		addr := netip.AddrPortFrom(ip, uint16(port)).String()
		res, err := ProbeSSH(ctx, func(ctx context.Context) (net.Conn, error) { return p.cfg.Dial(ctx, "tcp", addr) }, p.cfg.Timeout)
		if err != nil && res.ServerVersion == "" {
			p.noAnswer.Add(1)
			p.log.Debug("no SSH answer", "addr", addr, "err", err)
			continue
		}
		f := map[string]string{
			"fp_kind":        KindSSHProbe,
			"server_version": service.Printable(res.ServerVersion, fingerprint.MaxSSHIdentLine),
			"dst_port":       strconv.Itoa(port),
		}
		if res.HasKexInit {
			h, algos := res.KexInit.HASSHServer()
			f["hassh_server"] = h
			f["hassh_server_algorithms"] = service.Printable(algos, 8*maxRawField)
		}
		answered = append(answered, fmt.Sprintf("%d/ssh", port))
		p.emit(ip, f, &p.ssh)
	}
}

func (p *Prober) emit(ip netip.Addr, fields map[string]string, counter *atomic.Int64) {
	e := NewEvent(ip, fields, p.cfg.Now())
	if err := p.sink.Emit(e); err != nil {
		p.errs.Add(1)
		p.log.Error("prober event lost", "ip", ip.String(), "kind", fields["fp_kind"], "err", err)
		return
	}
	counter.Add(1)
}

// NewEvent builds a prober fingerprint event about ip (a fresh UUIDv7 event id, the
// time in UTC to the microsecond), as the event contract says.
func NewEvent(ip netip.Addr, fields map[string]string, now time.Time) event.Event {
	return event.Event{
		ID:         uuid.Must(uuid.NewV7()).String(),
		Time:       now.UTC().Truncate(time.Microsecond),
		Decky:      Name,
		Service:    Name,
		Type:       event.Fingerprint,
		AttackerIP: ip.Unmap().String(),
		Fields:     fields,
	}
}

// loadState reads the last probe times (a missing file is an empty state).
func (p *Prober) loadState() error {
	if p.cfg.StatePath == "" {
		return nil
	}
	b, err := os.ReadFile(p.cfg.StatePath)
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("prober: cannot read its state: %w", err)
	}
	var st map[string]time.Time
	if err := json.Unmarshal(b, &st); err != nil {
		return fmt.Errorf("prober: the state file %s is corrupt: %w", p.cfg.StatePath, err)
	}
	now := p.cfg.Now()
	for k, t := range st {
		ip, err := netip.ParseAddr(k)
		if err == nil && now.Sub(t) < p.cfg.Interval && len(p.last) < maxTracked {
			p.last[ip] = t
		}
	}
	return nil
}

// saveState writes the probe times still inside the interval, atomically.
func (p *Prober) saveState() {
	if p.cfg.StatePath == "" {
		return
	}
	p.saveMu.Lock()
	defer p.saveMu.Unlock()
	p.mu.Lock()
	p.pruneLocked(p.cfg.Now())
	st := make(map[string]time.Time, len(p.last))
	for ip, t := range p.last {
		st[ip.String()] = t
	}
	b, err := json.Marshal(st)
	p.mu.Unlock()
	if err == nil {
		err = writeFileAtomic(p.cfg.StatePath, b)
	}
	if err != nil {
		p.log.Warn("cannot save the prober state", "path", p.cfg.StatePath, "err", err)
	}
}

// writeFileAtomic writes b to path through a temporary file, fsync and rename.
func writeFileAtomic(path string, b []byte) error {
	if err := os.MkdirAll(filepath.Dir(path), 0o700); err != nil {
		return err
	}
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.Write(b); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Sync(); err != nil {
		tmp.Close()
		return err
	}
	if err := tmp.Close(); err != nil {
		return err
	}
	return os.Rename(tmp.Name(), path)
}
