package telnet

import (
	"context"
	"encoding/binary"
	"errors"
	"io"
	"strconv"
	"strings"
	"sync"
	"time"

	"decnet/internal/service"
)

// Option states (a simplified RFC 1143 "Q method": no queue bits, replies only on a
// state change, so a hostile peer cannot start a negotiation loop).
const (
	qNo = iota
	qYes
	qWantYes
)

// accepted are the options the client may enable on its side (client WILL): the
// ones telnetd asks for itself, plus binary and flow control.
var accepted = map[byte]bool{
	optTTYPE: true, optNAWS: true, optTSPEED: true, optXDISPLOC: true, optNewEnviron: true,
	optLFLOW: true, optBinary: true,
}

// offered are the options this server enables on its side when asked (client DO).
var offered = map[byte]bool{optEcho: true, optSGA: true, optBinary: true, optStatus: false}

// clientInfo is what option negotiation told about the client.
type clientInfo struct {
	term      string
	speed     string
	xdisplay  string
	cols      int
	rows      int
	env       [][2]string
	negotiate int // option replies received
}

// tconn is one telnet connection: a reader goroutine parses the stream, answers
// option negotiation and queues keystrokes; Read hands them out; Write escapes IAC.
type tconn struct {
	c *service.Conn

	wmu sync.Mutex // serialises writes (replies from the reader, output from the session)

	mu     sync.Mutex
	us     [256]uint8
	him    [256]uint8
	info   clientInfo
	change chan struct{} // closed and replaced on every option change or sub-negotiation

	data    chan []byte
	quit    chan struct{} // closed when the session ends, so readLoop never blocks forever
	pending []byte
}

func newTconn(c *service.Conn) *tconn {
	t := &tconn{c: c, change: make(chan struct{}), data: make(chan []byte, 16), quit: make(chan struct{})}
	go t.readLoop()
	return t
}

// readLoop parses the connection until it fails. Data chunks go to t.data; when the
// session stops reading (its buffer is full) the loop blocks, which is TCP's own
// flow control toward the attacker.
func (t *tconn) readLoop() {
	defer close(t.data)
	var p Parser
	buf := make([]byte, 1024)
	for {
		n, err := t.c.Read(buf)
		if n > 0 {
			data, cmds := p.Feed(buf[:n], nil)
			for _, cmd := range cmds {
				t.handle(cmd)
			}
			if len(data) > 0 {
				select {
				case t.data <- data:
				case <-t.quit:
					return
				}
			}
		}
		if err != nil {
			return
		}
	}
}

// close ends the session side: the reader goroutine stops at its next step.
func (t *tconn) close() { close(t.quit) }

// signal wakes waiters; t.mu must be held.
func (t *tconn) signal() {
	close(t.change)
	t.change = make(chan struct{})
}

func (t *tconn) send(b ...byte) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	_, _ = t.c.Write(b)
}

// will, wont, do and dont start a negotiation from the server side.
func (t *tconn) will(opt byte) {
	t.mu.Lock()
	if t.us[opt] != qNo {
		t.mu.Unlock()
		return
	}
	t.us[opt] = qWantYes
	t.mu.Unlock()
	t.send(cmdIAC, cmdWILL, opt)
}

func (t *tconn) do(opt byte) {
	t.mu.Lock()
	if t.him[opt] != qNo {
		t.mu.Unlock()
		return
	}
	t.him[opt] = qWantYes
	t.mu.Unlock()
	t.send(cmdIAC, cmdDO, opt)
}

// handle answers one command from the client.
func (t *tconn) handle(cmd Command) {
	var reply []byte
	t.mu.Lock()
	switch cmd.Verb {
	case cmdWILL:
		t.info.negotiate++
		switch t.him[cmd.Opt] {
		case qWantYes:
			t.him[cmd.Opt] = qYes
			reply = t.enabledHim(cmd.Opt)
		case qNo:
			if accepted[cmd.Opt] {
				t.him[cmd.Opt] = qYes
				reply = append([]byte{cmdIAC, cmdDO, cmd.Opt}, t.enabledHim(cmd.Opt)...)
			} else {
				reply = []byte{cmdIAC, cmdDONT, cmd.Opt}
			}
		}
	case cmdWONT:
		t.info.negotiate++
		switch t.him[cmd.Opt] {
		case qYes:
			t.him[cmd.Opt] = qNo
			reply = []byte{cmdIAC, cmdDONT, cmd.Opt}
		case qWantYes:
			t.him[cmd.Opt] = qNo
		}
	case cmdDO:
		t.info.negotiate++
		switch t.us[cmd.Opt] {
		case qWantYes:
			t.us[cmd.Opt] = qYes
		case qNo:
			if offered[cmd.Opt] {
				t.us[cmd.Opt] = qYes
				reply = []byte{cmdIAC, cmdWILL, cmd.Opt}
			} else {
				reply = []byte{cmdIAC, cmdWONT, cmd.Opt}
			}
		}
	case cmdDONT:
		t.info.negotiate++
		switch t.us[cmd.Opt] {
		case qYes:
			t.us[cmd.Opt] = qNo
			reply = []byte{cmdIAC, cmdWONT, cmd.Opt}
		case qWantYes:
			t.us[cmd.Opt] = qNo
		}
	case cmdSB:
		t.subnegotiation(cmd)
	case cmdAYT:
		reply = []byte("\r\n[Yes]\r\n")
	}
	t.signal()
	t.mu.Unlock()
	if len(reply) > 0 {
		t.send(reply...)
	}
}

// enabledHim is what the server sends once the client enabled opt: a request for
// the value of the options that carry one (telnetd's getterminaltype). t.mu held.
func (t *tconn) enabledHim(opt byte) []byte {
	switch opt {
	case optTTYPE, optTSPEED, optXDISPLOC, optNewEnviron:
		return []byte{cmdIAC, cmdSB, opt, sbSEND, cmdIAC, cmdSE}
	}
	return nil
}

// subnegotiation records what the client told; t.mu held.
func (t *tconn) subnegotiation(cmd Command) {
	d := cmd.Data
	switch cmd.Opt {
	case optTTYPE, optTSPEED, optXDISPLOC:
		if len(d) == 0 || d[0] != sbIS {
			return
		}
		v := truncate(string(d[1:]), 128)
		switch cmd.Opt {
		case optTTYPE:
			t.info.term = v
		case optTSPEED:
			t.info.speed = v
		case optXDISPLOC:
			t.info.xdisplay = v
		}
	case optNAWS:
		if len(d) >= 4 {
			t.info.cols = int(binary.BigEndian.Uint16(d[0:2]))
			t.info.rows = int(binary.BigEndian.Uint16(d[2:4]))
		}
	case optNewEnviron:
		if len(d) == 0 || (d[0] != sbIS && d[0] != 2 /* INFO */) {
			return
		}
		for _, kv := range parseEnviron(d[1:]) {
			if len(t.info.env) >= 32 {
				break
			}
			t.info.env = append(t.info.env, [2]string{truncate(kv[0], 128), truncate(kv[1], 512)})
		}
	}
}

// snapshot returns a copy of the client info.
func (t *tconn) snapshot() clientInfo {
	t.mu.Lock()
	defer t.mu.Unlock()
	ci := t.info
	ci.env = append([][2]string(nil), t.info.env...)
	return ci
}

// env returns the value of a NEW-ENVIRON variable the client sent.
func (ci clientInfo) envVar(name string) (string, bool) {
	for _, kv := range ci.env {
		if kv[0] == name {
			return kv[1], true
		}
	}
	return "", false
}

// fields renders the client info as event fields.
func (ci clientInfo) fields() map[string]string {
	f := map[string]string{}
	if ci.term != "" {
		f["terminal_type"] = ci.term
	}
	if ci.speed != "" {
		f["terminal_speed"] = ci.speed
	}
	if ci.xdisplay != "" {
		f["xdisplay"] = ci.xdisplay
	}
	if ci.cols > 0 || ci.rows > 0 {
		f["window_size"] = strconv.Itoa(ci.cols) + "x" + strconv.Itoa(ci.rows)
	}
	if len(ci.env) > 0 {
		var b strings.Builder
		for i, kv := range ci.env {
			if i > 0 {
				b.WriteByte(' ')
			}
			b.WriteString(kv[0] + "=" + kv[1])
		}
		f["env"] = b.String()
	}
	for k, v := range f {
		service.SetPrintable(f, k, v)
	}
	return f
}

// echoing reports whether the server echoes (the client agreed to WILL ECHO).
func (t *tconn) echoing() bool {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.us[optEcho] == qYes
}

// settle waits until no requested option is pending, keystrokes arrive, or d passes.
func (t *tconn) settle(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		t.mu.Lock()
		pending := false
		for i := range t.him {
			if t.him[i] == qWantYes || t.us[i] == qWantYes {
				pending = true
				break
			}
		}
		ch := t.change
		t.mu.Unlock()
		if !pending || len(t.data) > 0 {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// waitSB waits up to d for the values the client agreed to send (terminal type, …).
func (t *tconn) waitSB(ctx context.Context, d time.Duration) {
	timer := time.NewTimer(d)
	defer timer.Stop()
	for {
		t.mu.Lock()
		missing := (t.him[optTTYPE] == qYes && t.info.term == "") ||
			(t.him[optNAWS] == qYes && t.info.cols == 0 && t.info.rows == 0)
		ch := t.change
		t.mu.Unlock()
		if !missing || len(t.data) > 0 {
			return
		}
		select {
		case <-ch:
		case <-timer.C:
			return
		case <-ctx.Done():
			return
		}
	}
}

// errClosed is returned by Read once the client has gone.
var errClosed = errors.New("telnet connection closed")

// Read returns keystrokes (telnet commands removed).
func (t *tconn) Read(p []byte) (int, error) {
	if len(t.pending) == 0 {
		b, ok := <-t.data
		if !ok {
			return 0, io.EOF
		}
		t.pending = b
	}
	n := copy(p, t.pending)
	t.pending = t.pending[n:]
	return n, nil
}

// readByte returns the next keystroke, or an error when ctx ends or the client goes.
func (t *tconn) readByte(ctx context.Context) (byte, error) {
	for len(t.pending) == 0 {
		select {
		case b, ok := <-t.data:
			if !ok {
				return 0, errClosed
			}
			t.pending = b
		case <-ctx.Done():
			return 0, ctx.Err()
		}
	}
	c := t.pending[0]
	t.pending = t.pending[1:]
	return c, nil
}

// Write sends output, doubling IAC bytes.
func (t *tconn) Write(p []byte) (int, error) {
	t.wmu.Lock()
	defer t.wmu.Unlock()
	if _, err := t.c.Write(escapeIAC(p)); err != nil {
		return 0, err
	}
	return len(p), nil
}

func (t *tconn) writeString(s string) error {
	_, err := t.Write([]byte(s))
	return err
}

// readLine reads one line as a getty or login prompt does: backspace/DEL, ^U edit,
// ^C/^D abort (ok false), enter is CR or LF. Echo, when set, writes what is typed.
// Lines are bounded; extra input is dropped.
func (t *tconn) readLine(ctx context.Context, echo bool, max int) (line string, ok bool, err error) {
	var buf []byte
	for {
		c, err := t.readByte(ctx)
		if err != nil {
			return string(buf), false, err
		}
		switch c {
		case '\r', '\n':
			if echo {
				if err := t.writeString("\r\n"); err != nil {
					return "", false, err
				}
			}
			return string(buf), true, nil
		case 0x03, 0x04:
			return "", false, nil
		case 0x7f, 0x08:
			if len(buf) > 0 {
				buf = buf[:len(buf)-1]
				if echo {
					if err := t.writeString("\b \b"); err != nil {
						return "", false, err
					}
				}
			}
		case 0x15:
			if echo && len(buf) > 0 {
				if err := t.writeString(strings.Repeat("\b \b", len(buf))); err != nil {
					return "", false, err
				}
			}
			buf = buf[:0]
		case 0:
			// NUL (padding, or the rest of a CR NUL split across reads) carries nothing.
		default:
			// Everything else is kept as typed, escape sequences included, as a
			// terminal's canonical mode would pass it to login.
			if len(buf) >= max {
				continue
			}
			buf = append(buf, c)
			if echo {
				if _, err := t.Write([]byte{c}); err != nil {
					return "", false, err
				}
			}
		}
	}
}

func truncate(s string, n int) string {
	if len(s) > n {
		return s[:n]
	}
	return s
}
