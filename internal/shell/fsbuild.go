package shell

import (
	"fmt"
	"strings"
	"time"
)

// commonBins are the programs every persona has (in /usr/bin, or /bin on non-merged
// layouts). Most are emulated; the rest exist so `ls /usr/bin` and `which` look right.
var commonBins = []string{
	"awk", "base64", "bash", "cat", "chgrp", "chmod", "chown", "clear", "cp", "crontab", "curl", "cut", "date",
	"df", "dmesg", "du", "echo", "env", "false", "find", "free", "grep", "groups", "gzip", "head", "hostname",
	"id", "kill", "last", "ln", "ls", "md5sum", "mkdir", "mount", "mv", "nano", "nohup", "nproc", "passwd", "perl",
	"pgrep", "pkill", "printf", "ps", "pwd", "rm", "rmdir", "scp", "sed", "sh", "sha256sum", "sleep", "sort", "ssh",
	"stat", "su", "sudo", "tail", "tar", "tee", "timeout", "top", "touch", "tr", "true", "uname", "uniq", "uptime",
	"users", "vi", "w", "wc", "wget", "whereis", "which", "who", "whoami", "xargs", "yes", "lscpu", "python3",
	"systemctl", "journalctl", "hostnamectl", "ss", "netstat", "ip", "ifconfig", "lsb_release", "last", "dd",
	"chattr", "lsattr", "getent", "mktemp", "readlink", "basename", "dirname", "seq", "test", "ping", "tftp",
}

var sbins = []string{"ip", "ifconfig", "reboot", "shutdown", "service", "useradd", "usermod", "userdel",
	"chpasswd", "iptables", "sshd", "agetty", "route", "sysctl", "modprobe", "fdisk", "mkfs", "halt", "init"}

func (s *Shell) buildFS() {
	p := s.p
	inst := p.installAt
	f := &memFS{now: s.now}
	f.root = &node{name: "/", dir: true, mode: 0o755, mtime: inst, children: map[string]*node{}}
	s.fs = f

	dir := func(path string, mode uint32, uid, gid int) *node {
		return f.add(path, &node{dir: true, mode: mode, uid: uid, gid: gid, mtime: inst})
	}
	file := func(path, content string, mode uint32, uid, gid int) *node {
		return f.add(path, &node{data: []byte(content), mode: mode, uid: uid, gid: gid, mtime: inst})
	}
	gen := func(path string, g func() string) {
		f.add(path, &node{gen: g, mode: 0o444, mtime: s.now()})
	}
	bin := func(path string, size int64) {
		f.add(path, &node{size: size, mode: 0o755, mtime: inst})
	}
	link := func(path, target string) {
		f.add(path, &node{link: target, mode: 0o777, mtime: inst})
	}

	for _, d := range []string{"/boot", "/dev", "/etc", "/home", "/media", "/mnt", "/opt", "/proc", "/run", "/srv",
		"/sys", "/usr", "/usr/bin", "/usr/sbin", "/usr/lib", "/usr/local", "/usr/local/bin", "/usr/share", "/var",
		"/var/log", "/var/lib", "/var/cache", "/var/spool", "/var/backups", "/var/mail", "/var/opt", "/etc/ssh",
		"/etc/cron.d", "/etc/cron.daily", "/etc/init.d", "/etc/skel"} {
		dir(d, 0o755, 0, 0)
	}
	s.fs.root.children["proc"].mode = 0o555
	s.fs.root.children["sys"].mode = 0o555
	dir("/root", 0o700, 0, 0)
	dir("/tmp", 0o1777, 0, 0)
	dir("/var/tmp", 0o1777, 0, 0)
	binDir, sbinDir := "/usr/bin", "/usr/sbin"
	if p.usrMerge {
		link("/bin", "usr/bin")
		link("/sbin", "usr/sbin")
		link("/lib", "usr/lib")
		link("/lib64", "usr/lib64")
		dir("/usr/lib64", 0o755, 0, 0)
	} else {
		dir("/bin", 0o755, 0, 0)
		dir("/sbin", 0o755, 0, 0)
		dir("/lib", 0o755, 0, 0)
		binDir, sbinDir = "/bin", "/sbin"
	}
	bins := append([]string{}, commonBins...)
	switch p.family {
	case "debian":
		bins = append(bins, "apt", "apt-get", "dpkg", "dash", "vim.tiny", "nc.openbsd", "busybox")
	case "rhel":
		bins = append(bins, p.pkg, "rpm", "vim", "nmcli")
		if p.pkg == "dnf" {
			bins = append(bins, "yum")
		}
	case "alpine":
		bins = append(bins, "apk", "ash", "busybox")
	case "arch":
		bins = append(bins, "pacman", "vim")
	}
	if p.shellKind == "zsh" {
		bins = append(bins, "zsh")
	}
	r := p.rng
	for _, b := range bins {
		if p.busybox && b != "bash" {
			if _, ok := f.root.children["bin"].children[b]; !ok {
				link(binDir+"/"+b, "/bin/busybox")
			}
			continue
		}
		if b == "bash" && p.busybox {
			continue
		}
		bin(binDir+"/"+b, int64(14000+r.IntN(300000)))
	}
	if p.busybox {
		bin("/bin/busybox", 808712)
	}
	for _, b := range sbins {
		if p.busybox {
			link(sbinDir+"/"+b, "/bin/busybox")
			continue
		}
		bin(sbinDir+"/"+b, int64(14000+r.IntN(300000)))
	}
	if binDir == "/bin" {
		// Programs that live in /usr/bin even on non-merged layouts.
		for _, b := range []string{"curl", "wget", "python3", "perl", "nproc", "lscpu", "top", "free", "w", "uptime",
			"who", "users", "id", "awk", "base64", "xargs", "tftp", "ssh", "scp", "sudo", "crontab", "last", "nano"} {
			if n, ok := f.root.children["bin"].children[b]; ok && !p.busybox {
				delete(f.root.children["bin"].children, b)
				f.add("/usr/bin/"+b, n)
			}
		}
	}

	// /boot
	if p.family != "alpine" {
		k := p.distro.Kernel
		bin("/boot/vmlinuz-"+k, 11_000_000+int64(r.IntN(3_000_000)))
		bin("/boot/System.map-"+k, 6_000_000+int64(r.IntN(2_000_000)))
		bin("/boot/config-"+k, 260_000+int64(r.IntN(20_000)))
		if p.family == "rhel" {
			bin("/boot/initramfs-"+k+".img", 30_000_000+int64(r.IntN(9_000_000)))
		} else {
			bin("/boot/initrd.img-"+k, 30_000_000+int64(r.IntN(9_000_000)))
		}
	}

	// /dev
	for _, d := range []string{"null", "zero", "random", "urandom", "tty", "console", "full"} {
		f.add("/dev/"+d, &node{char: true, mode: 0o666, mtime: p.bootAt})
	}
	f.root.children["dev"].children["console"].mode = 0o600
	dir("/dev/pts", 0o755, 0, 0)
	dir("/dev/shm", 0o1777, 0, 0)
	f.add("/dev/sda", &node{size: 0, mode: 0o660, gid: 6, mtime: p.bootAt})
	f.add("/dev/sda1", &node{size: 0, mode: 0o660, gid: 6, mtime: p.bootAt})

	// /etc
	file("/etc/os-release", p.distro.OSRelease, 0o644, 0, 0)
	if p.family != "alpine" {
		// On most distros /etc/os-release is a symlink to ../usr/lib/os-release.
		file("/usr/lib/os-release", p.distro.OSRelease, 0o644, 0, 0)
		delete(f.root.children["etc"].children, "os-release")
		link("/etc/os-release", "../usr/lib/os-release")
	}
	file("/etc/hostname", p.hostname+"\n", 0o644, 0, 0)
	file("/etc/hosts", fmt.Sprintf("127.0.0.1\tlocalhost\n127.0.1.1\t%s\n%s\t%s\n\n# The following lines are desirable for IPv6 capable hosts\n::1     localhost ip6-localhost ip6-loopback\nff02::1 ip6-allnodes\nff02::2 ip6-allrouters\n", p.hostname, p.ip, p.hostname), 0o644, 0, 0)
	file("/etc/issue", s.issue(), 0o644, 0, 0)
	issueNet := p.distro.IssueNet
	if issueNet == "" {
		issueNet = strings.ReplaceAll(strings.ReplaceAll(s.issue(), " \\n \\l", ""), "\\n", "")
	}
	file("/etc/issue.net", issueNet, 0o644, 0, 0)
	file("/etc/passwd", s.passwdText(), 0o644, 0, 0)
	file("/etc/group", s.groupText(), 0o644, 0, 0)
	shadowGid := 0
	if p.family == "debian" {
		shadowGid = 42
	}
	file("/etc/shadow", s.shadowText(), 0o640, 0, shadowGid)
	file("/etc/resolv.conf", fmt.Sprintf("nameserver %s\nsearch localdomain\n", p.gateway), 0o644, 0, 0)
	file("/etc/fstab", "# /etc/fstab: static file system information.\n#\n# <file system> <mount point>   <type>  <options>       <dump>  <pass>\nUUID="+uuidLike(r)+" /               ext4    errors=remount-ro 0       1\n/swapfile                                 none            swap    sw              0       0\n", 0o644, 0, 0)
	file("/etc/crontab", "# /etc/crontab: system-wide crontab\nSHELL=/bin/sh\nPATH=/usr/local/sbin:/usr/local/bin:/sbin:/bin:/usr/sbin:/usr/bin\n\n# m h dom mon dow user\tcommand\n17 *\t* * *\troot    cd / && run-parts --report /etc/cron.hourly\n25 6\t* * *\troot\ttest -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.daily )\n47 6\t* * 7\troot\ttest -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.weekly )\n52 6\t1 * *\troot\ttest -x /usr/sbin/anacron || ( cd / && run-parts --report /etc/cron.monthly )\n#\n", 0o644, 0, 0)
	file("/etc/cron.d/backup", fmt.Sprintf("# nightly database dump\n30 2 * * * root /opt/scripts/backup.sh > /var/log/backup.log 2>&1\n"), 0o644, 0, 0)
	file("/etc/ssh/sshd_config", "Include /etc/ssh/sshd_config.d/*.conf\n\n#Port 22\n#AddressFamily any\n#ListenAddress 0.0.0.0\n\nPermitRootLogin yes\n#StrictModes yes\n#MaxAuthTries 6\n#MaxSessions 10\n\nPubkeyAuthentication yes\nPasswordAuthentication yes\nKbdInteractiveAuthentication no\nUsePAM yes\nX11Forwarding yes\nPrintMotd no\nAcceptEnv LANG LC_*\nSubsystem\tsftp\t/usr/lib/openssh/sftp-server\n", 0o644, 0, 0)
	dir("/etc/ssh/sshd_config.d", 0o755, 0, 0)
	for _, k := range []string{"rsa", "ecdsa", "ed25519"} {
		file("/etc/ssh/ssh_host_"+k+"_key", "-----BEGIN OPENSSH PRIVATE KEY-----\n"+randB64(r, 70)+"\n-----END OPENSSH PRIVATE KEY-----\n", 0o600, 0, 0)
		file("/etc/ssh/ssh_host_"+k+"_key.pub", "ssh-"+k+" AAAA"+randB64(r, 60)+" root@"+p.hostname+"\n", 0o644, 0, 0)
	}
	file("/etc/machine-id", randHex(r, 32)+"\n", 0o444, 0, 0)
	file("/etc/timezone", "Etc/UTC\n", 0o644, 0, 0)
	file("/etc/shells", "# /etc/shells: valid login shells\n/bin/sh\n/bin/bash\n/usr/bin/bash\n", 0o644, 0, 0)
	file("/etc/motd", "", 0o644, 0, 0)
	file("/etc/profile", "# /etc/profile: system-wide .profile file for the Bourne shell (sh(1))\n# and Bourne compatible shells (bash(1), ksh(1), ash(1), ...).\n\nif [ \"$(id -u)\" -eq 0 ]; then\n  PATH=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\nelse\n  PATH=\"/usr/local/bin:/usr/bin:/bin:/usr/local/games:/usr/games\"\nfi\nexport PATH\n", 0o644, 0, 0)
	file("/etc/sudoers", "#\n# This file MUST be edited with the 'visudo' command as root.\n#\nDefaults\tenv_reset\nDefaults\tmail_badpass\nDefaults\tsecure_path=\"/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin\"\n\nroot\tALL=(ALL:ALL) ALL\n%sudo\tALL=(ALL:ALL) ALL\n\n@includedir /etc/sudoers.d\n", 0o440, 0, 0)
	switch p.family {
	case "debian":
		if p.id == "debian" {
			v := p.versionID
			if v == "" {
				v = "12"
			}
			file("/etc/debian_version", map[string]string{"12": "12.5", "11": "11.9", "10": "10.13"}[v]+"\n", 0o644, 0, 0)
			if f.root.children["etc"].children["debian_version"].data[0] == '\n' {
				file("/etc/debian_version", v+".0\n", 0o644, 0, 0)
			}
		} else if p.id == "ubuntu" {
			file("/etc/debian_version", "bookworm/sid\n", 0o644, 0, 0)
			file("/etc/lsb-release", fmt.Sprintf("DISTRIB_ID=Ubuntu\nDISTRIB_RELEASE=%s\nDISTRIB_CODENAME=%s\nDISTRIB_DESCRIPTION=\"%s\"\n", p.versionID, p.osr["VERSION_CODENAME"], p.pretty), 0o644, 0, 0)
		} else {
			file("/etc/debian_version", "kali-rolling\n", 0o644, 0, 0)
		}
		dir("/etc/apt", 0o755, 0, 0)
		file("/etc/apt/sources.list", s.aptSources(), 0o644, 0, 0)
		file("/etc/bash.bashrc", "# System-wide .bashrc file for interactive bash(1) shells.\n[ -z \"$PS1\" ] && return\nshopt -s checkwinsize\n", 0o644, 0, 0)
	case "rhel":
		rel := p.pretty
		if n, v := p.osr["NAME"], p.osr["VERSION"]; n != "" && v != "" {
			rel = n + " release " + v
			if p.id == "centos" && strings.HasPrefix(p.versionID, "7") {
				rel = "CentOS Linux release 7.9.2009 (Core)"
			}
		}
		file("/etc/redhat-release", rel+"\n", 0o644, 0, 0)
		file("/etc/system-release", rel+"\n", 0o644, 0, 0)
		dir("/etc/yum.repos.d", 0o755, 0, 0)
		file("/etc/bashrc", "# /etc/bashrc\n\n# System wide functions and aliases\n# Environment stuff goes in /etc/profile\n", 0o644, 0, 0)
	case "alpine":
		v := p.versionID
		file("/etc/alpine-release", v+"\n", 0o644, 0, 0)
		dir("/etc/apk", 0o755, 0, 0)
		major := v
		if i := strings.LastIndex(v, "."); i > 0 && strings.Count(v, ".") == 2 {
			major = v[:i]
		}
		file("/etc/apk/repositories", fmt.Sprintf("https://dl-cdn.alpinelinux.org/alpine/v%s/main\nhttps://dl-cdn.alpinelinux.org/alpine/v%s/community\n", major, major), 0o644, 0, 0)
		dir("/etc/crontabs", 0o755, 0, 0)
		file("/etc/crontabs/root", "# do daily/weekly/monthly maintenance\n# min\thour\tday\tmonth\tweekday\tcommand\n*/15\t*\t*\t*\t*\trun-parts /etc/periodic/15min\n0\t*\t*\t*\t*\trun-parts /etc/periodic/hourly\n0\t2\t*\t*\t*\trun-parts /etc/periodic/daily\n", 0o600, 0, 0)
	case "arch":
		file("/etc/arch-release", "", 0o644, 0, 0)
		file("/etc/pacman.conf", "[options]\nHoldPkg     = pacman glibc\nArchitecture = auto\n\n[core]\nInclude = /etc/pacman.d/mirrorlist\n\n[extra]\nInclude = /etc/pacman.d/mirrorlist\n", 0o644, 0, 0)
	}

	// Homes, with bait.
	dir("/root/.ssh", 0o700, 0, 0)
	file("/root/.ssh/authorized_keys", "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI"+randB64(r, 43)+" ops@bastion\n", 0o600, 0, 0)
	file("/root/.ssh/known_hosts", fmt.Sprintf("|1|%s=|%s= ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI%s\n", randB64(r, 27), randB64(r, 27), randB64(r, 43)), 0o644, 0, 0)
	histFile := "/root/.bash_history"
	switch p.shellKind {
	case "ash", "sh":
		histFile = "/root/.ash_history"
	case "zsh":
		histFile = "/root/.zsh_history"
		file("/root/.zshrc", "# ~/.zshrc file for zsh interactive shells.\nsetopt autocd interactivecomments magicequalsubst nonomatch notify numericglobsort promptsubst\nHISTFILE=~/.zsh_history\nHISTSIZE=1000\nSAVEHIST=2000\n", 0o644, 0, 0)
	default:
		file("/root/.bashrc", s.bashrc(true), 0o644, 0, 0)
	}
	file("/root/.profile", "# ~/.profile: executed by Bourne-compatible login shells.\n\nif [ \"$BASH\" ]; then\n  if [ -f ~/.bashrc ]; then\n    . ~/.bashrc\n  fi\nfi\n\nmesg n 2> /dev/null || true\n", 0o644, 0, 0)
	file(histFile, s.rootHistory(), 0o600, 0, 0)
	if s.p.family == "debian" || s.p.family == "rhel" {
		file("/root/.my.cnf", fmt.Sprintf("[client]\nuser=root\npassword=%s\n", p.dbPass), 0o600, 0, 0)
	}
	for _, a := range p.accounts {
		if a.uid < 1000 || a.uid >= 65534 {
			continue
		}
		dir(a.home, 0o750, a.uid, a.gid)
		file(a.home+"/.bashrc", s.bashrc(false), 0o644, a.uid, a.gid)
		file(a.home+"/.profile", "# ~/.profile: executed by the command interpreter for login shells.\n", 0o644, a.uid, a.gid)
		file(a.home+"/.bash_logout", "# ~/.bash_logout: executed by bash(1) when login shell exits.\n", 0o644, a.uid, a.gid)
		dir(a.home+"/.ssh", 0o700, a.uid, a.gid)
		if a.name == p.adminUser {
			file(a.home+"/.bash_history", "ls -la\nsudo -i\ncd /var/www/html\ngit status\nexit\n", 0o600, a.uid, a.gid)
		}
	}

	// Web root, scripts and logs.
	dir("/var/www", 0o755, 0, 0)
	dir("/var/www/html", 0o755, 33, 33)
	file("/var/www/html/index.html", "<!DOCTYPE html>\n<html>\n<head>\n<title>Welcome to nginx!</title>\n</head>\n<body>\n<h1>Welcome to nginx!</h1>\n<p>If you see this page, the nginx web server is successfully installed and\nworking. Further configuration is required.</p>\n</body>\n</html>\n", 0o644, 33, 33)
	file("/var/www/html/config.php", fmt.Sprintf("<?php\n// database settings\ndefine('DB_HOST', '%s');\ndefine('DB_NAME', 'app_prod');\ndefine('DB_USER', 'app');\ndefine('DB_PASSWORD', '%s');\n", p.neighbour, p.dbPass), 0o640, 33, 33)
	dir("/opt/scripts", 0o755, 0, 0)
	file("/opt/scripts/backup.sh", fmt.Sprintf("#!/bin/bash\n# nightly dump, copied to the backup host\nset -e\nDATE=$(date +%%F)\nmysqldump -h %s -u app -p'%s' app_prod | gzip > /var/backups/app_prod-$DATE.sql.gz\nscp /var/backups/app_prod-$DATE.sql.gz backup@%s:/srv/backups/\nfind /var/backups -name '*.sql.gz' -mtime +14 -delete\n", p.neighbour, p.dbPass, p.neighbour), 0o750, 0, 0)
	for i := 1; i <= 3; i++ {
		d := p.bootAt.AddDate(0, 0, -i)
		f.add(fmt.Sprintf("/var/backups/app_prod-%s.sql.gz", d.Format("2006-01-02")), &node{size: int64(2_000_000 + r.IntN(900_000)), mode: 0o644, mtime: d.Add(2*time.Hour + 30*time.Minute)})
	}
	logs := []string{"wtmp", "btmp", "lastlog"}
	switch p.family {
	case "debian":
		logs = append(logs, "syslog", "auth.log", "kern.log", "dpkg.log", "apt")
	case "rhel":
		logs = append(logs, "messages", "secure", "cron", "dnf.log")
	case "alpine":
		logs = append(logs, "messages")
	case "arch":
		logs = append(logs, "pacman.log", "journal")
	}
	for _, l := range logs {
		if l == "apt" || l == "journal" {
			dir("/var/log/"+l, 0o755, 0, 0)
			continue
		}
		f.add("/var/log/"+l, &node{size: int64(10_000 + r.IntN(900_000)), mode: 0o640, gid: 4, mtime: s.now().Add(-time.Duration(r.IntN(3600)) * time.Second)})
	}
	dir("/var/spool/cron", 0o755, 0, 0)

	// /proc and /sys basics (generated on read).
	gen("/proc/cpuinfo", s.cpuinfo)
	gen("/proc/meminfo", s.meminfo)
	gen("/proc/version", s.procVersion)
	gen("/proc/uptime", func() string {
		up := s.now().Sub(p.bootAt).Seconds()
		return fmt.Sprintf("%.2f %.2f\n", up, up*float64(p.cores)*0.97)
	})
	gen("/proc/loadavg", func() string {
		return fmt.Sprintf("%s 1/%d %d\n", s.loadavg(" "), 120+len(p.procs), p.procs[len(p.procs)-1].pid+40)
	})
	gen("/proc/cmdline", func() string {
		if p.family == "rhel" {
			return "BOOT_IMAGE=(hd0,msdos1)/vmlinuz-" + p.distro.Kernel + " root=/dev/mapper/rl-root ro crashkernel=auto resume=/dev/mapper/rl-swap rhgb quiet\n"
		}
		return "BOOT_IMAGE=/boot/vmlinuz-" + p.distro.Kernel + " root=UUID=" + uuidLike(p.rng) + " ro quiet\n"
	})
	gen("/proc/mounts", s.mounts)
	gen("/proc/sys/kernel/hostname", func() string { return p.hostname + "\n" })
	gen("/proc/sys/kernel/osrelease", func() string { return p.distro.Kernel + "\n" })
	for _, pr := range p.procs {
		f.add(fmt.Sprintf("/proc/%d", pr.pid), &node{dir: true, mode: 0o555, mtime: p.bootAt})
	}
	link("/proc/self", fmt.Sprint(s.bashPid))
	f.add(fmt.Sprintf("/proc/%d", s.bashPid), &node{dir: true, mode: 0o555, uid: p.uid, gid: p.gid, mtime: s.start})
	gen(fmt.Sprintf("/proc/%d/cmdline", s.bashPid), func() string { return "-" + pathBase(p.shellPath) + "\x00" })
	gen(fmt.Sprintf("/proc/%d/environ", s.bashPid), func() string {
		var b strings.Builder
		for _, k := range s.envKeys() {
			b.WriteString(k + "=" + s.vars[k] + "\x00")
		}
		return b.String()
	})
	dir("/sys/class", 0o755, 0, 0)
	dir("/sys/class/net", 0o755, 0, 0)
	// A VM's NIC hangs off PCI; only lo is virtual (a virtual eth0 is a container tell).
	link("/sys/class/net/"+p.iface, "../../devices/pci0000:00/0000:00:12.0/virtio2/net/"+p.iface)
	link("/sys/class/net/lo", "../../devices/virtual/net/lo")
	gen("/sys/devices/pci0000:00/0000:00:12.0/virtio2/net/"+p.iface+"/address", func() string { return p.mac + "\n" })
	gen("/sys/devices/virtual/net/lo/address", func() string { return "00:00:00:00:00:00\n" })
	dir("/run/sshd", 0o755, 0, 0)
	dir("/run/user", 0o755, 0, 0)
	dir("/var/run", 0o755, 0, 0)
	delete(f.root.children["var"].children, "run")
	link("/var/run", "/run")
}

func pathBase(p string) string {
	if i := strings.LastIndexByte(p, '/'); i >= 0 {
		return p[i+1:]
	}
	return p
}

func randHex(r interface{ IntN(int) int }, n int) string {
	const hexd = "0123456789abcdef"
	b := make([]byte, n)
	for i := range b {
		b[i] = hexd[r.IntN(16)]
	}
	return string(b)
}

func randB64(r interface{ IntN(int) int }, n int) string {
	const c = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
	b := make([]byte, n)
	for i := range b {
		b[i] = c[r.IntN(64)]
	}
	return string(b)
}

func uuidLike(r interface{ IntN(int) int }) string {
	h := randHex(r, 32)
	return h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:]
}

func (s *Shell) issue() string {
	p := s.p
	switch p.family {
	case "rhel":
		return "\\S\nKernel \\r on an \\m\n\n"
	case "alpine":
		return fmt.Sprintf("Welcome to Alpine Linux %s\nKernel \\r on an \\m (\\l)\n\n", strings.Join(strings.SplitN(p.versionID, ".", 3)[:min(2, len(strings.SplitN(p.versionID, ".", 3)))], "."))
	case "arch":
		return "Arch Linux \\r (\\l)\n\n"
	}
	name := p.pretty
	if p.id == "debian" {
		name = strings.TrimSpace(p.osr["NAME"] + " " + p.versionID)
	}
	return name + " \\n \\l\n\n"
}

func (s *Shell) passwdText() string {
	var b strings.Builder
	for _, a := range s.p.accounts {
		gecos := a.gecos
		if s.p.family == "debian" && a.uid >= 1000 && a.uid < 65534 {
			gecos += ",,,"
		}
		fmt.Fprintf(&b, "%s:x:%d:%d:%s:%s:%s\n", a.name, a.uid, a.gid, gecos, a.home, a.shell)
	}
	return b.String()
}

func (s *Shell) groupText() string {
	var b strings.Builder
	seen := map[int]bool{}
	admin := "sudo"
	if s.p.family != "debian" {
		admin = "wheel"
	}
	fmt.Fprintf(&b, "root:x:0:\n")
	seen[0] = true
	if s.p.family == "debian" {
		fmt.Fprintf(&b, "adm:x:4:syslog,%s\nsudo:x:27:%s\nshadow:x:42:\n", s.p.adminUser, s.p.adminUser)
	} else {
		fmt.Fprintf(&b, "adm:x:4:\nwheel:x:10:%s\n", s.p.adminUser)
	}
	_ = admin
	seen[4], seen[27], seen[42], seen[10] = true, true, true, true
	for _, a := range s.p.accounts {
		if seen[a.gid] {
			continue
		}
		seen[a.gid] = true
		fmt.Fprintf(&b, "%s:x:%d:\n", s.p.groupName(a.gid), a.gid)
	}
	return b.String()
}

func (s *Shell) shadowText() string {
	var b strings.Builder
	r := s.p.rng
	days := int(s.p.installAt.Unix() / 86400)
	for _, a := range s.p.accounts {
		hash := "*"
		if a.name == "root" || (a.uid >= 1000 && a.uid < 65534) {
			if s.p.family == "debian" && s.p.id != "kali" && majorVersion(s.p.versionID) >= 11 || s.p.id == "ubuntu" && majorVersion(s.p.versionID) >= 22 {
				hash = "$y$j9T$" + randB64(r, 22) + "$" + randB64(r, 43)
			} else {
				hash = "$6$" + randB64(r, 16) + "$" + randB64(r, 86)
			}
			hash = strings.ReplaceAll(hash, "+", ".")
		} else if s.p.family == "rhel" {
			hash = "!!"
		}
		fmt.Fprintf(&b, "%s:%s:%d:0:99999:7:::\n", a.name, hash, days)
	}
	return b.String()
}

func (s *Shell) aptSources() string {
	p := s.p
	code := p.osr["VERSION_CODENAME"]
	switch p.id {
	case "ubuntu":
		return fmt.Sprintf("deb http://archive.ubuntu.com/ubuntu/ %s main restricted universe multiverse\ndeb http://archive.ubuntu.com/ubuntu/ %s-updates main restricted universe multiverse\ndeb http://security.ubuntu.com/ubuntu/ %s-security main restricted universe multiverse\n", code, code, code)
	case "kali":
		return "deb http://http.kali.org/kali kali-rolling main contrib non-free non-free-firmware\n"
	}
	if code == "" {
		code = "bookworm"
	}
	return fmt.Sprintf("deb http://deb.debian.org/debian %s main\ndeb http://deb.debian.org/debian-security %s-security main\ndeb http://deb.debian.org/debian %s-updates main\n", code, code, code)
}

func (s *Shell) bashrc(root bool) string {
	if s.p.family == "rhel" {
		return "# .bashrc\n\n# User specific aliases and functions\n\nalias rm='rm -i'\nalias cp='cp -i'\nalias mv='mv -i'\n\n# Source global definitions\nif [ -f /etc/bashrc ]; then\n\t. /etc/bashrc\nfi\n"
	}
	return "# ~/.bashrc: executed by bash(1) for non-login shells.\n\n# If not running interactively, don't do anything\n[ -z \"$PS1\" ] && return\n\nHISTCONTROL=ignoreboth\nHISTSIZE=1000\nHISTFILESIZE=2000\n\nalias ll='ls -alF'\nalias la='ls -A'\nalias l='ls -CF'\n"
}

func (s *Shell) rootHistory() string {
	p := s.p
	upd := map[string]string{"apt": "apt update && apt upgrade -y", "dnf": "dnf update -y", "yum": "yum update -y",
		"apk": "apk update && apk upgrade", "pacman": "pacman -Syu"}[p.pkg]
	return strings.Join([]string{
		upd,
		"systemctl status nginx",
		"vi /etc/nginx/sites-available/default",
		"nginx -t",
		"systemctl reload nginx",
		"cd /var/www/html",
		"ls -la",
		"mysql -h " + p.neighbour.String() + " -u app -p",
		"cat /opt/scripts/backup.sh",
		"ssh backup@" + p.neighbour.String(),
		"crontab -l",
		"df -h",
		"tail -n 100 /var/log/" + map[bool]string{true: "auth.log", false: "messages"}[p.family == "debian"],
		"passwd " + p.adminUser,
		"history -c",
		"ls -la /var/backups",
		"exit",
	}, "\n") + "\n"
}
