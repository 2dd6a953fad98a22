package ssh

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"path"
	"strconv"
	"strings"

	"decnet/internal/event"
	"decnet/internal/service"
)

// The SCP protocol (the legacy "rcp" protocol spoken by `scp -O`, and by every scp
// before OpenSSH 9.0) has no Go library: it is a handful of text headers and 0-byte
// acknowledgements over the exec channel, so the sink side is written here. Only the
// sink (upload to the decky) is served; the source side (download) answers
// "No such file or directory" as for a missing file. FuzzParseSCPHeader covers the
// header parser.

const (
	maxSCPLine  = 4096
	maxSCPDepth = 32
	maxSCPFiles = 1024
)

// scpCommand is a parsed `scp -t|-f [flags] path` command line.
type scpCommand struct {
	sink   bool // -t: the client uploads
	source bool // -f: the client downloads
	dirs   bool // -d or -r: the target is a directory
	target string
}

// parseSCPCommand recognises the command an scp client runs on the server.
func parseSCPCommand(cmd string) (scpCommand, bool) {
	f := strings.Fields(cmd)
	if len(f) < 2 || path.Base(f[0]) != "scp" {
		return scpCommand{}, false
	}
	var c scpCommand
	i := 1
	for ; i < len(f); i++ {
		a := f[i]
		if a == "--" {
			i++
			break
		}
		if !strings.HasPrefix(a, "-") || a == "-" {
			break
		}
		for _, o := range a[1:] {
			switch o {
			case 't':
				c.sink = true
			case 'f':
				c.source = true
			case 'd', 'r':
				c.dirs = true
			}
		}
	}
	if c.sink == c.source {
		return scpCommand{}, false
	}
	c.target = strings.Join(f[i:], " ")
	if c.target == "" {
		c.target = "."
	}
	return c, true
}

// SCPHeader is one control line of the SCP protocol.
type SCPHeader struct {
	Kind  byte // 'C' file, 'D' directory, 'E' end of directory, 'T' times
	Mode  uint32
	Size  int64
	Name  string
	Mtime int64
	Atime int64
}

// ParseSCPHeader parses an SCP control line without its trailing newline:
// "C0644 12 name", "D0755 0 dir", "E", "T1700000000 0 1700000000 0". A name must be
// a single path element (no "/", not "." or "..").
func ParseSCPHeader(line string) (SCPHeader, error) {
	var h SCPHeader
	if line == "" {
		return h, errors.New("empty SCP control line")
	}
	h.Kind = line[0]
	rest := line[1:]
	switch h.Kind {
	case 'E':
		if rest != "" {
			return h, errors.New("SCP end-of-directory line has trailing data")
		}
		return h, nil
	case 'T':
		f := strings.Split(rest, " ")
		if len(f) != 4 {
			return h, fmt.Errorf("SCP time line %q does not have 4 fields", line)
		}
		var err error
		if h.Mtime, err = strconv.ParseInt(f[0], 10, 64); err != nil {
			return h, fmt.Errorf("SCP time line has a bad mtime %q", f[0])
		}
		if h.Atime, err = strconv.ParseInt(f[2], 10, 64); err != nil {
			return h, fmt.Errorf("SCP time line has a bad atime %q", f[2])
		}
		return h, nil
	case 'C', 'D':
		modeS, after, ok := strings.Cut(rest, " ")
		if !ok {
			return h, fmt.Errorf("SCP %c line has no size", h.Kind)
		}
		sizeS, name, ok := strings.Cut(after, " ")
		if !ok {
			return h, fmt.Errorf("SCP %c line has no name", h.Kind)
		}
		if len(modeS) != 4 {
			return h, fmt.Errorf("SCP mode %q is not four octal digits", modeS)
		}
		m, err := strconv.ParseUint(modeS, 8, 32)
		if err != nil {
			return h, fmt.Errorf("SCP mode %q is not octal", modeS)
		}
		h.Mode = uint32(m)
		if h.Size, err = strconv.ParseInt(sizeS, 10, 64); err != nil || h.Size < 0 {
			return h, fmt.Errorf("SCP size %q is not a non-negative number", sizeS)
		}
		if name == "" || name == "." || name == ".." || strings.ContainsAny(name, "/\x00") {
			return h, fmt.Errorf("SCP name %q is not a plain file name", name)
		}
		h.Name = name
		return h, nil
	}
	return h, fmt.Errorf("unknown SCP control line type %q", h.Kind)
}

// scp serves one scp invocation on the exec channel and returns its exit status.
func (s *session) scp(c scpCommand) uint32 {
	w := s.ch
	if c.source {
		fmt.Fprintf(w, "\x01scp: %s: No such file or directory\n", c.target)
		s.cn.c.Emit(event.DownloadAttempt, map[string]string{"path": service.Printable(c.target, 0), "via": "scp", "username": service.Printable(s.sc.User(), 0)}, "")
		return 1
	}
	r := bufio.NewReaderSize(s.ch, maxSCPLine)
	ack := func() bool { _, err := w.Write([]byte{0}); return err == nil }
	fail := func(msg string) uint32 {
		fmt.Fprintf(w, "\x01scp: %s\n", msg)
		return 1
	}
	target := resolveTarget(c.target, homeOf(s.sc.User()))
	intoDir := c.dirs || isFakeDir(target)
	var dirs []string
	files := 0
	if !ack() {
		return 1
	}
	for {
		line, err := readSCPLine(r)
		if err != nil {
			if errors.Is(err, io.EOF) && line == "" {
				return 0
			}
			return 1
		}
		if line[0] == '\x01' || line[0] == '\x02' {
			// The client reports an error of its own (a file it could not read).
			continue
		}
		h, err := ParseSCPHeader(line)
		if err != nil {
			return fail("protocol error: " + err.Error())
		}
		switch h.Kind {
		case 'T':
		case 'E':
			if len(dirs) == 0 {
				return fail("protocol error: unexpected <newline>")
			}
			dirs = dirs[:len(dirs)-1]
		case 'D':
			if len(dirs) >= maxSCPDepth {
				return fail("protocol error: directories nested too deep")
			}
			dirs = append(dirs, h.Name)
		case 'C':
			if files++; files > maxSCPFiles {
				return fail("protocol error: too many files")
			}
			name := target // the target names the file itself
			if intoDir || len(dirs) > 0 {
				name = path.Join(append(append([]string{target}, dirs...), h.Name)...)
			}
			if !ack() {
				return 1
			}
			sum, size, stored, err := s.cn.s.rt.SaveArtifact(io.LimitReader(r, h.Size))
			if err != nil || size != h.Size {
				return 1
			}
			s.cn.c.Emit(event.FileUpload, map[string]string{
				"filename": service.Printable(name, 0), "size": itoa(size), "sha256": sum,
				"stored": strconv.FormatBool(stored), "via": "scp", "username": service.Printable(s.sc.User(), 0),
				"mode": fmt.Sprintf("%04o", h.Mode),
			}, "")
			// The source ends each file with a status byte.
			if b, err := r.ReadByte(); err != nil || b != 0 {
				return 1
			}
		}
		if !ack() {
			return 1
		}
	}
}

// readSCPLine reads one newline-terminated control line (bounded).
func readSCPLine(r *bufio.Reader) (string, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		return "", errors.New("SCP control line too long")
	}
	if err != nil {
		return string(line), err
	}
	return string(line[:len(line)-1]), nil
}

// resolveTarget makes an scp target absolute the way the remote shell would:
// relative to the home directory, with ~ expanded.
func resolveTarget(t, home string) string {
	switch {
	case t == "" || t == "." || t == "~":
		return home + "/"
	case strings.HasPrefix(t, "~/"):
		t = home + t[1:]
	case !strings.HasPrefix(t, "/"):
		t = home + "/" + t
	}
	return t
}

// isFakeDir reports whether an scp target names a directory of the emulated
// machine (so an uploaded file lands inside it).
func isFakeDir(p string) bool {
	if strings.HasSuffix(p, "/") {
		return true
	}
	switch path.Clean(p) {
	case "/", "/tmp", "/var/tmp", "/dev/shm", "/root", "/home", "/etc", "/opt", "/usr/bin",
		"/usr/local/bin", "/bin", "/var", "/run":
		return true
	}
	return strings.HasPrefix(path.Clean(p), "/home/") && strings.Count(path.Clean(p), "/") == 2
}
