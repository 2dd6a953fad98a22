package shell

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"strings"
	"syscall"
	"unicode/utf8"
)

// Interactive bounds.
const (
	maxInteractiveLine = 4096 // bytes of one typed line (further input is dropped, with a bell)
	maxContinuation    = 16 << 10
	readChunk          = 512
)

// termReader turns the connection into a byte stream that can be abandoned when ctx ends.
type termReader struct {
	ctx  context.Context
	ch   chan []byte
	buf  []byte
	done bool
}

func newTermReader(ctx context.Context, r io.Reader) *termReader {
	t := &termReader{ctx: ctx, ch: make(chan []byte, 4)}
	go func() {
		defer close(t.ch)
		for {
			b := make([]byte, readChunk)
			n, err := r.Read(b)
			if n > 0 {
				select {
				case t.ch <- b[:n]:
				case <-ctx.Done():
					return
				}
			}
			if err != nil {
				return
			}
		}
	}()
	return t
}

// errEOF ends the session quietly (the client closed its side).
var errEOF = errors.New("end of input")

func (t *termReader) ReadByte() (byte, error) {
	for len(t.buf) == 0 {
		if t.done {
			return 0, errEOF
		}
		select {
		case <-t.ctx.Done():
			return 0, t.ctx.Err()
		case b, ok := <-t.ch:
			if !ok {
				t.done = true
				return 0, errEOF
			}
			t.buf = b
		}
	}
	c := t.buf[0]
	t.buf = t.buf[1:]
	return c, nil
}

// peekByte returns the next byte only if it is already buffered.
func (t *termReader) peekByte() (byte, bool) {
	if len(t.buf) > 0 {
		return t.buf[0], true
	}
	select {
	case b, ok := <-t.ch:
		if !ok {
			t.done = true
			return 0, false
		}
		t.buf = b
		return t.buf[0], true
	default:
		return 0, false
	}
}

// termWriter converts "\n" to "\r\n" when crlf is set.
type termWriter struct {
	w    io.Writer
	crlf bool
}

func (t termWriter) write(s string) error {
	if s == "" {
		return nil
	}
	if t.crlf {
		s = strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n")
	}
	_, err := io.WriteString(t.w, s)
	return err
}

// closedErr reports whether err only says the peer went away, which ends a session
// normally.
func closedErr(err error) bool {
	return errors.Is(err, io.EOF) || errors.Is(err, io.ErrClosedPipe) || errors.Is(err, net.ErrClosed) ||
		errors.Is(err, syscall.EPIPE) || errors.Is(err, syscall.ECONNRESET)
}

// Interact runs the shell's read-eval-print loop over a terminal stream: it writes the
// prompt, reads keystrokes, echoes them and edits the line (backspace/DEL, ^U, ^W),
// handles ^C (new prompt), ^D on an empty line (exit), ^L (clear), \r or \n as enter,
// skips escape sequences (arrow keys, bracketed paste) and asks for continuation lines
// for an open quote. With crlf, output uses "\r\n". Lines are bounded. It returns nil on
// exit or end of input (including the peer closing the connection), ctx.Err() when ctx
// ends, or the read or write error. A blocked Read on
// rw only returns when the caller closes the connection, so close it after Interact.
func (s *Shell) Interact(ctx context.Context, rw io.ReadWriter, crlf bool) error {
	err := s.interact(ctx, rw, crlf)
	if err != nil && ctx.Err() == nil && closedErr(err) {
		return nil
	}
	return err
}

func (s *Shell) interact(ctx context.Context, rw io.ReadWriter, crlf bool) error {
	s.tty = true
	tr := newTermReader(ctx, rw)
	tw := termWriter{w: rw, crlf: crlf}
	s.readSecret = func(prompt string) (string, bool) {
		if tw.write(prompt) != nil {
			return "", false
		}
		line, ok, _ := readSecretLine(tr)
		tw.write("\n")
		return line, ok
	}
	defer func() { s.readSecret = nil }()

	pending := ""
	for {
		prompt := s.Prompt()
		if pending != "" {
			prompt = s.continuationPrompt()
		}
		if err := tw.write(prompt); err != nil {
			return fmt.Errorf("writing the shell prompt: %w", err)
		}
		line, res, err := s.readLine(tr, tw, prompt)
		if err != nil {
			if err == errEOF {
				return nil
			}
			if ctx.Err() != nil {
				return ctx.Err()
			}
			return fmt.Errorf("reading the terminal: %w", err)
		}
		switch res {
		case lineInterrupt:
			pending = ""
			continue
		case lineEOF:
			if pending != "" {
				tw.write(fmt.Sprintf("%s: unexpected EOF while looking for matching `%s'\n", s.shName(), missingCloser(pending)))
				pending = ""
				continue
			}
			if s.p.shellKind == "bash" {
				tw.write("logout\n")
			}
			s.exited = true
			return nil
		}
		full := line
		if pending != "" {
			full = pending + "\n" + line
		}
		if Incomplete(full) && len(full) < maxContinuation {
			pending = full
			continue
		}
		pending = ""
		out, exit := s.Exec(full)
		if err := tw.write(out); err != nil {
			return fmt.Errorf("writing command output: %w", err)
		}
		if exit {
			return nil
		}
	}
}

type lineResult int

const (
	lineOK lineResult = iota
	lineInterrupt
	lineEOF
)

// readLine reads one edited line, echoing as a terminal in canonical mode would.
func (s *Shell) readLine(tr *termReader, tw termWriter, prompt string) (string, lineResult, error) {
	var buf []byte
	for {
		c, err := tr.ReadByte()
		if err != nil {
			return "", lineOK, err
		}
		switch c {
		case '\r', '\n':
			if c == '\r' {
				if nb, ok := tr.peekByte(); ok && (nb == '\n' || nb == 0) {
					tr.ReadByte()
				}
			}
			if err := tw.write("\n"); err != nil {
				return "", lineOK, err
			}
			return string(buf), lineOK, nil
		case 0x03: // ^C
			if err := tw.write("^C\n"); err != nil {
				return "", lineOK, err
			}
			s.status = 130
			return "", lineInterrupt, nil
		case 0x04: // ^D
			if len(buf) == 0 {
				return "", lineEOF, nil
			}
		case 0x7f, 0x08: // DEL, backspace
			if len(buf) > 0 {
				_, size := utf8.DecodeLastRune(buf)
				if size == 0 {
					size = 1
				}
				buf = buf[:len(buf)-size]
				if err := tw.write("\b \b"); err != nil {
					return "", lineOK, err
				}
			}
		case 0x15: // ^U
			if n := utf8.RuneCount(buf); n > 0 {
				if err := tw.write(strings.Repeat("\b \b", n)); err != nil {
					return "", lineOK, err
				}
			}
			buf = buf[:0]
		case 0x17: // ^W: erase the previous word
			n := 0
			for len(buf) > 0 && buf[len(buf)-1] == ' ' {
				buf = buf[:len(buf)-1]
				n++
			}
			for len(buf) > 0 && buf[len(buf)-1] != ' ' {
				_, size := utf8.DecodeLastRune(buf)
				if size == 0 {
					size = 1
				}
				buf = buf[:len(buf)-size]
				n++
			}
			if n > 0 {
				if err := tw.write(strings.Repeat("\b \b", n)); err != nil {
					return "", lineOK, err
				}
			}
		case 0x0c: // ^L
			if err := tw.write("\x1b[H\x1b[2J" + prompt + string(buf)); err != nil {
				return "", lineOK, err
			}
		case 0x1b: // escape sequence: consume and ignore
			if err := skipEscape(tr); err != nil {
				return "", lineOK, err
			}
		case '\t':
			if err := tw.write("\a"); err != nil {
				return "", lineOK, err
			}
		default:
			if c < 0x20 {
				continue // other control characters are ignored
			}
			if len(buf) >= maxInteractiveLine {
				if err := tw.write("\a"); err != nil {
					return "", lineOK, err
				}
				continue
			}
			buf = append(buf, c)
			if c < 0x80 {
				if err := tw.write(string(c)); err != nil {
					return "", lineOK, err
				}
			} else if utf8.FullRune(trailingRune(buf)) {
				// Echo a multi-byte character once it is complete.
				r := trailingRune(buf)
				if err := tw.write(string(r)); err != nil {
					return "", lineOK, err
				}
			}
		}
	}
}

// trailingRune returns the bytes of the last (possibly partial) UTF-8 sequence in buf.
func trailingRune(buf []byte) []byte {
	i := len(buf) - 1
	for i > 0 && len(buf)-i < utf8.UTFMax && buf[i]&0xc0 == 0x80 {
		i--
	}
	return buf[i:]
}

// skipEscape consumes the rest of an escape sequence after ESC: CSI (ESC [ … final),
// SS3 (ESC O x) or a two-byte sequence. Bounded, so a hostile stream cannot stall it.
func skipEscape(tr *termReader) error {
	c, ok := tr.peekByte()
	if !ok {
		return nil // a lone ESC key
	}
	switch c {
	case '[':
		tr.ReadByte()
		for i := 0; i < 32; i++ {
			b, ok := tr.peekByte()
			if !ok {
				return nil
			}
			tr.ReadByte()
			if b >= 0x40 && b <= 0x7e {
				return nil
			}
		}
	case 'O':
		tr.ReadByte()
		if _, ok := tr.peekByte(); ok {
			tr.ReadByte()
		}
	default:
		if c >= 0x20 && c < 0x7f {
			tr.ReadByte()
		}
	}
	return nil
}

// readSecretLine reads a line without echo (a password prompt).
func readSecretLine(tr *termReader) (string, bool, error) {
	var buf []byte
	for {
		c, err := tr.ReadByte()
		if err != nil {
			return "", false, err
		}
		switch c {
		case '\r', '\n':
			if c == '\r' {
				if nb, ok := tr.peekByte(); ok && (nb == '\n' || nb == 0) {
					tr.ReadByte()
				}
			}
			return string(buf), true, nil
		case 0x03, 0x04:
			return "", false, nil
		case 0x7f, 0x08:
			if len(buf) > 0 {
				buf = buf[:len(buf)-1]
			}
		case 0x15:
			buf = buf[:0]
		default:
			if c >= 0x20 && len(buf) < 1024 {
				buf = append(buf, c)
			}
		}
	}
}
