package syslogfwd

import (
	"bufio"
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/spool"
	"decnet/internal/testenv"
)

// pki writes a CA, a server certificate for 127.0.0.1 and a client certificate.
type pki struct {
	dir, ca, cert, key, clientCert, clientKey string
	serverFP                                  string
}

func newPKI(t *testing.T) *pki {
	t.Helper()
	dir := t.TempDir()
	p := &pki{dir: dir, ca: filepath.Join(dir, "ca.pem"), cert: filepath.Join(dir, "server.pem"), key: filepath.Join(dir, "server.key"),
		clientCert: filepath.Join(dir, "client.pem"), clientKey: filepath.Join(dir, "client.key")}
	caKey, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "dnt test CA"},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour), IsCA: true,
		BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, &caKey.PublicKey, caKey)
	if err != nil {
		t.Fatal(err)
	}
	caCert, _ := x509.ParseCertificate(caDER)
	writePEM(t, p.ca, "CERTIFICATE", caDER)
	leaf := func(serial int64, cn string, usage x509.ExtKeyUsage, certPath, keyPath string) []byte {
		k, _ := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		tmpl := &x509.Certificate{SerialNumber: big.NewInt(serial), Subject: pkix.Name{CommonName: cn},
			NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().Add(24 * time.Hour),
			KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{usage},
			IPAddresses: []net.IP{net.ParseIP("127.0.0.1")}, DNSNames: []string{"localhost"}}
		der, err := x509.CreateCertificate(rand.Reader, tmpl, caCert, &k.PublicKey, caKey)
		if err != nil {
			t.Fatal(err)
		}
		writePEM(t, certPath, "CERTIFICATE", der)
		kb, _ := x509.MarshalECPrivateKey(k)
		writePEM(t, keyPath, "EC PRIVATE KEY", kb)
		return der
	}
	der := leaf(2, "127.0.0.1", x509.ExtKeyUsageServerAuth, p.cert, p.key)
	sum := sha256.Sum256(der)
	p.serverFP = hex.EncodeToString(sum[:])
	leaf(3, "dnt-client", x509.ExtKeyUsageClientAuth, p.clientCert, p.clientKey)
	return p
}

func writePEM(t *testing.T, path, typ string, der []byte) {
	t.Helper()
	if err := os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: typ, Bytes: der}), 0o600); err != nil {
		t.Fatal(err)
	}
}

func freePort(t *testing.T, network string) int {
	t.Helper()
	if network == "udp" {
		c, err := net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		return c.LocalAddr().(*net.UDPAddr).Port
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	return l.Addr().(*net.TCPAddr).Port
}

// rsyslog is a real rsyslogd on loopback with UDP, TCP and TLS (gtls) inputs writing
// "%msgid%|%app-name%|%hostname%|%structured-data%" per message to out.
type rsyslog struct {
	t              *testing.T
	dir, conf, out string
	udp, tcp, tls  int
	cmd            *exec.Cmd
}

func newRsyslog(t *testing.T, p *pki) *rsyslog {
	t.Helper()
	testenv.RequireTool(t, "rsyslogd")
	if _, err := os.Stat("/usr/lib/x86_64-linux-gnu/rsyslog/lmnsd_gtls.so"); err != nil {
		if matches, _ := filepath.Glob("/usr/lib/*/rsyslog/lmnsd_gtls.so"); len(matches) == 0 {
			testenv.Missing(t, "rsyslog's gtls driver is not installed (Debian package rsyslog-gnutls)")
		}
	}
	r := &rsyslog{t: t, dir: t.TempDir(), udp: freePort(t, "udp"), tcp: freePort(t, "tcp"), tls: freePort(t, "tcp")}
	r.out = filepath.Join(r.dir, "out.log")
	r.conf = filepath.Join(r.dir, "rsyslog.conf")
	conf := fmt.Sprintf(`global(workDirectory=%[1]q maxMessageSize="64k"
  defaultNetstreamDriverCAFile=%[2]q defaultNetstreamDriverCertFile=%[3]q defaultNetstreamDriverKeyFile=%[4]q)
module(load="imudp")
module(load="imtcp" maxSessions="100")
template(name="dnt" type="string" string="%%msgid%%|%%app-name%%|%%hostname%%|%%structured-data%%\n")
ruleset(name="dnt") { action(type="omfile" file=%[5]q template="dnt") }
input(type="imudp" address="127.0.0.1" port="%[6]d" ruleset="dnt")
input(type="imtcp" address="127.0.0.1" port="%[7]d" ruleset="dnt")
input(type="imtcp" address="127.0.0.1" port="%[8]d" ruleset="dnt" streamDriver.name="gtls" streamDriver.mode="1" streamDriver.authMode="anon")
`, r.dir, p.ca, p.cert, p.key, r.out, r.udp, r.tcp, r.tls)
	if err := os.WriteFile(r.conf, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	if out, err := exec.Command("rsyslogd", "-N1", "-f", r.conf).CombinedOutput(); err != nil {
		t.Fatalf("rsyslogd rejects the test configuration: %v\n%s", err, out)
	}
	t.Cleanup(r.stop)
	return r
}

func (r *rsyslog) start() {
	r.t.Helper()
	r.cmd = exec.Command("rsyslogd", "-n", "-f", r.conf, "-i", filepath.Join(r.dir, "rsyslogd.pid"))
	r.cmd.Stdout, r.cmd.Stderr = os.Stderr, os.Stderr
	if err := r.cmd.Start(); err != nil {
		r.t.Fatalf("start rsyslogd: %v", err)
	}
	deadline := time.Now().Add(15 * time.Second)
	for _, port := range []int{r.tcp, r.tls} {
		for {
			c, err := net.DialTimeout("tcp", fmt.Sprintf("127.0.0.1:%d", port), time.Second)
			if err == nil {
				c.Close()
				break
			}
			if time.Now().After(deadline) {
				r.t.Fatalf("rsyslogd does not listen on %d", port)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
}

func (r *rsyslog) stop() {
	if r.cmd == nil {
		return
	}
	r.cmd.Process.Signal(syscall.SIGTERM)
	done := make(chan struct{})
	go func() { r.cmd.Wait(); close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		r.cmd.Process.Kill()
		<-done
	}
	r.cmd = nil
}

// lines returns the output lines rsyslog wrote so far.
// lines returns rsyslog's complete output lines so far: a last line without its
// newline is one rsyslog is still writing (reading it as a whole line failed the
// full suite once, on a message cut mid-field).
func (r *rsyslog) lines() []string {
	b, err := os.ReadFile(r.out)
	if err != nil {
		return nil
	}
	end := bytes.LastIndexByte(b, '\n')
	if end < 0 {
		return nil
	}
	return strings.Split(string(b[:end]), "\n")
}

// testEvent is event i of a run, with values rsyslog must keep as sent.
func testEvent(run string, i int) event.Event {
	return event.Event{ID: fmt.Sprintf("%s-%05d", run, i), Time: time.Now().UTC(), Decky: "decky-" + run, Service: "ssh",
		Type: event.Auth, AttackerIP: "192.0.2.1", AttackerPort: 1000 + i,
		Fields: map[string]string{"username": "ro\"ot", "password": "a]b\\c", "n": fmt.Sprint(i)}}
}

// expected is rsyslog's template output for e: MSGID|APP-NAME|HOSTNAME|SD.
func expected(t *testing.T, e event.Event) string {
	e.Msg = ""
	line, err := event.Format(e)
	if err != nil {
		t.Fatal(err)
	}
	_, sd, ok := strings.Cut(string(line), " - "+e.Type+" ")
	if !ok {
		t.Fatalf("cannot find the SD in %s", line)
	}
	return e.Type + "|" + e.Service + "|" + e.Decky + "|" + sd
}

func appendEvents(t *testing.T, w *spool.Writer, run string, from, to int) {
	t.Helper()
	for i := from; i < to; i++ {
		e := testEvent(run, i)
		e.Msg = "free text"
		line, _ := event.Format(e)
		if _, err := w.Append(&spool.Record{Event: e, RawLine: string(line)}); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Sync(); err != nil {
		t.Fatal(err)
	}
}

// waitAll waits until rsyslog has written every event of run in [0,n), each matching
// what was sent; it returns how many lines of run it holds (resends included).
func waitAll(t *testing.T, r *rsyslog, run string, n int, d time.Duration) int {
	t.Helper()
	want := map[string]string{}
	for i := 0; i < n; i++ {
		e := testEvent(run, i)
		want[fmt.Sprintf(`event_id="%s"`, e.ID)] = expected(t, e)
	}
	deadline := time.Now().Add(d)
	for {
		got, total := 0, 0
		seen := map[string]bool{}
		for _, l := range r.lines() {
			if !strings.Contains(l, "|decky-"+run+"|") {
				continue
			}
			total++
			id := l[strings.Index(l, `event_id="`):]
			id = id[:strings.Index(id[len(`event_id="`):], `"`)+len(`event_id="`)+1]
			w, ok := want[id]
			if !ok {
				t.Fatalf("rsyslog got an event that was not sent: %s", l)
			}
			// The timestamp is not in the template; the rest must match exactly.
			if l != w {
				t.Fatalf("rsyslog parsed\n  %s\nwe sent\n  %s", l, w)
			}
			if !seen[id] {
				seen[id] = true
				got++
			}
		}
		if got == n {
			return total
		}
		if time.Now().After(deadline) {
			t.Fatalf("rsyslog has %d of %d events of run %s", got, n, run)
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func runForwarder(t *testing.T, target, spoolDir, cursor string) (*Forwarder, func()) {
	t.Helper()
	f, err := New(target, Options{})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, spoolDir, cursor) }()
	return f, func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("forwarder: %v", err)
		}
	}
}

func TestForwardToRsyslog(t *testing.T) {
	p := newPKI(t)
	r := newRsyslog(t, p)
	r.start()
	targets := []struct{ run, target string }{
		{"udp", fmt.Sprintf("127.0.0.1:%d", r.udp)},
		{"tcp", fmt.Sprintf("tcp://127.0.0.1:%d", r.tcp)},
		{"tlsca", fmt.Sprintf("tls://127.0.0.1:%d?ca=%s", r.tls, p.ca)},
		{"tlspin", fmt.Sprintf("tls://127.0.0.1:%d?fingerprint=%s", r.tls, p.serverFP)},
	}
	for _, tc := range targets {
		t.Run(tc.run, func(t *testing.T) {
			dir := t.TempDir()
			w, err := spool.OpenWriter(filepath.Join(dir, "spool"), 0)
			if err != nil {
				t.Fatal(err)
			}
			defer w.Close()
			appendEvents(t, w, tc.run, 0, 200)
			f, stop := runForwarder(t, tc.target, filepath.Join(dir, "spool"), filepath.Join(dir, "cursor"))
			waitAll(t, r, tc.run, 200, 20*time.Second)
			stop()
			// The cursor covers everything: a new forwarder sends nothing again.
			c, err := LoadCursor(filepath.Join(dir, "cursor"))
			if err != nil || c.Offset == 0 {
				t.Fatalf("cursor %v %v", c, err)
			}
			if st := f.Stats(); st.Confirmed != 200 {
				t.Fatalf("stats %+v", st)
			}
			f2, stop2 := runForwarder(t, tc.target, filepath.Join(dir, "spool"), filepath.Join(dir, "cursor"))
			time.Sleep(500 * time.Millisecond)
			stop2()
			if st := f2.Stats(); st.Sent != 0 {
				t.Fatalf("a restarted forwarder sent %d messages again", st.Sent)
			}
		})
	}
}

func TestForwardWrongPinIsRefused(t *testing.T) {
	p := newPKI(t)
	r := newRsyslog(t, p)
	r.start()
	dir := t.TempDir()
	w, _ := spool.OpenWriter(filepath.Join(dir, "spool"), 0)
	defer w.Close()
	appendEvents(t, w, "badpin", 0, 5)
	other := newPKI(t) // a CA that did not sign rsyslog's certificate
	for _, target := range []string{
		fmt.Sprintf("tls://127.0.0.1:%d?fingerprint=%s", r.tls, strings.Repeat("00", 32)),
		fmt.Sprintf("tls://127.0.0.1:%d?ca=%s", r.tls, other.ca),
	} {
		f, stop := runForwarder(t, target, filepath.Join(dir, "spool"), filepath.Join(dir, "cursor"))
		time.Sleep(time.Second)
		stop()
		if st := f.Stats(); st.Sent != 0 || st.Errors == 0 {
			t.Fatalf("%s: stats %+v", target, st)
		}
	}
	for _, l := range r.lines() {
		if strings.Contains(l, "decky-badpin") {
			t.Fatalf("rsyslog got an event over an unverified connection: %s", l)
		}
	}
}

// TestForwardTargetDownThenUp: events spooled while rsyslog is down, and while it is
// stopped mid-stream, all arrive over TCP and TLS once it is back (at least once).
func TestForwardTargetDownThenUp(t *testing.T) {
	p := newPKI(t)
	for _, proto := range []string{"tcp", "tls"} {
		t.Run(proto, func(t *testing.T) {
			r := newRsyslog(t, p)
			target := fmt.Sprintf("tcp://127.0.0.1:%d", r.tcp)
			if proto == "tls" {
				target = fmt.Sprintf("tls://127.0.0.1:%d?ca=%s", r.tls, p.ca)
			}
			run := "down" + proto
			dir := t.TempDir()
			w, _ := spool.OpenWriter(filepath.Join(dir, "spool"), 0)
			defer w.Close()
			_, stop := runForwarder(t, target, filepath.Join(dir, "spool"), filepath.Join(dir, "cursor"))
			defer stop()
			appendEvents(t, w, run, 0, 300) // target down
			time.Sleep(700 * time.Millisecond)
			r.start()
			waitAll(t, r, run, 300, 30*time.Second)
			// Stop the receiver while events keep coming, then bring it back.
			done := make(chan struct{})
			go func() {
				defer close(done)
				for i := 300; i < 3000; i += 100 {
					appendEvents(t, w, run, i, i+100)
					time.Sleep(20 * time.Millisecond)
				}
			}()
			time.Sleep(150 * time.Millisecond)
			r.stop()
			time.Sleep(500 * time.Millisecond)
			r.start()
			<-done
			total := waitAll(t, r, run, 3000, 60*time.Second)
			t.Logf("%s: 3000 events delivered (%d messages received, resends included)", proto, total)
		})
	}
}

// TestClientCertificate checks that a client certificate from cert=/key= is presented
// (a Go TLS server that requires one stands in for a receiver in x509 mode).
func TestClientCertificate(t *testing.T) {
	p := newPKI(t)
	srvCert, err := tls.LoadX509KeyPair(p.cert, p.key)
	if err != nil {
		t.Fatal(err)
	}
	caPEM, _ := os.ReadFile(p.ca)
	pool := x509.NewCertPool()
	pool.AppendCertsFromPEM(caPEM)
	l, err := tls.Listen("tcp", "127.0.0.1:0", &tls.Config{Certificates: []tls.Certificate{srvCert}, ClientCAs: pool, ClientAuth: tls.RequireAndVerifyClientCert})
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	got := make(chan string, 1)
	go func() {
		c, err := l.Accept()
		if err != nil {
			return
		}
		defer c.Close()
		br := bufio.NewReader(c)
		var n int
		if _, err := fmt.Fscanf(br, "%d ", &n); err != nil {
			got <- "bad frame: " + err.Error()
			return
		}
		b := make([]byte, n)
		if _, err := io.ReadFull(br, b); err != nil {
			got <- err.Error()
			return
		}
		got <- c.(*tls.Conn).ConnectionState().PeerCertificates[0].Subject.CommonName + " " + string(b)
	}()
	dir := t.TempDir()
	w, _ := spool.OpenWriter(filepath.Join(dir, "spool"), 0)
	defer w.Close()
	appendEvents(t, w, "cc", 0, 1)
	target := fmt.Sprintf("tls://%s?ca=%s&cert=%s&key=%s", l.Addr(), p.ca, p.clientCert, p.clientKey)
	_, stop := runForwarder(t, target, filepath.Join(dir, "spool"), filepath.Join(dir, "cursor"))
	defer stop()
	select {
	case s := <-got:
		if !strings.HasPrefix(s, "dnt-client <132>1 ") || !strings.Contains(s, `event_id="cc-00000"`) {
			t.Fatalf("server got %q", s)
		}
	case <-time.After(10 * time.Second):
		t.Fatal("no message over the mutually authenticated connection")
	}
}

// TestForwardBoundedBacklog: while the target is down the forwarder holds at most
// MaxBuffer bytes of spool; past it the oldest segments are given up and counted,
// and once the target is back exactly the newer events arrive, none twice.
func TestForwardBoundedBacklog(t *testing.T) {
	p := newPKI(t)
	r := newRsyslog(t, p)
	const run, n, maxBuf = "bounded", 400, 16 << 10
	dir := t.TempDir()
	spoolDir := filepath.Join(dir, "spool")
	w, err := spool.OpenWriter(spoolDir, 4<<10) // ~4 KiB segments
	if err != nil {
		t.Fatal(err)
	}
	defer w.Close()
	appendEvents(t, w, run, 0, n) // the target is down
	f, err := New(fmt.Sprintf("tcp://127.0.0.1:%d", r.tcp), Options{MaxBuffer: maxBuf})
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- f.Run(ctx, spoolDir, filepath.Join(dir, "cursor")) }()
	deadline := time.Now().Add(10 * time.Second)
	for f.Stats().Dropped == 0 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	dropped := int(f.Stats().Dropped)
	if dropped == 0 || dropped >= n {
		t.Fatalf("dropped %d of %d events with a %d-byte bound", dropped, n, maxBuf)
	}
	// What is still held fits the bound.
	c, err := LoadCursor(filepath.Join(dir, "cursor"))
	if err != nil {
		t.Fatal(err)
	}
	seqs, _ := spool.Segments(spoolDir)
	var held int64
	for _, s := range seqs {
		if s >= c.Seq {
			fi, _ := os.Stat(filepath.Join(spoolDir, spool.SegmentName(s)))
			held += fi.Size()
		}
	}
	if held > maxBuf {
		t.Fatalf("the forwarder still holds %d bytes, over its %d-byte bound", held, maxBuf)
	}
	r.start()
	want := map[int]bool{}
	for i := dropped; i < n; i++ {
		want[i] = true
	}
	for {
		got := map[int]bool{}
		for _, l := range r.lines() {
			if !strings.Contains(l, "|decky-"+run+"|") {
				continue
			}
			var i int
			if _, err := fmt.Sscanf(l[strings.Index(l, ` n="`)+4:], "%d", &i); err != nil {
				t.Fatalf("cannot read n in %s", l)
			}
			if !want[i] {
				t.Fatalf("event %d arrived although it was counted as dropped (%d dropped)", i, dropped)
			}
			got[i] = true
		}
		if len(got) == len(want) {
			break
		}
		if time.Now().After(deadline.Add(20 * time.Second)) {
			t.Fatalf("rsyslog has %d of the %d events kept", len(got), len(want))
		}
		time.Sleep(100 * time.Millisecond)
	}
	cancel()
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	t.Logf("bound %d bytes: %d oldest of %d events given up while the target was down, the other %d delivered", maxBuf, dropped, n, n-dropped)
}
