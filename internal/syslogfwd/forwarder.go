// Package syslogfwd forwards DECNET events to a remote syslog receiver (the INI
// [general] log_target or --log-target) as RFC 5424 lines over UDP (RFC 5426), TCP
// with octet counting (RFC 6587 "<len> <msg>") or TLS (RFC 5425, octet counting over
// TLS with CA and/or certificate fingerprint pinning and an optional client
// certificate).
//
// A Forwarder is one more reader of the spool, with its own durable cursor: the spool
// is the on-disk buffer while the target is down (whoever prunes the spool must not
// prune past this cursor), and nothing is lost when it comes back — up to
// Options.MaxBuffer bytes of backlog. Past that bound the forwarder gives up its
// oldest whole segments (it moves its cursor past them, so the ingester may prune
// them), counts the records it will never send in Stats.Dropped and says so in the
// log: disk use stays bounded while a target is down for good, and the loss is
// visible rather than silent.
//
// Delivery: over TCP and TLS at least once. Syslog has no acknowledgements, so the
// cursor only moves past records once the receiving kernel has acknowledged every
// byte sent (the socket's unacknowledged-output queue is empty) and the connection is
// still open; on any error the forwarder reconnects and resends from the cursor, so a
// receiver that dies mid-stream may get a few messages twice, never none. Over UDP
// delivery is best effort: datagrams sent while the target is down are lost, and a
// message longer than MaxUDP bytes is truncated (RFC 5426 allows it).
//
// The message is the event re-formatted by the event codec (so the decky is the one
// the collector attributed, with the line's own HOSTNAME in wire_hostname if it
// differed), falling back to the spooled raw line.
package syslogfwd

import (
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"os"
	"path/filepath"
	"strconv"
	"sync/atomic"
	"syscall"
	"time"

	"golang.org/x/sys/unix"

	"decnet/internal/event"
	"decnet/internal/spool"
)

// MaxUDP is the largest datagram the forwarder sends.
const MaxUDP = 65000

// Options tunes a Forwarder; the zero value is usable.
type Options struct {
	Log          *slog.Logger  // nil: discard
	DialTimeout  time.Duration // 0: 5 s
	WriteTimeout time.Duration // 0: 10 s
	Poll         time.Duration // spool poll interval when idle; 0: 100 ms
	Batch        int           // records written before a delivery check; 0: 500
	// MaxBuffer bounds the backlog (spool bytes behind the cursor) the forwarder
	// holds while the target is down; 0: DefaultMaxBuffer; negative: unbounded.
	MaxBuffer int64
}

// DefaultMaxBuffer is the default bound of the forwarder's on-disk backlog.
const DefaultMaxBuffer int64 = 1 << 30

// Stats are a Forwarder's counters.
type Stats struct {
	Sent       int64 `json:"sent"`       // messages written (resends included)
	Confirmed  int64 `json:"confirmed"`  // records the cursor moved past
	Reconnects int64 `json:"reconnects"` // connections opened after the first
	Errors     int64 `json:"errors"`     // dial and write errors
	Truncated  int64 `json:"truncated"`  // UDP messages cut to MaxUDP
	Corrupt    int64 `json:"corrupt"`    // spool records that could not be read (skipped)
	Dropped    int64 `json:"dropped"`    // records given up unsent because the backlog passed MaxBuffer
}

// Forwarder sends spooled events to one target.
type Forwarder struct {
	t                                                     Target
	tls                                                   *tls.Config
	opt                                                   Options
	log                                                   *slog.Logger
	sent, confirmed, reconnects, errs, truncated, corrupt atomic.Int64
	dropped                                               atomic.Int64
}

// New parses target (see ParseTarget) and loads its TLS material.
func New(target string, opt Options) (*Forwarder, error) {
	t, err := ParseTarget(target)
	if err != nil {
		return nil, err
	}
	f := &Forwarder{t: t, opt: opt, log: opt.Log}
	if f.log == nil {
		f.log = slog.New(slog.DiscardHandler)
	}
	if f.opt.DialTimeout <= 0 {
		f.opt.DialTimeout = 5 * time.Second
	}
	if f.opt.WriteTimeout <= 0 {
		f.opt.WriteTimeout = 10 * time.Second
	}
	if f.opt.Poll <= 0 {
		f.opt.Poll = 100 * time.Millisecond
	}
	if f.opt.Batch <= 0 {
		f.opt.Batch = 500
	}
	if f.opt.MaxBuffer == 0 {
		f.opt.MaxBuffer = DefaultMaxBuffer
	}
	if t.Network == "tls" {
		if f.tls, err = t.tlsConfig(); err != nil {
			return nil, err
		}
	}
	return f, nil
}

// Target is the parsed target.
func (f *Forwarder) Target() Target { return f.t }

// Stats returns a snapshot of the counters.
func (f *Forwarder) Stats() Stats {
	return Stats{Sent: f.sent.Load(), Confirmed: f.confirmed.Load(), Reconnects: f.reconnects.Load(),
		Errors: f.errs.Load(), Truncated: f.truncated.Load(), Corrupt: f.corrupt.Load(), Dropped: f.dropped.Load()}
}

// trim enforces MaxBuffer: when the spool bytes from c to the spool's end exceed it,
// it returns the start of the oldest segment from which the backlog fits (never the
// segment being written), and how many records it skipped. The skipped records are
// counted by reading them: this happens rarely, only while a target stays down.
func (f *Forwarder) trim(spoolDir string, c spool.Cursor) (spool.Cursor, int64, error) {
	if f.opt.MaxBuffer < 0 {
		return c, 0, nil
	}
	seqs, err := spool.Segments(spoolDir)
	if err != nil {
		return c, 0, err
	}
	sizes := make([]int64, len(seqs))
	var backlog int64
	for i, seq := range seqs {
		if seq < c.Seq {
			continue
		}
		fi, err := os.Stat(filepath.Join(spoolDir, spool.SegmentName(seq)))
		if err != nil {
			return c, 0, err
		}
		sizes[i] = fi.Size()
		if seq == c.Seq {
			sizes[i] -= min(c.Offset, sizes[i])
		}
		backlog += sizes[i]
	}
	if backlog <= f.opt.MaxBuffer {
		return c, 0, nil
	}
	next := c
	for i, seq := range seqs[:len(seqs)-1] {
		if seq < c.Seq {
			continue
		}
		if backlog <= f.opt.MaxBuffer {
			break
		}
		backlog -= sizes[i]
		next = spool.Cursor{Seq: seqs[i+1]}
	}
	if next == c {
		return c, 0, nil
	}
	r, err := spool.OpenReader(spoolDir, c)
	if err != nil {
		return c, 0, err
	}
	defer r.Close()
	var n int64
	for {
		_, cur, err := r.Next()
		if errors.Is(err, spool.ErrNoData) {
			break
		}
		var ce *spool.CorruptError
		if err != nil && !errors.As(err, &ce) {
			return c, 0, err
		}
		if cur.Seq > next.Seq || (cur.Seq == next.Seq && cur.Offset > next.Offset) {
			break
		}
		n++
		if cur == next {
			break
		}
	}
	return next, n, nil
}

// LoadCursor reads a cursor file; a missing file is the zero cursor (the spool's start).
func LoadCursor(path string) (spool.Cursor, error) {
	b, err := os.ReadFile(path)
	if errors.Is(err, os.ErrNotExist) {
		return spool.Cursor{}, nil
	}
	if err != nil {
		return spool.Cursor{}, fmt.Errorf("syslogfwd: cannot read the cursor file: %w", err)
	}
	c, err := spool.ParseCursor(string(trimSpace(b)))
	if err != nil {
		return c, fmt.Errorf("syslogfwd: the cursor file %s is corrupt: %w", path, err)
	}
	return c, nil
}

func trimSpace(b []byte) []byte {
	for len(b) > 0 && (b[len(b)-1] == '\n' || b[len(b)-1] == ' ') {
		b = b[:len(b)-1]
	}
	return b
}

// saveCursor writes the cursor atomically (temporary file, fsync, rename).
func saveCursor(path string, c spool.Cursor) error {
	tmp, err := os.CreateTemp(filepath.Dir(path), "."+filepath.Base(path)+".tmp-*")
	if err != nil {
		return err
	}
	defer os.Remove(tmp.Name())
	if _, err := tmp.WriteString(c.String() + "\n"); err != nil {
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

// conn is one connection to the target.
type conn struct {
	c   net.Conn
	tcp *net.TCPConn // nil for UDP
}

func (f *Forwarder) dial(ctx context.Context) (*conn, error) {
	d := net.Dialer{Timeout: f.opt.DialTimeout, KeepAlive: 30 * time.Second}
	switch f.t.Network {
	case "udp":
		c, err := d.DialContext(ctx, "udp", f.t.Addr)
		if err != nil {
			return nil, err
		}
		return &conn{c: c}, nil
	case "tcp":
		c, err := d.DialContext(ctx, "tcp", f.t.Addr)
		if err != nil {
			return nil, err
		}
		return &conn{c: c, tcp: c.(*net.TCPConn)}, nil
	default:
		raw, err := d.DialContext(ctx, "tcp", f.t.Addr)
		if err != nil {
			return nil, err
		}
		tc := tls.Client(raw, f.tls)
		hctx, cancel := context.WithTimeout(ctx, f.opt.DialTimeout)
		defer cancel()
		if err := tc.HandshakeContext(hctx); err != nil {
			raw.Close()
			return nil, fmt.Errorf("TLS handshake with %s: %w", f.t.Addr, err)
		}
		return &conn{c: tc, tcp: raw.(*net.TCPConn)}, nil
	}
}

// message renders a record as its syslog line.
func message(rec *spool.Record) []byte {
	if b, err := event.Format(rec.Event); err == nil {
		return b
	}
	return []byte(rec.RawLine)
}

// send writes one message with the transport's framing.
func (f *Forwarder) send(c *conn, msg []byte, buf []byte) ([]byte, error) {
	buf = buf[:0]
	if c.tcp == nil {
		if len(msg) > MaxUDP {
			msg = msg[:MaxUDP]
			f.truncated.Add(1)
		}
		buf = append(buf, msg...)
	} else {
		buf = strconv.AppendInt(buf, int64(len(msg)), 10)
		buf = append(buf, ' ')
		buf = append(buf, msg...)
	}
	c.c.SetWriteDeadline(time.Now().Add(f.opt.WriteTimeout))
	_, err := c.c.Write(buf)
	if err == nil {
		f.sent.Add(1)
	}
	return buf, err
}

// delivered reports whether everything written on a stream connection has been
// acknowledged by the peer's kernel (the unacknowledged-output queue is empty) while
// the connection is still established (no FIN or RST from the peer). dead is true when
// the connection is known to be unusable. Nothing is read from the socket, so a TLS
// stream is left intact.
func delivered(c *conn) (ok, dead bool) {
	rc, err := c.tcp.SyscallConn()
	if err != nil {
		return false, true
	}
	outq := -1
	var info *unix.TCPInfo
	var ioErr, infoErr error
	if err := rc.Control(func(fd uintptr) {
		outq, ioErr = unix.IoctlGetInt(int(fd), unix.SIOCOUTQ)
		info, infoErr = unix.GetsockoptTCPInfo(int(fd), unix.IPPROTO_TCP, unix.TCP_INFO)
	}); err != nil || ioErr != nil || infoErr != nil {
		return false, true
	}
	if info.State != tcpEstablished {
		return false, true
	}
	return outq == 0, false
}

// tcpEstablished is TCP_ESTABLISHED in Linux's tcp_states.h.
const tcpEstablished = 1

// Run forwards the records of spoolDir from the cursor in cursorPath until ctx is
// cancelled (it then saves the cursor and returns nil).
func (f *Forwarder) Run(ctx context.Context, spoolDir, cursorPath string) error {
	committed, err := LoadCursor(cursorPath)
	if err != nil {
		return err
	}
	if err := os.MkdirAll(filepath.Dir(cursorPath), 0o700); err != nil {
		return fmt.Errorf("syslogfwd: cannot create %s: %w", filepath.Dir(cursorPath), err)
	}
	if err := os.MkdirAll(spoolDir, 0o700); err != nil {
		return fmt.Errorf("syslogfwd: cannot create the spool directory: %w", err)
	}
	saved := committed
	save := func() {
		if saved == committed {
			return
		}
		if err := saveCursor(cursorPath, committed); err != nil {
			f.log.Warn("cannot save the syslog cursor", "err", err)
			return
		}
		saved = committed
	}
	defer save()

	var c *conn
	var r *spool.Reader
	defer func() {
		if c != nil {
			c.c.Close()
		}
		if r != nil {
			r.Close()
		}
	}()
	var written spool.Cursor // position after the last record written on c
	var pending int64        // records written on c and not yet confirmed
	backoff := 200 * time.Millisecond
	down := false
	first := true
	buf := make([]byte, 0, 64<<10)
	drop := func(why error) {
		f.errs.Add(1)
		if !down {
			f.log.Warn("log target unreachable; events stay in the spool until it is back", "target", f.t.String(), "err", why, "max_backlog_bytes", f.opt.MaxBuffer)
		}
		down = true
		if c != nil {
			c.c.Close()
			c = nil
		}
		next, n, err := f.trim(spoolDir, committed)
		if err != nil {
			f.log.Warn("cannot measure the syslog backlog", "err", err)
			return
		}
		if next != committed {
			f.dropped.Add(n)
			f.log.Error("syslog backlog passed its bound while the target is down: the oldest events will not be forwarded",
				"target", f.t.String(), "dropped", n, "dropped_total", f.dropped.Load(), "max_backlog_bytes", f.opt.MaxBuffer)
			committed = next
			save()
		}
	}
	wait := func(d time.Duration) bool {
		t := time.NewTimer(d)
		defer t.Stop()
		select {
		case <-ctx.Done():
			return false
		case <-t.C:
			return true
		}
	}
	lastSave := time.Now()
	for ctx.Err() == nil {
		if c == nil {
			nc, err := f.dial(ctx)
			if err != nil {
				if ctx.Err() != nil {
					break
				}
				drop(err)
				wait(backoff)
				backoff = min(backoff*2, 5*time.Second)
				continue
			}
			if !first {
				f.reconnects.Add(1)
			}
			if down {
				f.log.Info("log target is back", "target", f.t.String())
			}
			first, down, backoff = false, false, 200*time.Millisecond
			c = nc
			// Resend everything not confirmed.
			if r != nil {
				r.Close()
			}
			if r, err = spool.OpenReader(spoolDir, committed); err != nil {
				return fmt.Errorf("syslogfwd: %w", err)
			}
			written, pending = committed, 0
		}
		n := 0
		var werr error
		for n < f.opt.Batch {
			rec, cur, err := r.Next()
			if errors.Is(err, spool.ErrNoData) {
				break
			}
			var ce *spool.CorruptError
			if errors.As(err, &ce) {
				f.corrupt.Add(1)
				f.log.Warn("skipping a corrupt spool record", "err", err)
				written = cur
				continue
			}
			if err != nil {
				return fmt.Errorf("syslogfwd: cannot read the spool: %w", err)
			}
			if buf, werr = f.send(c, message(rec), buf); werr != nil {
				break
			}
			written = cur
			n++
			pending++
		}
		if werr != nil {
			if c.tcp == nil && isRefused(werr) {
				// UDP: an ICMP "port unreachable" for an earlier datagram. Best effort: go on.
				f.errs.Add(1)
			} else {
				drop(werr)
				continue
			}
		}
		if written != committed {
			if c.tcp == nil {
				f.confirmed.Add(pending)
				committed, pending = written, 0
			} else if ok, dead := delivered(c); dead {
				drop(errors.New("the connection was closed by the target"))
				continue
			} else if ok {
				f.confirmed.Add(pending)
				committed, pending = written, 0
			}
		}
		if time.Since(lastSave) > 200*time.Millisecond {
			save()
			lastSave = time.Now()
		}
		if n == 0 {
			if !wait(f.opt.Poll) {
				break
			}
		}
	}
	// Give in-flight data a moment to be acknowledged before the final save.
	if c != nil && c.tcp != nil && written != committed {
		for i := 0; i < 20; i++ {
			if ok, dead := delivered(c); dead {
				break
			} else if ok {
				f.confirmed.Add(pending)
				committed = written
				break
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return nil
}

func isRefused(err error) bool {
	return errors.Is(err, syscall.ECONNREFUSED)
}
