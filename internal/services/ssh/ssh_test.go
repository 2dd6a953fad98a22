package ssh

import (
	"bufio"
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"io"
	"net"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/pkg/sftp"
	gossh "golang.org/x/crypto/ssh"

	"decnet/internal/event"
	"decnet/internal/fingerprint"
	"decnet/internal/service"
	"decnet/internal/service/servicetest"
)

const wait = 10 * time.Second

var (
	secretsOnce sync.Once
	secrets     map[string]string
	secretsErr  error
)

// testSecrets generates one set of host keys for the whole test binary (RSA-3072
// generation is slow); tests that need fresh keys call Secrets themselves.
func testSecrets(t testing.TB) map[string]string {
	t.Helper()
	secretsOnce.Do(func() { secrets, secretsErr = Secrets(service.Identity{Decky: "decky-test", Hostname: "testhost"}) })
	if secretsErr != nil {
		t.Fatal(secretsErr)
	}
	return secrets
}

func start(t *testing.T, distro string, persona map[string]string) *servicetest.Harness {
	t.Helper()
	return servicetest.Start(t, "ssh", service.Config{
		Distro:      distro,
		Hostname:    "web-01",
		IP:          "192.168.1.50",
		Persona:     persona,
		Secrets:     testSecrets(t),
		ArtifactDir: t.TempDir(),
	})
}

func clientConfig(user string, auth ...gossh.AuthMethod) *gossh.ClientConfig {
	return &gossh.ClientConfig{User: user, Auth: auth, HostKeyCallback: gossh.InsecureIgnoreHostKey(), Timeout: wait}
}

func dial(t *testing.T, h *servicetest.Harness, cfg *gossh.ClientConfig) (*gossh.Client, error) {
	t.Helper()
	c, err := gossh.Dial("tcp", h.Addr(22), cfg)
	if err == nil {
		t.Cleanup(func() { c.Close() })
	}
	return c, err
}

func login(t *testing.T, h *servicetest.Harness) *gossh.Client {
	t.Helper()
	c, err := dial(t, h, clientConfig("root", gossh.Password("123456")))
	if err != nil {
		t.Fatalf("login with a default weak password failed: %v", err)
	}
	return c
}

// readBanner returns the server's identification line.
func readBanner(t *testing.T, addr string) (string, net.Conn, *bufio.Reader) {
	t.Helper()
	c, err := net.DialTimeout("tcp", addr, wait)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(wait))
	r := bufio.NewReader(c)
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatal(err)
	}
	return line, c, r
}

// serverKexinit reads the server's KEXINIT after sending a client version.
func serverKexinit(t *testing.T, addr string) KexInit {
	t.Helper()
	_, c, r := readBanner(t, addr)
	if _, err := c.Write([]byte("SSH-2.0-OpenSSH_9.2p1\r\n")); err != nil {
		t.Fatal(err)
	}
	var hdr [5]byte
	if _, err := io.ReadFull(r, hdr[:]); err != nil {
		t.Fatal(err)
	}
	n := int(uint32(hdr[0])<<24 | uint32(hdr[1])<<16 | uint32(hdr[2])<<8 | uint32(hdr[3]))
	body := make([]byte, n-1)
	if _, err := io.ReadFull(r, body); err != nil {
		t.Fatal(err)
	}
	k, err := fingerprint.ParseKexinit(body[:n-1-int(hdr[4])])
	if err != nil {
		t.Fatal(err)
	}
	return k
}

func TestBannerAndAlgorithms(t *testing.T) {
	cases := []struct {
		distro, version  string
		kexPrefix        string
		hostKeys         string
		contains, absent []string
	}{
		{"ubuntu22", "", "curve25519-sha256,curve25519-sha256@libssh.org,ecdh-sha2-nistp256,",
			"rsa-sha2-256,rsa-sha2-512,ecdsa-sha2-nistp256,ssh-ed25519", nil, []string{"diffie-hellman-group1-sha1", "aes128-cbc"}},
		{"centos7", "", "curve25519-sha256,", "rsa-sha2-256,rsa-sha2-512,ssh-rsa,ecdsa-sha2-nistp256,ssh-ed25519",
			[]string{"diffie-hellman-group1-sha1", "aes128-cbc"}, nil},
		{"debian", "SSH-2.0-OpenSSH_9.9p1 Debian-1", "mlkem768x25519-sha256,curve25519-sha256,", "", nil, nil},
	}
	for _, c := range cases {
		t.Run(c.distro, func(t *testing.T) {
			var persona map[string]string
			if c.version != "" {
				persona = map[string]string{KeyVersion: c.version}
			}
			h := start(t, c.distro, persona)
			want := c.version
			if want == "" {
				want = h.RT.Distro.SSHVersion
			}
			if line, _, _ := readBanner(t, h.Addr(22)); line != want+"\r\n" {
				t.Fatalf("banner %q, want %q", line, want+"\r\n")
			}
			k := serverKexinit(t, h.Addr(22))
			if !strings.HasPrefix(k.KexAlgos, c.kexPrefix) {
				t.Errorf("kex %q does not start with %q", k.KexAlgos, c.kexPrefix)
			}
			if c.hostKeys != "" && k.ServerHostKeyAlgos != c.hostKeys {
				t.Errorf("host key algorithms %q, want %q", k.ServerHostKeyAlgos, c.hostKeys)
			}
			all := strings.Join([]string{k.KexAlgos, k.CiphersS2C, k.MACsS2C}, ",")
			for _, a := range c.contains {
				if !slices.Contains(strings.Split(all, ","), a) {
					t.Errorf("offer lacks %s: %s", a, all)
				}
			}
			for _, a := range c.absent {
				if slices.Contains(strings.Split(all, ","), a) {
					t.Errorf("offer has %s: %s", a, all)
				}
			}
		})
	}
}

func TestProfilesOnlyUseImplementedAlgorithms(t *testing.T) {
	sup, ins := gossh.SupportedAlgorithms(), gossh.InsecureAlgorithms()
	known := map[string]bool{"curve25519-sha256@libssh.org": true}
	for _, l := range [][]string{sup.KeyExchanges, sup.Ciphers, sup.MACs, sup.HostKeys, ins.KeyExchanges, ins.Ciphers, ins.MACs, ins.HostKeys} {
		for _, a := range l {
			known[a] = true
		}
	}
	for _, banner := range []string{"SSH-2.0-OpenSSH_7.4", "SSH-2.0-OpenSSH_8.2p1", "SSH-2.0-OpenSSH_8.7", "SSH-2.0-OpenSSH_8.9p1",
		"SSH-2.0-OpenSSH_9.9", "SSH-2.0-OpenSSH_for_Windows_8.1", "SSH-2.0-dropbear_2022.83"} {
		for _, distro := range []string{"ubuntu22", "centos7", "rocky9", "fedora"} {
			p := profileFor(banner, distro)
			for _, l := range [][]string{p.kex, p.ciphers, p.macs, p.rsa} {
				for _, a := range l {
					if !known[a] {
						t.Errorf("%s/%s (%s): %s is not implemented by x/crypto/ssh", banner, distro, p.name, a)
					}
				}
			}
		}
	}
	if p := profileFor("SSH-2.0-OpenSSH_7.4", "centos7"); !slices.Contains(p.rsa, gossh.KeyAlgoRSA) {
		t.Error("OpenSSH 7.4 must offer ssh-rsa signatures")
	}
	if p := profileFor("SSH-2.0-OpenSSH_8.9p1 Ubuntu-3ubuntu0.10", "ubuntu22"); slices.Contains(p.rsa, gossh.KeyAlgoRSA) {
		t.Error("OpenSSH 8.9 must not offer ssh-rsa signatures")
	}
}

func TestPersonaKeys(t *testing.T) {
	spec, ok := service.Lookup("ssh")
	if !ok {
		t.Fatal("ssh is not registered")
	}
	bad := map[string]string{
		KeyVersion:      "OpenSSH_9.2",
		KeyUsers:        "root",
		KeyMaxAuthTries: "0",
	}
	for k, v := range bad {
		if _, err := spec.ValidateKey(k, v); err == nil {
			t.Errorf("%s=%q accepted", k, v)
		}
	}
	if _, err := spec.ValidateKey(KeyVersion, "SSH-2.0-Open\x07SSH_8.9p1"); err == nil {
		t.Error("a version with a control character was accepted")
	}
	if _, err := spec.ValidateKey(KeyUsers, "root:toor, pi:raspberry"); err != nil {
		t.Error(err)
	}
}

func TestMissingHostKeyIsAnError(t *testing.T) {
	s := testSecrets(t)
	partial := map[string]string{SecretHostKeyRSA: s[SecretHostKeyRSA], SecretHostKeyECDSA: s[SecretHostKeyECDSA]}
	rt, err := service.NewRuntime(service.Config{Decky: "d", Distro: "ubuntu22", Service: "ssh", Secrets: partial})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := newServer(rt); err == nil || !strings.Contains(err.Error(), SecretHostKeyEd25519) {
		t.Fatalf("missing ed25519 key: err = %v", err)
	}
}

func TestHostKeysStableAndPerDecky(t *testing.T) {
	fp := func(h *servicetest.Harness, algo string) string {
		var got string
		cfg := clientConfig("root", gossh.Password("wrong"))
		cfg.HostKeyAlgorithms = []string{algo}
		cfg.HostKeyCallback = func(_ string, _ net.Addr, k gossh.PublicKey) error {
			got = gossh.FingerprintSHA256(k)
			return nil
		}
		dial(t, h, cfg)
		if got == "" {
			t.Fatalf("no %s host key seen", algo)
		}
		return got
	}
	a, b := start(t, "ubuntu22", nil), start(t, "ubuntu22", nil)
	for _, algo := range []string{gossh.KeyAlgoED25519, gossh.KeyAlgoECDSA256, gossh.KeyAlgoRSASHA256} {
		if fa, fb := fp(a, algo), fp(b, algo); fa != fb {
			t.Errorf("%s: same secrets, different host keys %s %s", algo, fa, fb)
		}
	}
	other, err := Secrets(service.Identity{Decky: "decky-2", Hostname: "db-02"})
	if err != nil {
		t.Fatal(err)
	}
	for name, v := range testSecrets(t) {
		if other[name] == v || other[name] == "" {
			t.Errorf("%s: two Secrets calls gave the same (or no) key", name)
		}
	}
}

func TestPasswordLoginAndExec(t *testing.T) {
	h := start(t, "ubuntu22", nil)
	if _, err := dial(t, h, clientConfig("root", gossh.Password("hunter2"))); err == nil {
		t.Fatal("a wrong password logged in")
	}
	e := h.Wait(t, wait, "failed auth", servicetest.Type(event.Auth, "username=root", "password=hunter2", "outcome=failure", "method=password"))
	if e.Fields["secret_b64"] != base64.StdEncoding.EncodeToString([]byte("hunter2")) || e.Fields["secret_kind"] != "plaintext" {
		t.Errorf("secret fields: %v", e.Fields)
	}
	if !strings.HasPrefix(e.Fields["client_version"], "SSH-2.0-Go") || len(e.Fields["hassh"]) != 32 || e.Fields["hassh_algorithms"] == "" {
		t.Errorf("client fields: %v", e.Fields)
	}
	if e.Priority() != event.PriWarning {
		t.Errorf("auth event is not a credential event: %v", e.Priority())
	}

	c := login(t, h)
	h.Wait(t, wait, "successful auth", servicetest.Type(event.Auth, "username=root", "password=123456", "outcome=success"))
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	out, err := sess.Output("uname -a")
	if err != nil {
		t.Fatalf("exec uname -a: %v (%q)", err, out)
	}
	if !strings.Contains(string(out), h.RT.Distro.Kernel) || !strings.HasPrefix(string(out), "Linux ") {
		t.Errorf("uname -a = %q, want the distro kernel %q", out, h.RT.Distro.Kernel)
	}
	h.Wait(t, wait, "exec command", servicetest.Type(event.Command, "command=uname -a", "via=exec"))

	sess, _ = c.NewSession()
	err = sess.Run("definitely-not-a-command --now")
	var ee *gossh.ExitError
	if !errors.As(err, &ee) || ee.ExitStatus() != 127 {
		t.Errorf("unknown command: err = %v, want exit status 127", err)
	}
}

// TestHASSHEndToEnd compares the HASSH the service emits for a Go client with
// one computed independently from the client's configured algorithm lists.
func TestHASSHEndToEnd(t *testing.T) {
	h := start(t, "debian", nil)
	cfg := clientConfig("root", gossh.Password("x"))
	cfg.KeyExchanges = []string{"ecdh-sha2-nistp256", "curve25519-sha256", "curve25519-sha256@libssh.org"}
	cfg.Ciphers = []string{"aes256-ctr", "aes128-gcm@openssh.com"}
	cfg.MACs = []string{"hmac-sha2-512", "hmac-sha2-256-etm@openssh.com"}
	dial(t, h, cfg)
	// x/crypto/ssh clients append the ext-info and strict-kex pseudo-algorithms
	// (RFC 8308; OpenSSH's Terrapin countermeasure) and offer no compression.
	algos := strings.Join(cfg.KeyExchanges, ",") + ",ext-info-c,kex-strict-c-v00@openssh.com;" +
		strings.Join(cfg.Ciphers, ",") + ";" + strings.Join(cfg.MACs, ",") + ";none"
	want := md5hex(algos)
	e := h.Wait(t, wait, "fingerprint", servicetest.Type(event.Fingerprint))
	if e.Fields["hassh"] != want || e.Fields["hassh_algorithms"] != algos {
		t.Fatalf("fingerprint %v, want hassh %s of %q", e.Fields, want, algos)
	}
	if !strings.HasPrefix(e.Fields["client_version"], "SSH-2.0-Go") {
		t.Errorf("client_version %q", e.Fields["client_version"])
	}
	a := h.Wait(t, wait, "auth", servicetest.Type(event.Auth))
	if a.Fields["hassh"] != want {
		t.Errorf("auth hassh %q, want %q", a.Fields["hassh"], want)
	}
	n := 0
	for _, e := range h.Events() {
		if e.Type == event.Fingerprint {
			n++
		}
	}
	if n != 1 {
		t.Errorf("%d fingerprint events for one connection", n)
	}
}

func TestVersionOnlyClientFingerprint(t *testing.T) {
	h := start(t, "ubuntu22", nil)
	_, c, _ := readBanner(t, h.Addr(22))
	c.Write([]byte("SSH-2.0-masscan\r\n"))
	c.Close()
	e := h.Wait(t, wait, "fingerprint", servicetest.Type(event.Fingerprint, "client_version=SSH-2.0-masscan"))
	if _, ok := e.Fields["hassh"]; ok {
		t.Errorf("hassh without a KEXINIT: %v", e.Fields)
	}
}

func TestHostilePasswordsByteExact(t *testing.T) {
	h := start(t, "ubuntu22", nil)
	pws := []string{"\x1b[31mred\x1b[0m", "a]b", `"quoted"`, "line1\nline2", "\xff\xfe\x80invalid", `back\slash`, "ok\x00nul"}
	for _, pw := range pws {
		dial(t, h, clientConfig("admin\x1b[2J", gossh.Password(pw)))
		b64 := base64.StdEncoding.EncodeToString([]byte(pw))
		e := h.Wait(t, wait, "auth for "+b64, servicetest.Type(event.Auth, "secret_b64="+b64))
		if e.Fields["password"] != event.SafeTerminal(pw) {
			t.Errorf("password field %q, want %q", e.Fields["password"], event.SafeTerminal(pw))
		}
		for _, c := range e.Fields["password"] {
			if c < 0x20 || c == 0x7f {
				t.Errorf("password field %q holds a control character", e.Fields["password"])
			}
		}
		if e.Fields["username"] != `admin\x1b[2J` || e.Fields["username_b64"] != base64.StdEncoding.EncodeToString([]byte("admin\x1b[2J")) {
			t.Errorf("username fields %v", e.Fields)
		}
	}
}

func TestKeyboardInteractive(t *testing.T) {
	h := start(t, "ubuntu22", nil)
	var prompts []string
	ki := gossh.KeyboardInteractive(func(name, instruction string, questions []string, echos []bool) ([]string, error) {
		prompts = append(prompts, questions...)
		ans := make([]string, len(questions))
		for i := range ans {
			ans[i] = "admin"
		}
		return ans, nil
	})
	if _, err := dial(t, h, clientConfig("admin", ki)); err != nil {
		t.Fatalf("keyboard-interactive login with admin:admin: %v", err)
	}
	if len(prompts) != 1 || prompts[0] != "Password: " {
		t.Errorf("prompts %q", prompts)
	}
	h.Wait(t, wait, "kbd-int auth", servicetest.Type(event.Auth, "method=keyboard-interactive", "username=admin", "password=admin", "outcome=success"))
}

func TestPublicKeyCaptured(t *testing.T) {
	h := start(t, "ubuntu22", nil)
	_, priv, _ := ed25519.GenerateKey(rand.Reader)
	signer, err := gossh.NewSignerFromKey(priv)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := dial(t, h, clientConfig("deploy", gossh.PublicKeys(signer))); err == nil {
		t.Fatal("public key login succeeded")
	}
	h.Wait(t, wait, "publickey auth", servicetest.Type(event.Auth, "method=publickey", "username=deploy", "outcome=failure",
		"key_type=ssh-ed25519", "key_fingerprint="+gossh.FingerprintSHA256(signer.PublicKey())))
}

func TestMaxAuthTries(t *testing.T) {
	h := start(t, "ubuntu22", map[string]string{KeyMaxAuthTries: "3"})
	n := 0
	cb := gossh.RetryableAuthMethod(gossh.PasswordCallback(func() (string, error) { n++; return "guess", nil }), 20)
	if _, err := dial(t, h, clientConfig("root", cb)); err == nil {
		t.Fatal("login succeeded")
	}
	if n > 4 {
		t.Errorf("client could try %d passwords with max_auth_tries=3", n)
	}
}

func TestDirectTCPIPRefused(t *testing.T) {
	h := start(t, "ubuntu22", nil)
	c := login(t, h)
	if conn, err := c.Dial("tcp", "10.0.0.5:3306"); err == nil {
		conn.Close()
		t.Fatal("port forward was accepted")
	}
	h.Wait(t, wait, "forward request", servicetest.Type(event.Request, "kind=direct-tcpip", "dest_host=10.0.0.5", "dest_port=3306"))
}

func TestInteractiveShell(t *testing.T) {
	h := start(t, "ubuntu22", nil)
	c := login(t, h)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	if err := sess.RequestPty("xterm-256color", 40, 120, gossh.TerminalModes{}); err != nil {
		t.Fatal(err)
	}
	if err := sess.Setenv("LANG", "C.UTF-8"); err != nil {
		t.Errorf("LANG env refused: %v", err)
	}
	if err := sess.Setenv("EVIL", "x"); err == nil {
		t.Error("env outside AcceptEnv accepted")
	}
	in, _ := sess.StdinPipe()
	var out bytes.Buffer
	var mu sync.Mutex
	sess.Stdout = writerFunc(func(p []byte) (int, error) { mu.Lock(); defer mu.Unlock(); return out.Write(p) })
	if err := sess.Shell(); err != nil {
		t.Fatal(err)
	}
	io.WriteString(in, "whoami\r")
	h.Wait(t, wait, "typed command", servicetest.Type(event.Command, "command=whoami"))
	io.WriteString(in, "exit\r")
	done := make(chan error, 1)
	go func() { done <- sess.Wait() }()
	select {
	case <-done:
	case <-time.After(wait):
		t.Fatal("shell did not exit")
	}
	mu.Lock()
	defer mu.Unlock()
	if !strings.Contains(out.String(), "root\r\n") {
		t.Errorf("whoami output missing in %q", out.String())
	}
	h.Wait(t, wait, "env record", servicetest.Type(event.Request, "kind=env", "name=EVIL", "value=x"))
}

type writerFunc func([]byte) (int, error)

func (f writerFunc) Write(p []byte) (int, error) { return f(p) }

func TestSFTPUpload(t *testing.T) {
	h := start(t, "ubuntu22", nil)
	c := login(t, h)
	sc, err := sftp.NewClient(c, sftp.UseConcurrentWrites(true), sftp.MaxPacket(8<<10))
	if err != nil {
		t.Fatal(err)
	}
	defer sc.Close()
	root, err := sc.ReadDir("/")
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, fi := range root {
		names = append(names, fi.Name())
	}
	for _, want := range []string{"etc", "tmp", "root", "var"} {
		if !slices.Contains(names, want) {
			t.Errorf("/ listing %v lacks %s", names, want)
		}
	}
	if wd, _ := sc.Getwd(); wd != "/root" {
		t.Errorf("start directory %q", wd)
	}
	osr, err := sc.Open("/etc/os-release")
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(osr)
	osr.Close()
	if string(b) != h.RT.Distro.OSRelease {
		t.Errorf("/etc/os-release over sftp = %q", b)
	}

	payload := make([]byte, 700<<10+123)
	rand.Read(payload)
	f, err := sc.Create("/tmp/.x/payload")
	if err == nil {
		t.Fatal("create in a missing directory succeeded")
	}
	f, err = sc.Create("/tmp/payload.bin")
	if err != nil {
		t.Fatal(err)
	}
	if _, err := f.ReadFrom(bytes.NewReader(payload)); err != nil {
		t.Fatal(err)
	}
	if err := f.Close(); err != nil {
		t.Fatal(err)
	}
	sum := sha256.Sum256(payload)
	hexSum := hex.EncodeToString(sum[:])
	e := h.Wait(t, wait, "file_upload", servicetest.Type(event.FileUpload, "filename=/tmp/payload.bin", "via=sftp"))
	if e.Fields["sha256"] != hexSum || e.Fields["size"] != itoa(int64(len(payload))) || e.Fields["stored"] != "true" {
		t.Fatalf("upload event %v, want sha256 %s size %d", e.Fields, hexSum, len(payload))
	}
	kept, err := os.ReadFile(filepath.Join(h.RT.Config.ArtifactDir, hexSum))
	if err != nil || !bytes.Equal(kept, payload) {
		t.Fatalf("stored artifact differs (%v)", err)
	}
	fi, err := sc.Stat("/tmp/payload.bin")
	if err != nil || fi.Size() != int64(len(payload)) {
		t.Errorf("stat after upload: %v %v", fi, err)
	}
}

func TestSCPSinkWithGoClient(t *testing.T) {
	h := start(t, "ubuntu22", nil)
	c := login(t, h)
	sess, err := c.NewSession()
	if err != nil {
		t.Fatal(err)
	}
	in, _ := sess.StdinPipe()
	outp, _ := sess.StdoutPipe()
	if err := sess.Start("scp -t /tmp"); err != nil {
		t.Fatal(err)
	}
	r := bufio.NewReader(outp)
	expectAck := func(step string) {
		t.Helper()
		b, err := r.ReadByte()
		if err != nil || b != 0 {
			t.Fatalf("%s: ack %q %v", step, b, err)
		}
	}
	expectAck("start")
	io.WriteString(in, "T1700000000 0 1700000000 0\n")
	expectAck("times")
	io.WriteString(in, "C0755 6 evil.sh\n")
	expectAck("header")
	io.WriteString(in, "#!/bi\n\x00")
	expectAck("data")
	io.WriteString(in, "D0755 0 kit\n")
	expectAck("dir")
	io.WriteString(in, "C0644 3 a\nabc\x00")
	expectAck("nested header")
	expectAck("nested data")
	io.WriteString(in, "E\n")
	expectAck("end dir")
	in.Close()
	if err := sess.Wait(); err != nil {
		t.Fatalf("scp sink exit: %v", err)
	}
	sum := sha256.Sum256([]byte("#!/bi\n"))
	h.Wait(t, wait, "scp upload", servicetest.Type(event.FileUpload, "filename=/tmp/evil.sh", "via=scp", "size=6", "sha256="+hex.EncodeToString(sum[:]), "mode=0755"))
	h.Wait(t, wait, "nested scp upload", servicetest.Type(event.FileUpload, "filename=/tmp/kit/a", "size=3"))

	// A path-traversal name is refused.
	sess, _ = c.NewSession()
	in, _ = sess.StdinPipe()
	outp, _ = sess.StdoutPipe()
	sess.Start("scp -t /tmp")
	r = bufio.NewReader(outp)
	expectAck("start 2")
	io.WriteString(in, "C0644 1 ../../etc/passwd\n")
	if b, _ := r.ReadByte(); b != 1 {
		t.Errorf("traversal name: reply %q, want an error", b)
	}
	in.Close()
	sess.Wait()
}
