package shell

import (
	"fmt"
	"hash/fnv"
	"math/rand/v2"
	"net/netip"
	"path"
	"strings"
	"time"

	"decnet/internal/catalog"
)

// Defaults used when a Distro value leaves a fact empty, so a shell is always coherent.
const (
	defaultOSRelease = `PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
SUPPORT_URL="https://www.debian.org/support"
BUG_REPORT_URL="https://bugs.debian.org/"
`
	defaultKernel      = "6.1.0-18-amd64"
	defaultKernelBuild = "#1 SMP PREEMPT_DYNAMIC Debian 6.1.76-1 (2024-02-01)"
)

// account is one line of the fake /etc/passwd.
type account struct {
	name, gecos, home, shell string
	uid, gid                 int
}

// proc is one process of the fake process table.
type proc struct {
	pid, ppid int
	user      string
	cmd       string // full command line as ps shows it
	tty       string
	start     string // STIME column
	vsz, rss  int
	stat      string
	cpu       string // CPU time
}

// listener is a listening socket that belongs to one of the decky's services.
type listener struct {
	proto string // tcp or udp
	port  int
	prog  string
	pid   int
}

// persona is everything derived once per session from Options: the distro family, the
// machine's "hardware", its accounts, processes and addresses. All values derived from
// randomness are seeded from the hostname and IP, so one decky looks the same in every
// session.
type persona struct {
	distro     catalog.Distro
	osr        map[string]string
	id         string // os-release ID
	family     string // debian, rhel, alpine, arch
	pretty     string
	versionID  string
	shellPath  string
	shellKind  string // bash, ash, zsh, sh
	pkg        string // apt, yum, dnf, apk, pacman
	usrMerge   bool   // /bin -> usr/bin
	systemd    bool
	unameFull  bool // uname -p / -i print the arch (Ubuntu and Red Hat patch coreutils)
	busybox    bool
	hostname   string
	shortHost  string
	user       string
	uid, gid   int
	home       string
	adminUser  string
	accounts   []account
	ip         netip.Addr
	prefix     netip.Prefix
	gateway    netip.Addr
	mac        string
	iface      string // the NIC's name, as the distro names it on a VM
	clientIP   string
	cpuModel   string
	cpuMHz     string
	cores      int
	memKB      int
	swapKB     int
	diskGB     int
	diskUsedGB float64
	bootAt     time.Time
	installAt  time.Time
	procs      []proc
	listeners  []listener
	rng        *rand.Rand
	dbPass     string
	neighbour  netip.Addr
}

func parseOSRelease(s string) map[string]string {
	m := map[string]string{}
	for _, line := range strings.Split(s, "\n") {
		line = strings.TrimSpace(line)
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			continue
		}
		v = strings.TrimSpace(v)
		if len(v) >= 2 && (v[0] == '"' || v[0] == '\'') && v[len(v)-1] == v[0] {
			v = v[1 : len(v)-1]
		}
		m[strings.TrimSpace(k)] = v
	}
	return m
}

var cpuModels = []struct{ model, mhz string }{
	{"Intel(R) Xeon(R) CPU E5-2680 v4 @ 2.40GHz", "2399.998"},
	{"Intel(R) Xeon(R) Gold 6230R CPU @ 2.10GHz", "2095.078"},
	{"Intel(R) Xeon(R) Silver 4214 CPU @ 2.20GHz", "2194.843"},
	{"AMD EPYC 7543 32-Core Processor", "2794.748"},
	{"Intel(R) Xeon(R) CPU E5-2650 v2 @ 2.60GHz", "2599.998"},
	{"AMD EPYC 7282 16-Core Processor", "2794.750"},
}

// servicePrograms maps a decky service slug to what it looks like from inside.
var servicePrograms = map[string][]struct {
	proto, prog, user, cmd string
	port                   int
}{
	"ssh":       {{"tcp", "sshd", "root", "sshd: /usr/sbin/sshd -D [listener] 0 of 10-100 startups", 22}},
	"http":      {{"tcp", "nginx", "root", "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;", 80}},
	"https":     {{"tcp", "nginx", "root", "nginx: master process /usr/sbin/nginx -g daemon on; master_process on;", 443}},
	"mysql":     {{"tcp", "mysqld", "mysql", "/usr/sbin/mysqld", 3306}},
	"postgres":  {{"tcp", "postgres", "postgres", "/usr/lib/postgresql/15/bin/postgres -D /var/lib/postgresql/15/main", 5432}},
	"redis":     {{"tcp", "redis-server", "redis", "/usr/bin/redis-server 0.0.0.0:6379", 6379}},
	"ftp":       {{"tcp", "vsftpd", "root", "/usr/sbin/vsftpd /etc/vsftpd.conf", 21}},
	"telnet":    {{"tcp", "inetd", "root", "/usr/sbin/inetd", 23}},
	"smtp":      {{"tcp", "master", "root", "/usr/lib/postfix/sbin/master -w", 25}},
	"mongodb":   {{"tcp", "mongod", "mongodb", "/usr/bin/mongod --config /etc/mongod.conf", 27017}},
	"smb":       {{"tcp", "smbd", "root", "/usr/sbin/smbd --foreground --no-process-group", 445}, {"tcp", "smbd", "root", "", 139}},
	"snmp":      {{"udp", "snmpd", "Debian-snmp", "/usr/sbin/snmpd -LOw -u Debian-snmp -g Debian-snmp -I -smux mteTrigger mteTriggerConf -f -p /run/snmpd.pid", 161}},
	"elastic":   {{"tcp", "java", "elastic+", "/usr/share/elasticsearch/jdk/bin/java -Xms1g -Xmx1g org.elasticsearch.bootstrap.Elasticsearch", 9200}},
	"docker":    {{"tcp", "dockerd", "root", "/usr/bin/dockerd -H fd:// -H tcp://0.0.0.0:2375", 2375}},
	"vnc":       {{"tcp", "Xvnc", "root", "/usr/bin/Xvnc :0 -rfbport 5900", 5900}},
	"mqtt":      {{"tcp", "mosquitto", "mosquitto", "/usr/sbin/mosquitto -c /etc/mosquitto/mosquitto.conf", 1883}},
	"memcached": {{"tcp", "memcached", "memcache", "/usr/bin/memcached -m 64 -p 11211 -u memcache -l 0.0.0.0", 11211}},
	"ldap":      {{"tcp", "slapd", "openldap", "/usr/sbin/slapd -h ldap:/// ldapi:/// -g openldap -u openldap -F /etc/ldap/slapd.d", 389}},
	"sip":       {{"udp", "asterisk", "asterisk", "/usr/sbin/asterisk -U asterisk -G asterisk", 5060}},
	"tftp":      {{"udp", "in.tftpd", "root", "/usr/sbin/in.tftpd --listen --user tftp --address :69 --secure /srv/tftp", 69}},
}

func seedOf(parts ...string) (uint64, uint64) {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	a := h.Sum64()
	h.Write([]byte("second"))
	return a, h.Sum64()
}

func newPersona(o Options, now time.Time) *persona {
	d := o.Distro
	if strings.TrimSpace(d.OSRelease) == "" {
		d.OSRelease = defaultOSRelease
	}
	if d.Kernel == "" {
		d.Kernel = defaultKernel
		if d.KernelBuild == "" {
			d.KernelBuild = defaultKernelBuild
		}
	}
	if d.KernelBuild == "" {
		d.KernelBuild = "#1 SMP PREEMPT_DYNAMIC"
	}
	if d.Arch == "" {
		d.Arch = "x86_64"
	}
	p := &persona{distro: d, osr: parseOSRelease(d.OSRelease)}
	p.id = strings.ToLower(p.osr["ID"])
	p.pretty = p.osr["PRETTY_NAME"]
	if p.pretty == "" {
		p.pretty = d.Display
	}
	p.versionID = p.osr["VERSION_ID"]
	like := " " + strings.ToLower(p.osr["ID_LIKE"]) + " "
	switch {
	case p.id == "alpine":
		p.family, p.pkg, p.busybox = "alpine", "apk", true
	case p.id == "arch" || strings.Contains(like, " arch "):
		p.family, p.pkg, p.usrMerge, p.systemd = "arch", "pacman", true, true
	case p.id == "rhel" || p.id == "centos" || p.id == "fedora" || p.id == "rocky" || p.id == "almalinux" ||
		strings.Contains(like, " rhel ") || strings.Contains(like, " fedora "):
		p.family, p.usrMerge, p.systemd, p.unameFull = "rhel", true, true, true
		p.pkg = "dnf"
		if p.id == "centos" && strings.HasPrefix(p.versionID, "7") {
			p.pkg = "yum"
		}
	default:
		p.family, p.pkg, p.systemd = "debian", "apt", true
		p.unameFull = p.id == "ubuntu"
		major := majorVersion(p.versionID)
		p.usrMerge = !(p.id == "debian" && major > 0 && major < 10) && !(p.id == "ubuntu" && major > 0 && major < 19)
	}
	p.shellPath = d.Shell
	if p.shellPath == "" {
		if p.family == "alpine" {
			p.shellPath = "/bin/ash"
		} else {
			p.shellPath = "/bin/bash"
		}
	}
	switch path.Base(p.shellPath) {
	case "ash":
		p.shellKind = "ash"
	case "zsh":
		p.shellKind = "zsh"
	case "sh", "dash":
		p.shellKind = "sh"
	default:
		p.shellKind = "bash"
	}

	p.hostname = strings.TrimSpace(o.Hostname)
	if p.hostname == "" {
		p.hostname = "localhost"
	}
	p.shortHost, _, _ = strings.Cut(p.hostname, ".")
	p.user = strings.TrimSpace(o.User)
	if p.user == "" {
		p.user = "root"
	}

	s1, s2 := seedOf(p.hostname, o.IP, d.Slug, d.Kernel)
	p.rng = rand.New(rand.NewPCG(s1, s2))
	r := p.rng

	p.adminUser = map[string]string{"ubuntu": "ubuntu", "debian": "admin", "rocky": "rocky", "centos": "centos",
		"fedora": "fedora", "alpine": "alpine", "kali": "kali", "arch": "arch", "almalinux": "almalinux"}[p.id]
	if p.adminUser == "" {
		p.adminUser = "admin"
	}
	p.buildAccounts()

	p.ip, p.prefix = parseIP(o.IP)
	p.gateway = p.prefix.Masked().Addr().Next()
	if p.gateway == p.ip {
		p.gateway = p.gateway.Next()
	}
	p.neighbour = p.prefix.Masked().Addr().Next().Next()
	for i := 0; i < 10+r.IntN(40); i++ {
		if n := p.neighbour.Next(); p.prefix.Contains(n) {
			p.neighbour = n
		}
	}
	if p.neighbour == p.ip {
		p.neighbour = p.neighbour.Next()
	}
	p.mac = strings.ToLower(strings.TrimSpace(o.MAC))
	if p.mac == "" {
		p.mac = fmt.Sprintf("52:54:00:%02x:%02x:%02x", r.IntN(256), r.IntN(256), r.IntN(256))
	}
	p.clientIP = o.ClientIP
	if p.clientIP == "" {
		p.clientIP = p.gateway.String()
	}

	c := cpuModels[r.IntN(len(cpuModels))]
	p.cpuModel, p.cpuMHz = c.model, c.mhz
	p.cores = []int{1, 2, 2, 4, 4, 8}[r.IntN(6)]
	gib := []int{1, 2, 4, 4, 8, 16}[r.IntN(6)]
	if gib < p.cores {
		gib = p.cores
	}
	p.memKB = gib*1024*1024 - 90000 - r.IntN(60000)
	p.swapKB = []int{0, 1048572, 2097148}[r.IntN(3)]
	p.diskGB = []int{20, 30, 40, 80, 160}[r.IntN(5)]
	p.diskUsedGB = float64(p.diskGB) * (0.12 + r.Float64()*0.4)

	// Uptime grows across sessions and wraps (a "reboot") every 97 days, at a phase
	// fixed per decky.
	const period = 97 * 24 * 3600
	up := (now.Unix() + int64(s1%period)) % period
	if up < 3600 {
		up += 3 * 24 * 3600
	}
	p.bootAt = now.Add(-time.Duration(up) * time.Second).Truncate(time.Second)
	p.installAt = p.bootAt.Add(-time.Duration(30+r.IntN(300)) * 24 * time.Hour).Truncate(time.Minute)

	p.dbPass = randWord(r, 12)
	p.buildProcs(o.Services, now)
	p.iface = nicName(p)
	return p
}

func randWord(r *rand.Rand, n int) string {
	const chars = "abcdefghijkmnopqrstuvwxyzABCDEFGHJKLMNPQRSTUVWXYZ23456789"
	b := make([]byte, n)
	for i := range b {
		b[i] = chars[r.IntN(len(chars))]
	}
	return string(b)
}

func parseIP(s string) (netip.Addr, netip.Prefix) {
	s = strings.TrimSpace(s)
	if pf, err := netip.ParsePrefix(s); err == nil {
		return pf.Addr(), pf
	}
	a, err := netip.ParseAddr(s)
	if err != nil || !a.Is4() {
		a = netip.MustParseAddr("192.168.1.23")
	}
	pf, _ := a.Prefix(24)
	return a, netip.PrefixFrom(a, pf.Bits())
}

func (p *persona) buildAccounts() {
	var acc []account
	nologin := "/usr/sbin/nologin"
	switch p.family {
	case "rhel":
		nologin = "/sbin/nologin"
		acc = []account{
			{"root", "root", "/root", p.shellPath, 0, 0},
			{"bin", "bin", "/bin", nologin, 1, 1},
			{"daemon", "daemon", "/sbin", nologin, 2, 2},
			{"adm", "adm", "/var/adm", nologin, 3, 4},
			{"lp", "lp", "/var/spool/lpd", nologin, 4, 7},
			{"sync", "sync", "/sbin", "/bin/sync", 5, 0},
			{"shutdown", "shutdown", "/sbin", "/sbin/shutdown", 6, 0},
			{"halt", "halt", "/sbin", "/sbin/halt", 7, 0},
			{"mail", "mail", "/var/spool/mail", nologin, 8, 12},
			{"operator", "operator", "/root", nologin, 11, 0},
			{"games", "games", "/usr/games", nologin, 12, 100},
			{"ftp", "FTP User", "/var/ftp", nologin, 14, 50},
			{"nobody", "Kernel Overflow User", "/", nologin, 65534, 65534},
			{"systemd-coredump", "systemd Core Dumper", "/", nologin, 999, 997},
			{"dbus", "System message bus", "/", nologin, 81, 81},
			{"tss", "Account used for TPM access", "/dev/null", nologin, 59, 59},
			{"sshd", "Privilege-separated SSH", "/usr/share/empty.sshd", nologin, 74, 74},
			{"chrony", "chrony system user", "/var/lib/chrony", nologin, 998, 996},
		}
	case "alpine":
		nologin = "/sbin/nologin"
		acc = []account{
			{"root", "root", "/root", p.shellPath, 0, 0},
			{"bin", "bin", "/bin", nologin, 1, 1},
			{"daemon", "daemon", "/sbin", nologin, 2, 2},
			{"lp", "lp", "/var/spool/lpd", nologin, 4, 7},
			{"sync", "sync", "/sbin", "/bin/sync", 5, 0},
			{"shutdown", "shutdown", "/sbin", "/sbin/shutdown", 6, 0},
			{"halt", "halt", "/sbin", "/sbin/halt", 7, 0},
			{"mail", "mail", "/var/mail", nologin, 8, 12},
			{"news", "news", "/usr/lib/news", nologin, 9, 13},
			{"uucp", "uucp", "/var/spool/uucppublic", nologin, 10, 14},
			{"cron", "cron", "/var/spool/cron", nologin, 16, 16},
			{"ftp", "ftp", "/var/lib/ftp", nologin, 21, 21},
			{"sshd", "sshd", "/dev/null", nologin, 22, 22},
			{"games", "games", "/usr/games", nologin, 35, 35},
			{"ntp", "", "/var/empty", nologin, 123, 123},
			{"guest", "guest", "/dev/null", nologin, 405, 100},
			{"nobody", "nobody", "/", nologin, 65534, 65534},
		}
	case "arch":
		nologin = "/usr/bin/nologin"
		acc = []account{
			{"root", "", "/root", p.shellPath, 0, 0},
			{"bin", "", "/", nologin, 1, 1},
			{"daemon", "", "/", nologin, 2, 2},
			{"mail", "", "/var/spool/mail", nologin, 8, 12},
			{"ftp", "", "/srv/ftp", nologin, 14, 11},
			{"http", "", "/srv/http", nologin, 33, 33},
			{"nobody", "Kernel Overflow User", "/", nologin, 65534, 65534},
			{"dbus", "System Message Bus", "/", nologin, 81, 81},
			{"systemd-coredump", "systemd Core Dumper", "/", nologin, 984, 984},
			{"systemd-network", "systemd Network Management", "/", nologin, 982, 982},
			{"systemd-resolve", "systemd Resolver", "/", nologin, 981, 981},
		}
	default:
		acc = []account{
			{"root", "root", "/root", p.shellPath, 0, 0},
			{"daemon", "daemon", "/usr/sbin", nologin, 1, 1},
			{"bin", "bin", "/bin", nologin, 2, 2},
			{"sys", "sys", "/dev", nologin, 3, 3},
			{"sync", "sync", "/bin", "/bin/sync", 4, 65534},
			{"games", "games", "/usr/games", nologin, 5, 60},
			{"man", "man", "/var/cache/man", nologin, 6, 12},
			{"lp", "lp", "/var/spool/lpd", nologin, 7, 7},
			{"mail", "mail", "/var/mail", nologin, 8, 8},
			{"news", "news", "/var/spool/news", nologin, 9, 9},
			{"uucp", "uucp", "/var/spool/uucp", nologin, 10, 10},
			{"proxy", "proxy", "/bin", nologin, 13, 13},
			{"www-data", "www-data", "/var/www", nologin, 33, 33},
			{"backup", "backup", "/var/backups", nologin, 34, 34},
			{"list", "Mailing List Manager", "/var/list", nologin, 38, 38},
			{"irc", "ircd", "/run/ircd", nologin, 39, 39},
			{"_apt", "", "/nonexistent", nologin, 42, 65534},
			{"nobody", "nobody", "/nonexistent", nologin, 65534, 65534},
			{"systemd-network", "systemd Network Management", "/", nologin, 998, 998},
			{"messagebus", "", "/nonexistent", nologin, 100, 107},
			{"sshd", "", "/run/sshd", nologin, 101, 65534},
		}
	}
	acc = append(acc, account{p.adminUser, p.adminUser, "/home/" + p.adminUser, p.shellPath, 1000, 1000})
	if p.user != "root" && p.user != p.adminUser {
		found := false
		for _, a := range acc {
			if a.name == p.user {
				found = true
			}
		}
		if !found {
			acc = append(acc, account{p.user, "", "/home/" + p.user, p.shellPath, 1001, 1001})
		}
	}
	p.accounts = acc
	for _, a := range acc {
		if a.name == p.user {
			p.uid, p.gid, p.home = a.uid, a.gid, a.home
		}
	}
	if p.user == "root" {
		p.home = "/root"
	}
}

func (p *persona) userName(uid int) string {
	for _, a := range p.accounts {
		if a.uid == uid {
			return a.name
		}
	}
	return fmt.Sprint(uid)
}

func (p *persona) groupName(gid int) string {
	for _, a := range p.accounts {
		if a.gid == gid && a.uid == gid {
			return a.name
		}
	}
	switch gid {
	case 0:
		return "root"
	case 65534:
		if p.family == "debian" {
			return "nogroup"
		}
		return "nobody"
	}
	return fmt.Sprint(gid)
}

func (p *persona) lookupUser(name string) (account, bool) {
	for _, a := range p.accounts {
		if a.name == name {
			return a, true
		}
	}
	return account{}, false
}

func (p *persona) buildProcs(services []string, now time.Time) {
	r := p.rng
	boot := p.bootAt.Format("Jan02")
	if now.Sub(p.bootAt) < 24*time.Hour {
		boot = p.bootAt.Format("15:04")
	}
	add := func(pid, ppid int, user, cmd string) {
		p.procs = append(p.procs, proc{pid: pid, ppid: ppid, user: user, cmd: cmd, tty: "?", start: boot,
			vsz: 8000 + r.IntN(200000), rss: 1000 + r.IntN(20000), stat: "Ss", cpu: fmt.Sprintf("0:%02d", r.IntN(60))})
	}
	if p.systemd {
		add(1, 0, "root", "/sbin/init")
		if p.family == "rhel" {
			p.procs[0].cmd = "/usr/lib/systemd/systemd --switched-root --system --deserialize 31"
		}
	} else {
		add(1, 0, "root", "/sbin/init")
	}
	add(2, 0, "root", "[kthreadd]")
	add(3, 2, "root", "[rcu_gp]")
	add(4, 2, "root", "[rcu_par_gp]")
	add(6, 2, "root", "[kworker/0:0H-events_highpri]")
	add(9, 2, "root", "[mm_percpu_wq]")
	add(10, 2, "root", "[ksoftirqd/0]")
	add(11, 2, "root", "[rcu_sched]")
	add(12, 2, "root", "[migration/0]")
	for i := 1; i < p.cores && i < 8; i++ {
		add(12+i*4, 2, "root", fmt.Sprintf("[ksoftirqd/%d]", i))
	}
	pid := 180 + r.IntN(200)
	next := func() int { pid += 1 + r.IntN(60); return pid }
	switch p.family {
	case "alpine":
		add(next(), 1, "root", "/sbin/syslogd -t -n")
		add(next(), 1, "root", "/usr/sbin/crond -c /etc/crontabs -f")
		add(next(), 1, "root", "/sbin/getty 38400 tty1")
	case "rhel":
		add(next(), 1, "root", "/usr/lib/systemd/systemd-journald")
		add(next(), 1, "root", "/usr/lib/systemd/systemd-udevd")
		add(next(), 1, "dbus", "/usr/bin/dbus-broker-launch --scope system --audit")
		add(next(), 1, "root", "/usr/sbin/NetworkManager --no-daemon")
		add(next(), 1, "root", "/usr/lib/systemd/systemd-logind")
		add(next(), 1, "chrony", "/usr/sbin/chronyd -F 2")
		add(next(), 1, "root", "/usr/sbin/crond -n")
		add(next(), 1, "root", "/usr/sbin/rsyslogd -n")
		add(next(), 1, "root", "/sbin/agetty -o -p -- \\u --noclear - linux")
	default:
		add(next(), 1, "root", "/lib/systemd/systemd-journald")
		add(next(), 1, "root", "/lib/systemd/systemd-udevd")
		add(next(), 1, "systemd-network", "/lib/systemd/systemd-networkd")
		add(next(), 1, "root", "/usr/sbin/cron -f")
		add(next(), 1, "messagebus", "/usr/bin/dbus-daemon --system --address=systemd: --nofork --nopidfile --systemd-activation --syslog-only")
		add(next(), 1, "root", "/usr/sbin/rsyslogd -n -iNONE")
		add(next(), 1, "root", "/lib/systemd/systemd-logind")
		add(next(), 1, "root", "/sbin/agetty -o -p -- \\u --noclear - linux")
	}
	if len(services) == 0 {
		services = []string{"ssh"}
	}
	seen := map[string]int{}
	for _, svc := range services {
		for _, sp := range servicePrograms[strings.ToLower(svc)] {
			if seenPid, ok := seen[sp.prog]; ok {
				p.listeners = append(p.listeners, listener{sp.proto, sp.port, sp.prog, seenPid})
				continue
			}
			cmd := sp.cmd
			if sp.prog == "sshd" && p.family == "alpine" {
				cmd = "sshd: /usr/sbin/sshd [listener] 0 of 10-100 startups"
			}
			id := next()
			add(id, 1, sp.user, cmd)
			seen[sp.prog] = id
			p.listeners = append(p.listeners, listener{sp.proto, sp.port, sp.prog, id})
			if sp.prog == "nginx" {
				for i := 0; i < p.cores && i < 4; i++ {
					add(next(), id, map[bool]string{true: "www-data", false: "nginx"}[p.family == "debian"], "nginx: worker process")
				}
			}
		}
	}
	for i := range p.procs {
		if strings.HasPrefix(p.procs[i].cmd, "[") {
			p.procs[i].vsz, p.procs[i].rss, p.procs[i].stat = 0, 0, "S"
			p.procs[i].cpu = "0:00"
		}
	}
}

// majorVersion returns the leading integer of a VERSION_ID ("22.04" → 22), or 0.
func majorVersion(v string) int {
	n := 0
	for _, c := range v {
		if c < '0' || c > '9' || n > 1e6 {
			break
		}
		n = n*10 + int(c-'0')
	}
	return n
}

// kernelName is uname -s.
func (p *persona) kernelName() string {
	if p.id == "freebsd" {
		return "FreeBSD"
	}
	return "Linux"
}

// NICName is the name the decky's NIC has in its story for distro d (the shell's
// ip/ifconfig/sysfs; other services, such as SNMP's ifDescr, tell the same).
func NICName(d catalog.Distro) string {
	return nicName(newPersona(Options{Distro: d}, time.Now()))
}

// nicName is the name the distro gives a VM's virtio/vmxnet NIC: systemd's
// predictable names on Debian, Ubuntu, RHEL and Arch (eth0 there would be a
// container tell), eth0 where the distro keeps it (Alpine, Kali).
func nicName(p *persona) string {
	switch {
	case p.family == "alpine" || p.busybox || p.id == "kali":
		return "eth0"
	case p.family == "rhel":
		return "ens192"
	case p.family == "arch":
		return "enp0s3"
	}
	return "ens18"
}
