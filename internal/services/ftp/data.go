package ftp

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"decnet/internal/event"
)

// parseCommand splits a command line into its verb (upper-cased, at most 16 bytes)
// and argument (the rest after one space, verbatim).
func parseCommand(line string) (verb, arg string) {
	verb, arg, _ = strings.Cut(line, " ")
	verb = strings.ToUpper(strings.TrimSpace(verb))
	if len(verb) > 16 {
		verb = verb[:16]
	}
	return verb, arg
}

// parsePort decodes a PORT argument "h1,h2,h3,h4,p1,p2".
func parsePort(arg string) (netip.AddrPort, bool) {
	parts := strings.Split(strings.TrimSpace(arg), ",")
	if len(parts) != 6 {
		return netip.AddrPort{}, false
	}
	var b [6]byte
	for i, p := range parts {
		n, err := strconv.Atoi(strings.TrimSpace(p))
		if err != nil || n < 0 || n > 255 {
			return netip.AddrPort{}, false
		}
		b[i] = byte(n)
	}
	return netip.AddrPortFrom(netip.AddrFrom4([4]byte{b[0], b[1], b[2], b[3]}), uint16(b[4])<<8|uint16(b[5])), true
}

// parseEPRT decodes an EPRT argument "|1|132.235.1.2|6275|" (RFC 2428).
func parseEPRT(arg string) (netip.AddrPort, bool) {
	arg = strings.TrimSpace(arg)
	if len(arg) < 2 {
		return netip.AddrPort{}, false
	}
	d := arg[:1]
	fields := strings.Split(arg, d)
	if len(fields) != 5 || fields[0] != "" || fields[4] != "" {
		return netip.AddrPort{}, false
	}
	ip, err := netip.ParseAddr(fields[2])
	if err != nil || (fields[1] == "1" && !ip.Is4()) || (fields[1] == "2" && !ip.Is6()) || (fields[1] != "1" && fields[1] != "2") {
		return netip.AddrPort{}, false
	}
	port, err := strconv.ParseUint(fields[3], 10, 16)
	if err != nil || port == 0 {
		return netip.AddrPort{}, false
	}
	return netip.AddrPortFrom(ip, uint16(port)), true
}

// cmdPort records an active-mode request. The decky never connects out (that would
// let an attacker aim it at any host: FTP bounce), so the transfer that follows fails
// with the server's own "cannot connect" reply.
func (ss *session) cmdPort(verb, arg string) bool {
	var ap netip.AddrPort
	var ok bool
	if verb == "PORT" {
		ap, ok = parsePort(arg)
	} else {
		ap, ok = parseEPRT(arg)
	}
	if !ok {
		return ss.reply(ss.fl.portBad)
	}
	ss.closePasv()
	ss.active = true
	ss.c.Emit(event.Request, map[string]string{"kind": "active_mode", "method": verb, "dest_host": ap.Addr().String(), "dest_port": strconv.Itoa(int(ap.Port()))}, "")
	if verb == "EPRT" {
		return ss.reply("200 EPRT command successful. Consider using EPSV.\r\n")
	}
	return ss.reply(ss.fl.portOK)
}

// cmdPasv opens a passive listener on the control connection's local address.
func (ss *session) cmdPasv(extended bool, arg string) bool {
	if extended && strings.EqualFold(strings.TrimSpace(arg), "ALL") {
		return ss.reply("200 EPSV ALL ok.\r\n")
	}
	ss.closePasv()
	ss.active = false
	local, _ := netip.ParseAddrPort(ss.c.LocalAddr().String())
	ip := local.Addr().Unmap()
	if !extended && !ip.Is4() {
		return ss.reply("500 Illegal PASV command.\r\n")
	}
	l, err := net.Listen("tcp", net.JoinHostPort(ip.String(), "0"))
	if err != nil {
		ss.s.rt.Log.Warn("passive listener failed", "err", err)
		return ss.reply("500 OOPS: could not bind listening socket\r\n")
	}
	ss.pasv = l
	port := l.Addr().(*net.TCPAddr).Port
	if extended {
		return ss.reply(fmt.Sprintf(ss.fl.epsvOK, port))
	}
	a := ip.As4()
	return ss.reply(fmt.Sprintf(ss.fl.pasvOK, a[0], a[1], a[2], a[3], port>>8, port&0xff))
}

func (ss *session) closePasv() {
	if ss.pasv != nil {
		ss.pasv.Close()
		ss.pasv = nil
	}
}

// openData waits for the client's data connection on the passive listener. Only a
// connection from the control connection's address is taken (vsftpd's
// pasv_promiscuous=NO). On failure the reply has been sent.
func (ss *session) openData() (net.Conn, bool) {
	if ss.pasv == nil {
		if ss.active {
			ss.active = false
			ss.reply(ss.fl.dataFail)
		} else {
			ss.reply(ss.fl.noData)
		}
		return nil, false
	}
	l := ss.pasv
	ss.pasv = nil
	defer l.Close()
	// A pending accept must not outlive the service.
	defer context.AfterFunc(ss.ctx, func() { l.Close() })()
	if tl, ok := l.(*net.TCPListener); ok {
		_ = tl.SetDeadline(time.Now().Add(dataAcceptTimeout))
	}
	for stray := 0; stray <= maxStrayData; stray++ {
		c, err := l.Accept()
		if err != nil {
			ss.reply(ss.fl.dataFail)
			return nil, false
		}
		peer, _ := netip.ParseAddrPort(c.RemoteAddr().String())
		if peer.Addr().Unmap() != ss.c.Peer.Addr().Unmap() {
			c.Close()
			ss.c.Emit(event.Request, map[string]string{"kind": "data_connection_refused", "from": peer.Addr().Unmap().String()}, "")
			continue
		}
		_ = c.SetDeadline(time.Now().Add(ss.s.rt.Limits.MaxSession))
		return c, true
	}
	ss.reply(ss.fl.dataFail)
	return nil, false
}

// idleReader reads from a data connection with an idle deadline per read.
type idleReader struct{ c net.Conn }

func (r idleReader) Read(p []byte) (int, error) {
	_ = r.c.SetReadDeadline(time.Now().Add(dataIdleTimeout))
	return r.c.Read(p)
}
