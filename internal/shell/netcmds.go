package shell

import (
	"fmt"
	"math/rand/v2"
	"net/url"
	"strings"
)

func newRand(seed string) *rand.Rand {
	a, b := seedOf(seed)
	return rand.New(rand.NewPCG(a, b))
}

// ---- downloads: recorded, never performed ----

func (s *Shell) downloadAttempt(tool, u string) {
	s.emit("download_attempt", map[string]string{"url": u, "tool": tool})
}

// urlHost returns the host and port (with the scheme's default) of a URL as typed.
func urlHost(raw string) (scheme, host, port string) {
	v := raw
	if !strings.Contains(v, "://") {
		v = "http://" + v
	}
	u, err := url.Parse(v)
	if err != nil || u.Host == "" {
		h := strings.TrimPrefix(strings.TrimPrefix(raw, "http://"), "https://")
		h, _, _ = strings.Cut(h, "/")
		return "http", h, "80"
	}
	port = u.Port()
	if port == "" {
		port = map[string]string{"https": "443", "ftp": "21", "tftp": "69"}[u.Scheme]
		if port == "" {
			port = "80"
		}
	}
	return u.Scheme, u.Hostname(), port
}

func isIPLiteral(h string) bool {
	if h == "" {
		return false
	}
	return strings.Trim(h, "0123456789.") == "" || strings.Contains(h, ":")
}

func cmdWget(e *env) int {
	s := e.s
	f := parseFlags(e.args, "OoPUTtqe")
	quiet := f.short['q']
	if len(f.rest) == 0 {
		if s.p.busybox || s.bbApplet {
			e.errorf("BusyBox v1.36.1 (2023-11-07 18:53:09 UTC) multi-call binary.\n\nUsage: wget [-cqS] [--spider] [-O FILE] [-o LOGFILE] [--header STR]\n\t[--post-data STR | --post-file FILE] [-Y on/off]\n\t[-P DIR] [-U AGENT] [-T SEC] URL...\n")
			return 1
		}
		e.errorf("wget: missing URL\nUsage: wget [OPTION]... [URL]...\n\nTry `wget --help' for more options.\n")
		return 1
	}
	status := 0
	for _, u := range f.rest {
		s.downloadAttempt("wget", u)
		scheme, host, port := urlHost(u)
		if s.p.busybox || s.bbApplet {
			if isIPLiteral(host) {
				e.errorf("Connecting to %s (%s:%s)\nwget: can't connect to remote host (%s): Connection timed out\n", host, host, port, host)
			} else {
				e.errorf("wget: bad address '%s'\n", host)
			}
			status = 1
			continue
		}
		full := u
		if !strings.Contains(u, "://") {
			full = "http://" + u
		}
		if !quiet {
			e.errorf("--%s--  %s\n", s.now().Format("2006-01-02 15:04:05"), full)
		}
		if isIPLiteral(host) {
			if !quiet {
				e.errorf("Connecting to %s:%s... failed: Connection timed out.\nRetrying.\n\n", host, port)
			}
			status = 4
			continue
		}
		_ = scheme
		if !quiet {
			e.errorf("Resolving %s (%s)... failed: Temporary failure in name resolution.\n", host, host)
			e.errorf("wget: unable to resolve host address ‘%s’\n", host)
		}
		status = 4
	}
	return status
}

func cmdCurl(e *env) int {
	s := e.s
	f := parseFlags(e.args, "ouHdAXxeTrmwFKbcEzY")
	if len(f.rest) == 0 {
		e.errorf("curl: try 'curl --help' or 'curl --manual' for more information\n")
		return 2
	}
	silent := f.short['s'] && !f.short['S']
	status := 0
	for _, u := range f.rest {
		s.downloadAttempt("curl", u)
		_, host, port := urlHost(u)
		if isIPLiteral(host) {
			if !silent {
				e.errorf("curl: (28) Failed to connect to %s port %s after 130311 ms: Connection timed out\n", host, port)
			}
			status = 28
			continue
		}
		if !silent {
			e.errorf("curl: (6) Could not resolve host: %s\n", host)
		}
		status = 6
	}
	return status
}

func cmdTftp(e *env) int {
	s := e.s
	f := parseFlags(e.args, "lr")
	host := ""
	if len(f.rest) > 0 {
		host = f.rest[0]
	}
	file, _ := f.val('r')
	if file == "" {
		file, _ = f.val('l')
	}
	if host == "" {
		e.errorf("usage: tftp [-4][-6][-v][-V][-l][-m mode][-R port:port] [host [port]] [-c command]\n")
		return 1
	}
	u := "tftp://" + host + "/" + strings.TrimPrefix(file, "/")
	s.downloadAttempt("tftp", u)
	e.errorf("Transfer timed out.\n\n")
	return 1
}

func cmdFtpget(e *env) int {
	f := parseFlags(e.args, "uPp")
	if len(f.rest) < 2 {
		e.errorf("BusyBox v1.36.1 multi-call binary.\n\nUsage: ftpget [OPTIONS] HOST [LOCAL_FILE] REMOTE_FILE\n")
		return 1
	}
	host, remote := f.rest[0], f.rest[len(f.rest)-1]
	e.s.downloadAttempt("ftpget", "ftp://"+host+"/"+strings.TrimPrefix(remote, "/"))
	e.errorf("ftpget: can't connect to remote host (%s): Connection timed out\n", host)
	return 1
}

func cmdScp(e *env) int {
	f := parseFlags(e.args, "PiFoSlc")
	if len(f.rest) < 2 {
		e.errorf("usage: scp [-346ABCOpqRrsTv] [-c cipher] [-D sftp_server_path] [-F ssh_config]\n           [-i identity_file] [-J destination] [-l limit] [-o ssh_option]\n           [-P port] [-S program] [-X sftp_option] source ... target\n")
		return 1
	}
	for _, a := range f.rest {
		if host, p, ok := strings.Cut(a, ":"); ok && !strings.Contains(host, "/") {
			user := ""
			if u, h, ok := strings.Cut(host, "@"); ok {
				user, host = u+"@", h
			}
			e.s.downloadAttempt("scp", "scp://"+user+host+"/"+strings.TrimPrefix(p, "/"))
			e.errorf("ssh: connect to host %s port 22: Connection timed out\nscp: Connection closed\n", host)
			return 255
		}
	}
	return 0
}

func cmdSSH(e *env) int {
	f := parseFlags(e.args, "pilLRDoFJcmOSWwEBbeQ")
	if len(f.rest) == 0 {
		e.errorf("usage: ssh [-46AaCfGgKkMNnqsTtVvXxYy] [-B bind_interface] [-b bind_address]\n           [-c cipher_spec] [-D [bind_address:]port] [-E log_file]\n           [-e escape_char] [-F configfile] [-I pkcs11] [-i identity_file]\n           destination [command [argument ...]]\n")
		return 255
	}
	host := f.rest[0]
	if _, h, ok := strings.Cut(host, "@"); ok {
		host = h
	}
	port, ok := f.val('p')
	if !ok {
		port = "22"
	}
	if isIPLiteral(host) {
		e.errorf("ssh: connect to host %s port %s: Connection timed out\n", host, port)
	} else {
		e.errorf("ssh: Could not resolve hostname %s: Temporary failure in name resolution\n", host)
	}
	return 255
}

func cmdNc(e *env) int {
	f := parseFlags(e.args, "pswqeic")
	if f.short['l'] {
		return 0
	}
	if len(f.rest) == 0 {
		e.errorf("usage: nc [-46CDdFhklNnrStUuvZz] [-I length] [-i interval] [-M ttl]\n\t  [-m minttl] [-O length] [-P proxy_username] [-p source_port]\n\t  [-q seconds] [-s sourceaddr] [-T keyword] [-V rtable] [-W recvlimit]\n\t  [-w timeout] [-X proxy_protocol] [-x proxy_address[:port]]\n\t  [destination] [port]\n")
		return 1
	}
	host := f.rest[0]
	port := ""
	if len(f.rest) > 1 {
		port = f.rest[1]
	}
	if f.short['v'] || !isIPLiteral(host) {
		if isIPLiteral(host) {
			e.errorf("nc: connect to %s port %s (tcp) failed: Connection timed out\n", host, port)
		} else {
			e.errorf("nc: getaddrinfo for host \"%s\" port %s: Temporary failure in name resolution\n", host, port)
		}
	}
	return 1
}

func cmdPing(e *env) int {
	f := parseFlags(e.args, "cWwiIst")
	if len(f.rest) == 0 {
		e.errorf("ping: usage error: Destination address required\n")
		return 1
	}
	host := f.rest[len(f.rest)-1]
	if !isIPLiteral(host) {
		e.errorf("ping: %s: Temporary failure in name resolution\n", host)
		return 2
	}
	count := "4"
	if c, ok := f.val('c'); ok {
		count = c
	}
	e.printf("PING %s (%s) 56(84) bytes of data.\n\n--- %s ping statistics ---\n%s packets transmitted, 0 received, 100%% packet loss, time 3062ms\n\n", host, host, host, count)
	return 1
}

// ---- privilege ----

// askPassword shows a password prompt in an interactive session and reports what was
// typed; outside Interact (ssh exec) there is no terminal to read it from.
func (s *Shell) askPassword(prompt, method, user string) (string, bool) {
	if s.readSecret == nil {
		return "", false
	}
	pw, ok := s.readSecret(prompt)
	if ok {
		s.emit("auth", map[string]string{"username": user, "password": pw, "secret_kind": "plaintext",
			"outcome": "failure", "method": method})
	}
	return pw, ok
}

func cmdSudo(e *env) int {
	s := e.s
	args := e.args
	for len(args) > 0 && strings.HasPrefix(args[0], "-") {
		switch args[0] {
		case "-u", "-g", "-p", "-C", "-h", "-r", "-t", "-U":
			if len(args) > 1 {
				args = args[1:]
			}
		case "-l":
			if s.p.uid == 0 {
				e.printf("Matching Defaults entries for root on %s:\n    env_reset, mail_badpass, secure_path=/usr/local/sbin\\:/usr/local/bin\\:/usr/sbin\\:/usr/bin\\:/sbin\\:/bin\n\nUser root may run the following commands on %s:\n    (ALL : ALL) ALL\n", s.p.shortHost, s.p.shortHost)
				return 0
			}
		case "-V":
			e.printf("Sudo version 1.9.13p3\n")
			return 0
		}
		args = args[1:]
	}
	if s.p.uid == 0 {
		if len(args) == 0 {
			e.errorf("usage: sudo -h | -K | -k | -V\nusage: sudo -v [-ABkNnS] [-g group] [-h host] [-p prompt] [-u user]\n")
			return 1
		}
		return s.dispatch(args, nil, e.stdin, e.out, e.err, e.depth, e.inPipe)
	}
	if s.readSecret == nil {
		e.errorf("sudo: a terminal is required to read the password; either use the -S option to read from standard input or configure an askpass helper\nsudo: a password is required\n")
		return 1
	}
	if _, ok := s.askPassword(fmt.Sprintf("[sudo] password for %s: ", s.p.user), "sudo", s.p.user); !ok {
		e.errorf("sudo: a password is required\n")
		return 1
	}
	e.errorf("%s is not in the sudoers file.  This incident will be reported.\n", s.p.user)
	return 1
}

func cmdSu(e *env) int {
	s := e.s
	target := "root"
	for _, a := range e.args {
		if !strings.HasPrefix(a, "-") {
			target = a
			break
		}
	}
	if s.p.uid == 0 {
		return 0
	}
	if s.readSecret == nil {
		e.errorf("su: must be run from a terminal\n")
		return 1
	}
	if _, ok := s.askPassword("Password: ", "su", target); !ok {
		return 1
	}
	if s.p.family == "alpine" {
		e.errorf("su: incorrect password\n")
	} else {
		e.errorf("su: Authentication failure\n")
	}
	return 1
}

func cmdPasswd(e *env) int {
	s := e.s
	target := s.p.user
	f := parseFlags(e.args, "")
	if len(f.rest) > 0 {
		target = f.rest[0]
	}
	if target != s.p.user && s.p.uid != 0 {
		e.errorf("passwd: You may not view or modify password information for %s.\n", target)
		return 1
	}
	if _, ok := s.p.lookupUser(target); !ok {
		e.errorf("passwd: user '%s' does not exist\n", target)
		return 1
	}
	if s.readSecret == nil {
		if f.short['S'] {
			e.printf("%s P %s 0 99999 7 -1\n", target, s.p.installAt.Format("2006-01-02"))
			return 0
		}
		e.errorf("passwd: Authentication token manipulation error\npasswd: password unchanged\n")
		return 10
	}
	if s.p.uid != 0 {
		if _, ok := s.askPassword("Current password: ", "passwd-current", target); !ok {
			return 10
		}
		e.errorf("passwd: Authentication token manipulation error\npasswd: password unchanged\n")
		return 10
	}
	p1, ok := s.readSecret("New password: ")
	if !ok {
		return 10
	}
	p2, ok := s.readSecret("Retype new password: ")
	if !ok {
		return 10
	}
	s.emit("auth", map[string]string{"username": target, "password": p1, "secret_kind": "plaintext",
		"outcome": "changed", "method": "passwd"})
	if p1 != p2 {
		e.errorf("Sorry, passwords do not match.\npasswd: Authentication token manipulation error\npasswd: password unchanged\n")
		return 10
	}
	e.printf("passwd: password updated successfully\n")
	return 0
}

func cmdChpasswd(e *env) int {
	s := e.s
	if s.p.uid != 0 {
		e.errorf("chpasswd: cannot lock /etc/passwd; try again later.\n")
		return 1
	}
	for _, l := range strings.Split(e.stdin, "\n") {
		user, pw, ok := strings.Cut(strings.TrimSpace(l), ":")
		if !ok {
			continue
		}
		s.emit("auth", map[string]string{"username": user, "password": pw, "secret_kind": "plaintext",
			"outcome": "changed", "method": "chpasswd"})
	}
	return 0
}

func cmdPrivileged(e *env) int {
	if e.s.p.uid != 0 {
		switch e.name {
		case "iptables":
			e.errorf("iptables v1.8.9 (nf_tables): Could not fetch rule set generation id: Permission denied (you must be root)\n")
			return 4
		case "useradd", "usermod", "userdel":
			e.errorf("%s: Permission denied.\n%s: cannot lock /etc/passwd; try again later.\n", e.name, e.name)
			return 1
		case "chattr":
			if len(e.args) > 1 {
				e.errorf("chattr: Operation not permitted while setting flags on %s\n", e.args[len(e.args)-1])
			}
			return 1
		}
		e.errorf("%s: Operation not permitted\n", e.name)
		return 1
	}
	switch e.name {
	case "iptables":
		if len(e.args) > 0 && (e.args[0] == "-L" || e.args[0] == "-nL" || e.args[0] == "-S") {
			e.printf("Chain INPUT (policy ACCEPT)\ntarget     prot opt source               destination         \n\nChain FORWARD (policy ACCEPT)\ntarget     prot opt source               destination         \n\nChain OUTPUT (policy ACCEPT)\ntarget     prot opt source               destination         \n")
		}
	case "useradd":
		f := parseFlags(e.args, "dsgGucpmke")
		if len(f.rest) > 0 {
			if _, ok := e.s.p.lookupUser(f.rest[0]); ok {
				e.errorf("useradd: user '%s' already exists\n", f.rest[0])
				return 9
			}
		}
	}
	return 0
}

func cmdSysctl(e *env) int {
	for _, a := range e.args {
		if strings.Contains(a, "=") && e.s.p.uid != 0 {
			k, _, _ := strings.Cut(a, "=")
			e.errorf("sysctl: permission denied on key \"%s\"\n", k)
			return 1
		}
		if a == "-a" {
			e.printf("kernel.hostname = %s\nkernel.osrelease = %s\nkernel.ostype = Linux\nnet.ipv4.ip_forward = 0\nvm.swappiness = 60\n", e.s.p.hostname, e.s.p.distro.Kernel)
		}
	}
	return 0
}

func cmdReboot(e *env) int {
	if e.s.p.uid != 0 {
		if e.s.p.systemd {
			e.errorf("Failed to set wall message, ignoring: Interactive authentication required.\nCall to %s failed: Interactive authentication required.\n", map[string]string{"reboot": "Reboot", "shutdown": "PowerOff", "halt": "Halt"}[e.name])
		} else {
			e.errorf("%s: Operation not permitted\n", e.name)
		}
		return 1
	}
	if e.name == "shutdown" && len(e.args) > 0 && e.args[0] == "-c" {
		return 0
	}
	if !e.inPipe {
		e.s.exited = true
	}
	return 0
}
