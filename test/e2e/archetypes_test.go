package e2e

import (
	"bytes"
	"encoding/hex"
	"fmt"
	"os"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/services/mysql"
	"decnet/internal/services/smb"
	"decnet/internal/testenv"
)

// TestArchetypes deploys one decky of each archetype whose services this build has
// in full, checks from the attacker namespace that nmap -sV names every service as
// the persona's product, that hydra's every attempted pair against ftp, mysql, pop3
// and smb becomes a credential event, and that real clients see what the real
// servers would show them.
func TestArchetypes(t *testing.T) {
	testenv.RequireRoot(t)
	testenv.RequireDocker(t)
	testenv.RequireTool(t, "nmap", "hydra", "curl", "swaks", "mysql", "psql", "redis-cli", "smbclient", "lftp")
	bin := testenv.BuildDecnet(t)
	l := testenv.SharedLab(t)
	stateDir, dir := t.TempDir(), t.TempDir()
	ini := writeFile(t, dir, "archetypes.ini", fmt.Sprintf(`[general]
net = %s
gw = %s
interface = %s

[linux]
archetype = linux-server

[web]
archetype = web-server

[db]
archetype = database-server
distro = ubuntu22

[mail]
archetype = mail-server

[files]
archetype = file-server

[files.smb]
smb1 = true   ; Debian's hydra speaks only SMB1

[edge]
distro = ubuntu22
services = telnet, https
`, l.Subnet, l.Gateway, l.Parent))
	t.Cleanup(func() { run(t, bin, "teardown", "--all", "--state-dir", stateDir) })
	mustRun(t, bin, "deploy", "--config", ini, "--state-dir", stateDir)
	var fleet []deckyStatus
	decodeJSON(t, mustRun(t, bin, "status", "--json", "--state-dir", stateDir), &fleet)
	checkAnnounced(t, l, fleet)
	by := map[string]deckyStatus{}
	for _, d := range fleet {
		by[d.Name] = d
		for _, s := range d.Services {
			if s.State != "running" {
				t.Errorf("%s/%s is %s", d.Name, s.Name, s.State)
			}
		}
	}

	t.Run("nmap -sV names every service as the persona's product", func(t *testing.T) {
		want := map[string]map[int]*regexp.Regexp{
			"linux": {22: regexp.MustCompile(`ssh\s+OpenSSH`), 80: regexp.MustCompile(`http\s+(Apache httpd|nginx)`)},
			"web":   {80: regexp.MustCompile(`http\s+(Apache httpd|nginx)`), 21: regexp.MustCompile(`ftp\s+(vsftpd|ProFTPD)`)},
			"db": {3306: regexp.MustCompile(`mysql\s+MySQL 8\.0\.\d+-0ubuntu`), 5432: regexp.MustCompile(`postgresql\s+PostgreSQL DB`),
				6379: regexp.MustCompile(`redis\s+Redis key-value store`)},
			"mail": {25: regexp.MustCompile(`smtp\s+Postfix smtpd`), 110: regexp.MustCompile(`pop3\s+Dovecot pop3d`),
				143: regexp.MustCompile(`imap\s+Dovecot imapd`)},
			"files": {445: regexp.MustCompile(`(microsoft-ds|netbios-ssn)`), 21: regexp.MustCompile(`ftp\s+(vsftpd|ProFTPD)`),
				22: regexp.MustCompile(`ssh\s+OpenSSH`)},
			"edge": {23: regexp.MustCompile(`telnet\s+Linux telnetd`), 443: regexp.MustCompile(`ssl/http\s+nginx 1\.18\.0 \(Ubuntu\)`)},
		}
		// One nmap per decky, all at once: -sV waits on probe timeouts, not on CPU.
		outs := map[string]string{}
		var mu sync.Mutex
		var wg sync.WaitGroup
		for name, ports := range want {
			var ps []string
			for p := range ports {
				ps = append(ps, fmt.Sprint(p))
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				out, err := attacker(t, l, 5*time.Minute, "nmap", "-Pn", "-sV", "-p", strings.Join(ps, ","), by[name].IP)
				if err != nil {
					t.Errorf("nmap %s: %v\n%s", name, err, out)
				}
				mu.Lock()
				outs[name] = out
				mu.Unlock()
			}()
		}
		wg.Wait()
		for name, ports := range want {
			out := outs[name]
			for p, re := range ports {
				line := regexp.MustCompile(fmt.Sprintf(`(?m)^%d/tcp\s+open\s+.*$`, p)).FindString(out)
				if !re.MatchString(line) {
					t.Errorf("%s port %d: nmap says %q, want %s\n%s", name, p, line, re, out)
				}
			}
		}
	})

	t.Run("hydra: every attempted pair is a credential event", func(t *testing.T) {
		pw := []string{"winter21", "Summer22!", "qwerty7"}
		pwFile := writeFile(t, dir, "hydra-pw.txt", strings.Join(pw, "\n")+"\n")
		for _, tc := range []struct{ decky, svc, target string }{
			{"web", "ftp", "ftp://%s"},
			{"db", "mysql", "mysql://%s"},
			{"mail", "pop3", "pop3://%s"},
			{"files", "smb", "smb://%s"},
		} {
			d := by[tc.decky]
			user := "hy" + tc.svc
			out, _ := attacker(t, l, 3*time.Minute, "hydra", "-l", user, "-P", pwFile, "-t", "1", "-I", fmt.Sprintf(tc.target, d.IP))
			for _, p := range pw {
				waitEvents(t, containerOf(t, d, tc.svc), 1, 30*time.Second, tc.svc+" pair "+p, func(e event.Event) bool {
					return e.Type == event.Auth && e.Fields["username"] == user &&
						e.AttackerIP == l.AttackerIP.String() && credentialFor(t, e, p)
				})
			}
			if t.Failed() {
				t.Logf("hydra %s output:\n%s", tc.svc, out)
			}
		}
	})

	t.Run("real clients see what real servers show", func(t *testing.T) {
		db, mail, files, web, edge := by["db"], by["mail"], by["files"], by["web"], by["edge"]
		checks := []struct {
			name string
			cmd  []string
			want string
		}{
			{"mysql", []string{"mysql", "-h", db.IP, "-uroot", "-pSecret1", "-e", "select 1"}, "ERROR 1045 (28000): Access denied for user 'root'@'" + l.AttackerIP.String() + "'"},
			{"psql", []string{"psql", "host=" + db.IP + " user=admin password=Secret1 dbname=postgres sslmode=disable", "-c", "select 1"}, `password authentication failed for user "admin"`},
			{"redis-cli", []string{"redis-cli", "-h", db.IP, "INFO", "server"}, "redis_version:"},
			{"swaks", []string{"swaks", "--server", mail.IP, "--to", "someone@gmail.com", "--from", "x@example.org", "--quit-after", "RCPT"}, "Relay access denied"},
			{"curl pop3", []string{"curl", "-sS", "pop3://nosuch:pw@" + mail.IP + "/"}, "Login denied"},
			{"smbclient", []string{"smbclient", "-L", "//" + files.IP, "-U", "alice%Passw0rd"}, "NT_STATUS_LOGON_FAILURE"},
			{"lftp", []string{"lftp", "-e", "ls; bye", "-u", "anonymous,a@b", web.IP}, "pub"},
			{"curl imap", []string{"curl", "-sS", "imap://admin:password@" + mail.IP + "/"}, "INBOX"},
			{"curl https", []string{"curl", "-sSk", "-D", "-", "-o", "/dev/null", "https://" + edge.IP + "/"}, "Server: nginx/1.18.0 (Ubuntu)"},
			{"telnet", []string{"bash", "-c", "(sleep 2; printf 'root\\n'; sleep 1; printf 'not-the-password\\n'; sleep 4) | telnet " + edge.IP}, "Login incorrect"},
		}
		for _, c := range checks {
			out, _ := attacker(t, l, time.Minute, c.cmd[0], c.cmd[1:]...)
			if !strings.Contains(out, c.want) {
				t.Errorf("%s: output lacks %q:\n%s", c.name, c.want, out)
			}
		}
		waitEvents(t, containerOf(t, edge, "telnet"), 1, 10*time.Second, "telnet credential", func(e event.Event) bool {
			return e.Type == event.Auth && e.Fields["username"] == "root" && e.Fields["password"] == "not-the-password" &&
				e.AttackerIP == l.AttackerIP.String()
		})
		waitEvents(t, containerOf(t, db, "mysql"), 1, 10*time.Second, "mysql client credential", func(e event.Event) bool {
			return e.Type == event.Auth && e.Fields["username"] == "root" && credentialFor(t, e, "Secret1")
		})
		waitEvents(t, containerOf(t, files, "smb"), 1, 10*time.Second, "smbclient credential", func(e event.Event) bool {
			return e.Type == event.Auth && e.Fields["username"] == "alice" && credentialFor(t, e, "Passw0rd")
		})
	})

	if os.Getenv("DECNET_KEEP_FLEET") == "" {
		mustRun(t, bin, "teardown", "--all", "--state-dir", stateDir)
	}
}

// credentialFor reports whether an auth event carries password p: in plaintext, or
// as a challenge response that p produces (mysql and smb never see the password
// itself; their own tests check the hashes crack with hashcat).
func credentialFor(t *testing.T, e event.Event, p string) bool {
	if e.Fields["password"] == p {
		return true
	}
	h := e.Fields["hash"]
	switch {
	case strings.HasPrefix(h, "$mysqlna$"):
		salt, resp, ok := strings.Cut(strings.TrimPrefix(h, "$mysqlna$"), "*")
		s, err1 := hex.DecodeString(salt)
		r, err2 := hex.DecodeString(resp)
		return ok && err1 == nil && err2 == nil && bytes.Equal(mysql.NativeScramble(p, s), r)
	case e.Fields["secret_kind"] == "ntlmv2" || e.Fields["secret_kind"] == "ntlmv1":
		return smb.VerifyHash(h, p)
	}
	return false
}
