package collector

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
	"time"

	"github.com/docker/docker/api/types/container"
	"github.com/docker/docker/pkg/stdcopy"
	"github.com/google/uuid"

	"decnet/internal/compose"
	"decnet/internal/event"
	"decnet/internal/spool"
)

// WireHostnameField is the field that keeps a line's HOSTNAME when it differs from the
// decky label of the container that printed it.
const WireHostnameField = "wire_hostname"

// legacyNamespace derives the event IDs of lines that carry none.
var legacyNamespace = uuid.MustParse("5d6c2b1e-2f8e-4c59-9d0b-0c6f3c1e9a41")

// item is what a stream hands to the committer: a record to spool, a line to
// quarantine, or nothing (a line already spooled), with the container's cursor after it.
type item struct {
	id  string
	pos Position
	rec *spool.Record
	q   *QuarantineEntry
}

// read opens the container's log at *pos and hands every new line to the committer
// until the stream ends (follow: the container stops; otherwise: the end of the log).
// It returns how many new lines it read.
func (c *Collector) read(ctx context.Context, id string, info *container.InspectResponse, pos *Position, follow bool) (int, error) {
	rc, err := c.cli.ContainerLogs(ctx, id, container.LogsOptions{
		ShowStdout: true, Timestamps: true, Follow: follow, Since: pos.since(),
	})
	if err != nil {
		return 0, fmt.Errorf("cannot open the log of container %s: %w", short(id), err)
	}
	defer rc.Close()

	var labels map[string]string
	tty := false
	if info.Config != nil {
		labels, tty = info.Config.Labels, info.Config.Tty
	}
	name := ""
	if info.ContainerJSONBase != nil {
		name = strings.TrimPrefix(info.Name, "/")
	}
	sk := newSkipper(*pos)
	n := 0
	emit := func(l *line) error {
		if !sk.admit(l.ts) {
			c.st.replayed.Add(1)
			return nil
		}
		*pos = sk.pos
		n++
		c.st.lines.Add(1)
		it := c.makeItem(id, name, labels, l, sk.pos)
		select {
		case c.out <- it:
			return nil
		case <-ctx.Done():
			return ctx.Err()
		}
	}
	asm := newAssembler(MaxLineBytes, emit)
	if tty {
		err = readRaw(rc, asm)
	} else {
		_, err = stdcopy.StdCopy(asm, io.Discard, rc)
	}
	if err == nil && !follow {
		// The container has stopped: a last line without "\n" will never complete.
		err = asm.flush()
	}
	if err != nil && ctx.Err() == nil {
		return n, fmt.Errorf("reading the log of container %s: %w", short(id), err)
	}
	return n, nil
}

// readRaw feeds a TTY container's unframed log (one "<ts> <content>\n" per line) to
// the assembler in bounded chunks.
func readRaw(r io.Reader, asm *assembler) error {
	br := bufio.NewReaderSize(r, 64<<10)
	start := true
	for {
		chunk, err := br.ReadSlice('\n')
		if len(chunk) > 0 {
			var ferr error
			if start {
				ferr = asm.frame(chunk)
			} else {
				ferr = asm.cont(chunk)
			}
			if ferr != nil {
				return ferr
			}
			start = chunk[len(chunk)-1] == '\n'
		}
		switch {
		case err == nil, errors.Is(err, bufio.ErrBufferFull):
		case errors.Is(err, io.EOF):
			return nil
		default:
			return err
		}
	}
}

// makeItem parses one new line into a spool record or a quarantine entry.
func (c *Collector) makeItem(id, name string, labels map[string]string, l *line, pos Position) item {
	it := item{id: id, pos: pos}
	decky := labels[compose.LabelDecky]
	quarantine := func(why string) item {
		c.st.quarantined.Add(1)
		it.q = newQuarantineEntry(id, name, decky, l, why)
		return it
	}
	switch {
	case l.dropped > 0:
		c.st.overlong.Add(1)
		return quarantine(fmt.Sprintf("line is longer than %d bytes: its first %d bytes are kept, %d were dropped",
			MaxLineBytes, len(l.data), l.dropped))
	case l.badTS:
		return quarantine("Docker log message without a timestamp")
	}
	ev, err := event.Parse(l.data)
	if err != nil {
		return quarantine(err.Error())
	}
	if ev.ID == "" {
		ord := 0
		if pos.TS.Equal(l.ts) {
			ord = pos.N
		}
		key := id + "\x00" + l.ts.UTC().Format(time.RFC3339Nano) + "\x00" + strconv.Itoa(ord) + "\x00" + string(l.data)
		ev.ID = uuid.NewSHA1(legacyNamespace, []byte(key)).String()
	}
	if decky != "" && ev.Decky != decky {
		c.st.mismatched.Add(1)
		ev.Fields[WireHostnameField] = ev.Decky
		ev.Decky = decky
	}
	c.st.events.Add(1)
	it.rec = &spool.Record{Event: ev, RawLine: string(l.data)}
	return it
}
