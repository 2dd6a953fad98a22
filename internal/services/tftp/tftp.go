package tftp

import (
	"context"
	"encoding/base64"
	"encoding/binary"
	"errors"
	"io"
	"net"
	"net/netip"
	"path"
	"strconv"
	"strings"
	"sync"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
)

const (
	defaultBlksize = 512
	maxBlksize     = 65464 // RFC 2348's largest, tftpd-hpa's too
	rexmt          = time.Second
	maxRetries     = 5
	maxTransfers   = 64
	maxPerSource   = 8
)

// server is one decky's TFTP server.
type server struct {
	rt          *service.Runtime
	files       map[string][]byte
	allowUpload bool
	local       string // address transfer sockets bind ("host:0")

	mu     sync.Mutex
	active int
	perSrc map[netip.Addr]int
	wg     sync.WaitGroup
}

func run(ctx context.Context, rt *service.Runtime) error {
	s := newServer(rt)
	defer s.wg.Wait()
	return rt.ServeUDP(ctx, Port, func(ctx context.Context, p *service.Packet) { s.request(ctx, p.Peer, p.Data) })
}

func newServer(rt *service.Runtime) *server {
	s := &server{rt: rt, files: map[string][]byte{}, allowUpload: rt.PersonaBool(KeyAllowUpload, true), perSrc: map[netip.Addr]int{}}
	names := rt.PersonaList(KeyFiles)
	if _, set := rt.Config.Persona[KeyFiles]; !set || len(names) == 0 {
		fam := rt.Config.OSFamily
		if fam == "" {
			fam = rt.Distro.OSFamily
		}
		names = defaultFiles(fam)
	}
	for _, n := range names {
		if b, ok := baits[n]; ok {
			s.files[n] = []byte(b(rt))
		}
	}
	// Transfers answer from the address the server port is bound to (tftpd-hpa
	// binds its reply socket to the request's local address) on a new port.
	s.local = ":0"
	if a, ok := rt.Bind[Port]; ok {
		if host, _, err := net.SplitHostPort(a); err == nil {
			s.local = net.JoinHostPort(host, "0")
		}
	}
	return s
}

// request handles one datagram on port 69.
func (s *server) request(ctx context.Context, peer netip.AddrPort, data []byte) {
	req, err := parseRequest(data)
	if err != nil {
		// tftpd-hpa ignores anything but RRQ/WRQ on its port.
		f := map[string]string{"outcome": "malformed", "error": service.Printable(err.Error(), 200)}
		f["data_b64"] = b64(data[:min(len(data), 512)])
		s.rt.Emit(event.Request, peer, f, "")
		return
	}
	f := s.fields(req)
	if !s.admit(peer.Addr()) {
		f["outcome"] = "refused"
		f["reason"] = "transfer limit"
		s.rt.Emit(event.Request, peer, f, "")
		return
	}
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		defer s.release(peer.Addr())
		defer func() {
			if r := recover(); r != nil {
				s.rt.Log.Error("tftp transfer panic", "peer", peer.String(), "panic", r)
				s.rt.Emit(event.Error, peer, map[string]string{"error": "internal error"}, "")
			}
		}()
		s.transfer(ctx, peer, req, f)
	}()
}

func (s *server) fields(req *request) map[string]string {
	f := map[string]string{"opcode": "rrq", "mode": service.Printable(req.mode, 32)}
	if req.op == opWRQ {
		f["opcode"] = "wrq"
	}
	service.SetPrintable(f, "filename", req.filename)
	if len(req.options) > 0 {
		var opts []string
		for _, o := range req.options {
			opts = append(opts, o[0]+"="+o[1])
		}
		service.SetPrintableLimit(f, "options", strings.Join(opts, ","), 1024)
	}
	return f
}

func (s *server) admit(src netip.Addr) bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.active >= maxTransfers || s.perSrc[src] >= maxPerSource {
		return false
	}
	s.active++
	s.perSrc[src]++
	return true
}

func (s *server) release(src netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.active--
	if s.perSrc[src]--; s.perSrc[src] <= 0 {
		delete(s.perSrc, src)
	}
}

// session is one transfer's socket, bound to a new port, talking to one peer.
type session struct {
	conn    *net.UDPConn
	peer    netip.AddrPort
	timeout time.Duration
	end     time.Time
	buf     []byte
}

func (c *session) send(b []byte) error {
	_, err := c.conn.WriteToUDPAddrPort(b, c.peer)
	return err
}

var errTimeout = errors.New("transfer timed out")

// await sends pkt (when not nil) and waits for a packet from the peer that accept
// takes, retransmitting on timeout; packets from other ports get "Unknown transfer
// ID". It returns the accepted packet.
func (c *session) await(pkt []byte, accept func([]byte) bool) ([]byte, error) {
	for try := 0; try <= maxRetries; try++ {
		if pkt != nil {
			if err := c.send(pkt); err != nil {
				return nil, err
			}
		}
		deadline := time.Now().Add(c.timeout)
		if deadline.After(c.end) {
			deadline = c.end
		}
		c.conn.SetReadDeadline(deadline)
		for {
			n, from, err := c.conn.ReadFromUDPAddrPort(c.buf)
			if err != nil {
				var ne net.Error
				if errors.As(err, &ne) && ne.Timeout() {
					if time.Now().After(c.end) {
						return nil, errTimeout
					}
					break // retransmit
				}
				return nil, err
			}
			from = netip.AddrPortFrom(from.Addr().Unmap(), from.Port())
			if from != c.peer {
				c.conn.WriteToUDPAddrPort(errorPacket(errBadID, ""), from)
				continue
			}
			b := c.buf[:n]
			if len(b) >= 4 && binary.BigEndian.Uint16(b) == opERROR {
				return b, nil
			}
			if accept(b) {
				return b, nil
			}
			// a duplicate or stale packet: keep waiting without resending
		}
	}
	return nil, errTimeout
}

// negotiate applies the options tftpd-hpa supports and returns the OACK options.
func negotiate(req *request, size int64, blksize *int, timeout *time.Duration) [][2]string {
	var oack [][2]string
	for _, o := range req.options {
		switch o[0] {
		case "blksize":
			n, err := strconv.Atoi(o[1])
			if err != nil || n < 8 {
				continue
			}
			n = min(n, maxBlksize)
			*blksize = n
			oack = append(oack, [2]string{"blksize", strconv.Itoa(n)})
		case "tsize":
			if req.op == opRRQ {
				oack = append(oack, [2]string{"tsize", strconv.FormatInt(size, 10)})
			} else if n, err := strconv.ParseInt(o[1], 10, 64); err == nil && n >= 0 {
				oack = append(oack, [2]string{"tsize", o[1]})
			}
		case "timeout":
			n, err := strconv.Atoi(o[1])
			if err != nil || n < 1 || n > 255 {
				continue
			}
			*timeout = time.Duration(n) * time.Second
			oack = append(oack, [2]string{"timeout", strconv.Itoa(n)})
		}
	}
	return oack
}

// clean resolves a requested name inside the TFTP root as tftpd-hpa -s does: a
// leading slash is the root; names climbing out of it are refused.
func clean(name string) (string, bool) {
	for _, seg := range strings.Split(name, "/") {
		if seg == ".." {
			return "", false
		}
	}
	return strings.TrimPrefix(path.Clean("/"+name), "/"), true
}

func (s *server) transfer(ctx context.Context, peer netip.AddrPort, req *request, f map[string]string) {
	laddr, err := net.ResolveUDPAddr("udp", s.local)
	if err != nil {
		s.rt.Log.Error("tftp transfer address", "err", err)
		return
	}
	conn, err := net.ListenUDP("udp", laddr)
	if err != nil {
		s.rt.Log.Error("tftp transfer socket", "err", err)
		f["outcome"], f["error"] = "error", "no transfer socket"
		s.rt.Emit(event.Request, peer, f, "")
		return
	}
	defer conn.Close()
	defer context.AfterFunc(ctx, func() { conn.Close() })()
	c := &session{conn: conn, peer: peer, timeout: rexmt, end: time.Now().Add(s.rt.Limits.MaxSession)}
	if req.mode != "octet" && req.mode != "netascii" {
		c.send(errorPacket(errBadOp, ""))
		f["outcome"] = "bad_mode"
		s.rt.Emit(event.Request, peer, f, "")
		return
	}
	if req.op == opRRQ {
		s.read(c, req, f)
	} else {
		s.write(c, req, f)
	}
}

// read serves an RRQ.
func (s *server) read(c *session, req *request, f map[string]string) {
	name, ok := clean(req.filename)
	if !ok {
		c.send(errorPacket(errAccess, ""))
		f["outcome"] = "access_violation"
		s.rt.Emit(event.Request, c.peer, f, "")
		return
	}
	content, found := s.files[name]
	if !found {
		c.send(errorPacket(errNotFound, ""))
		f["outcome"] = "not_found"
		s.rt.Emit(event.Request, c.peer, f, "")
		return
	}
	if req.mode == "netascii" {
		content = toNetascii(content)
	}
	blksize := defaultBlksize
	oack := negotiate(req, int64(len(content)), &blksize, &c.timeout)
	c.buf = make([]byte, 4+maxBlksize)
	ackOf := func(block uint16) func([]byte) bool {
		return func(b []byte) bool {
			return len(b) >= 4 && binary.BigEndian.Uint16(b) == opACK && binary.BigEndian.Uint16(b[2:]) == block
		}
	}
	f["bait"] = name
	if len(oack) > 0 {
		b, err := c.await(oackPacket(oack), ackOf(0))
		if err != nil || binary.BigEndian.Uint16(b) == opERROR {
			f["outcome"] = "aborted"
			s.rt.Emit(event.Request, c.peer, f, "")
			return
		}
	}
	sent := 0
	for block := uint16(1); ; block++ {
		chunk := content[sent:min(sent+blksize, len(content))]
		b, err := c.await(dataPacket(block, chunk), ackOf(block))
		if err != nil || binary.BigEndian.Uint16(b) == opERROR {
			f["outcome"], f["bytes"] = "aborted", strconv.Itoa(sent)
			s.rt.Emit(event.Request, c.peer, f, "")
			return
		}
		sent += len(chunk)
		if len(chunk) < blksize {
			break
		}
	}
	f["outcome"], f["bytes"] = "sent", strconv.Itoa(sent)
	s.rt.Emit(event.Request, c.peer, f, "")
}

// write receives a WRQ's file into an artifact.
func (s *server) write(c *session, req *request, f map[string]string) {
	if _, ok := clean(req.filename); !ok || !s.allowUpload {
		c.send(errorPacket(errAccess, ""))
		f["outcome"] = "access_violation"
		s.rt.Emit(event.Request, c.peer, f, "")
		return
	}
	blksize := defaultBlksize
	oack := negotiate(req, 0, &blksize, &c.timeout)
	c.buf = make([]byte, 4+maxBlksize)
	s.rt.Emit(event.Request, c.peer, f, "")

	pr, pw := io.Pipe()
	type saved struct {
		sum    string
		size   int64
		stored bool
		err    error
	}
	done := make(chan saved, 1)
	go func() {
		sum, size, stored, err := s.rt.SaveArtifact(pr)
		pr.CloseWithError(err)
		done <- saved{sum, size, stored, err}
	}()
	dec := &netasciiDecoder{}
	limit := s.rt.Limits.MaxArtifact
	var received int64
	outcome := "complete"
	first := ackPacket(0)
	if len(oack) > 0 {
		first = oackPacket(oack)
	}
	pkt := first
	dataOf := func(block uint16) func([]byte) bool {
		return func(b []byte) bool {
			return len(b) >= 4 && binary.BigEndian.Uint16(b) == opDATA && binary.BigEndian.Uint16(b[2:]) == block
		}
	}
	for block := uint16(1); ; block++ {
		b, err := c.await(pkt, dataOf(block))
		if err != nil || binary.BigEndian.Uint16(b) == opERROR {
			outcome = "aborted"
			break
		}
		payload := b[4:]
		if len(payload) > blksize {
			payload = payload[:blksize]
		}
		if received+int64(len(payload)) > limit {
			c.send(errorPacket(errDiskFull, ""))
			outcome = "too_large"
			pw.Write(payload[:limit-received])
			received = limit
			break
		}
		received += int64(len(payload))
		out := payload
		if req.mode == "netascii" {
			out = dec.decode(payload)
		}
		if _, err := pw.Write(out); err != nil {
			outcome = "aborted"
			break
		}
		pkt = ackPacket(block)
		if len(payload) < blksize {
			pw.Write(dec.flush())
			c.send(pkt) // the final ACK
			break
		}
	}
	pw.Close()
	r := <-done
	u := map[string]string{"filename": f["filename"], "mode": f["mode"], "sha256": r.sum,
		"size": strconv.FormatInt(r.size, 10), "stored": strconv.FormatBool(r.stored), "outcome": outcome}
	if v, ok := f["filename_b64"]; ok {
		u["filename_b64"] = v
	}
	s.rt.Emit(event.FileUpload, c.peer, u, "")
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }
