package dockerapi

import (
	"net"
	"os"
	"sync/atomic"
	"time"

	"decnet/internal/service"
)

// deadlineListener hands net/http connections whose read deadlines work.
// service.Conn ignores SetReadDeadline (the runtime owns read deadlines, and every
// Read sets the idle and session deadline itself), but net/http interrupts its
// background read by setting a deadline in the past and waits for that read to
// end whenever it hijacks a connection (attach, exec start) or finishes a
// request: without this the server would wait for the runtime's idle timeout.
type deadlineListener struct{ net.Listener }

func (l deadlineListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return &deadlineConn{Conn: c.(*service.Conn)}, nil
}

type deadlineConn struct {
	*service.Conn
	aborted atomic.Bool  // a deadline in the past is set: reads fail at once
	inRead  atomic.Int32 // reads in flight
}

func (c *deadlineConn) Read(p []byte) (int, error) {
	c.inRead.Add(1)
	defer c.inRead.Add(-1)
	if c.aborted.Load() {
		return 0, os.ErrDeadlineExceeded
	}
	return c.Conn.Read(p)
}

// SetReadDeadline honours a zero deadline (no interruption) and a past one (end
// the read in flight now, and fail reads until the deadline is cleared). A future
// deadline is left to the runtime's own, which every Read sets.
func (c *deadlineConn) SetReadDeadline(t time.Time) error {
	raw := c.Conn.Conn
	if t.IsZero() || t.After(time.Now()) {
		c.aborted.Store(false)
		return nil
	}
	c.aborted.Store(true)
	// A read in flight may have set the runtime's deadline just after ours:
	// keep setting ours until it has returned.
	for c.inRead.Load() > 0 {
		raw.SetReadDeadline(t)
		time.Sleep(time.Millisecond)
	}
	return raw.SetReadDeadline(t)
}

// SetDeadline sets the write deadline and, as SetReadDeadline does, the read one.
func (c *deadlineConn) SetDeadline(t time.Time) error {
	c.SetReadDeadline(t)
	return c.Conn.SetDeadline(t)
}
