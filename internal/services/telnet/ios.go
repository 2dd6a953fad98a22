package telnet

import (
	"context"
	"encoding/base64"
	"fmt"
	"hash/fnv"
	"strings"
	"time"

	"decnet/internal/event"
	"decnet/internal/service"
)

// ios is a small Cisco IOS user-EXEC emulation for the cisco style: what a vty user
// who is not yet "enable" sees. internal/shell emulates a Linux shell, which does not
// fit a router, so the cisco style gets this instead. It answers the common
// reconnaissance commands (show version/clock/users/ip interface brief/interfaces/
// history/privilege, ping, traceroute, terminal), accepts IOS's abbreviations
// ("sh ver"), refuses enable (every enable password is recorded) and answers
// everything else with IOS's error texts. Nothing is executed or sent anywhere.
type ios struct {
	ss      *session
	user    string
	host    string
	started time.Time
	history []string
}

const (
	maxIOSLine    = 512
	maxIOSHistory = 20 // IOS's default history size is 10 (terminal history size ≤ 256)
)

func newIOS(ss *session, user string) *ios {
	host := ss.s.hostname()
	if i := strings.IndexByte(host, '.'); i > 0 {
		host = host[:i]
	}
	return &ios{ss: ss, user: user, host: host, started: time.Now()}
}

// iosCmds are the user-EXEC commands, in the order "?" lists them.
var iosCmds = []struct{ name, help string }{
	{"connect", "Open a terminal connection"},
	{"disable", "Turn off privileged commands"},
	{"enable", "Turn on privileged commands"},
	{"exit", "Exit from the EXEC"},
	{"help", "Description of the interactive help system"},
	{"logout", "Exit from the EXEC"},
	{"ping", "Send echo messages"},
	{"quit", "Exit from the EXEC"},
	{"show", "Show running system information"},
	{"ssh", "Open a secure shell client connection"},
	{"telnet", "Open a telnet connection"},
	{"terminal", "Set terminal line parameters"},
	{"traceroute", "Trace route to destination"},
}

var iosShow = []struct{ name, help string }{
	{"clock", "Display the system clock"},
	{"history", "Display the session command history"},
	{"interfaces", "Interface status and configuration"},
	{"ip", "IP information"},
	{"privilege", "Show current privilege level"},
	{"users", "Display information about terminal lines"},
	{"version", "System hardware and software status"},
}

// match resolves an abbreviation against names: the full name, "" when none, and
// ambiguous when several match.
func match(word string, names []string) (string, bool) {
	word = strings.ToLower(word)
	var found []string
	for _, n := range names {
		if n == word {
			return n, false
		}
		if strings.HasPrefix(n, word) {
			found = append(found, n)
		}
	}
	switch len(found) {
	case 0:
		return "", false
	case 1:
		return found[0], false
	}
	return "", true
}

func names(list []struct{ name, help string }) []string {
	out := make([]string, len(list))
	for i, c := range list {
		out[i] = c.name
	}
	return out
}

func (o *ios) prompt() string { return o.host + ">" }

func (o *ios) run(ctx context.Context) {
	t := o.ss.t
	// The password was not echoed, so the cursor still sits after "Password: ".
	if t.writeString("\r\n") != nil {
		return
	}
	for {
		if t.writeString(o.prompt()) != nil {
			return
		}
		line, ok, err := t.readLine(ctx, t.echoing(), maxIOSLine)
		if err != nil {
			return
		}
		if !ok {
			if t.writeString("\r\n") != nil {
				return
			}
			continue
		}
		out, quit := o.exec(ctx, line)
		if out != "" && t.writeString(crlf(out)) != nil {
			return
		}
		if quit {
			return
		}
	}
}

// invalid is IOS's answer to a bad word: a caret under it (the prompt counts).
func (o *ios) invalid(line string, at int) string {
	return strings.Repeat(" ", len(o.prompt())+at) + "^\n% Invalid input detected at '^' marker.\n"
}

// exec runs one line and returns its output and whether the session ends.
func (o *ios) exec(ctx context.Context, line string) (string, bool) {
	trimmed := strings.TrimSpace(line)
	if trimmed == "" {
		return "", false
	}
	f := map[string]string{"via": "telnet", "mode": "user-exec"}
	service.SetPrintable(f, "command", trimmed)
	service.SetPrintable(f, "username", o.user)
	o.ss.c.Emit(event.Command, f, "")
	if len(o.history) >= maxIOSHistory {
		o.history = o.history[1:]
	}
	o.history = append(o.history, trimmed)

	words := strings.Fields(trimmed)
	offset := func(i int) int { // position of word i in line
		pos := 0
		rest := line
		for j := 0; j <= i; j++ {
			k := strings.Index(rest, words[j])
			if j == i {
				return pos + k
			}
			pos += k + len(words[j])
			rest = rest[k+len(words[j]):]
		}
		return 0
	}
	if words[0] == "?" || strings.HasSuffix(words[0], "?") && len(words) == 1 {
		var b strings.Builder
		b.WriteString("Exec commands:\n")
		for _, c := range iosCmds {
			fmt.Fprintf(&b, "  %-13s%s\n", c.name, c.help)
		}
		return b.String(), false
	}
	cmd, amb := match(words[0], names(iosCmds))
	if amb {
		return fmt.Sprintf("%% Ambiguous command:  \"%s\"\n", trimmed), false
	}
	switch cmd {
	case "":
		return "Translating \"" + words[0] + "\"\n% Unknown command or computer name, or unable to find computer address\n", false
	case "exit", "logout", "quit":
		return "", true
	case "disable", "help":
		if cmd == "help" {
			return "Help may be requested at any point in a command by entering\na question mark '?'.  If nothing matches, the help list will\nbe empty and you must backup until entering a '?' shows the\navailable options.\n", false
		}
		return "", false
	case "enable":
		return o.enable(ctx), false
	case "terminal":
		if len(words) < 2 {
			return "% Incomplete command.\n", false
		}
		return "", false
	case "ping", "traceroute":
		if len(words) < 2 {
			return "% Incomplete command.\n", false
		}
		if cmd == "traceroute" {
			return "Type escape sequence to abort.\nTracing the route to " + words[1] + "\nVRF info: (vrf in name/id, vrf out name/id)\n  1  *  *  * \n", false
		}
		return "Type escape sequence to abort.\nSending 5, 100-byte ICMP Echos to " + words[1] + ", timeout is 2 seconds:\n.....\nSuccess rate is 0 percent (0/5)\n", false
	case "telnet", "connect", "ssh":
		if len(words) < 2 {
			return "% Incomplete command.\n", false
		}
		return "Trying " + words[len(words)-1] + " ... \n% Connection timed out; remote host not responding\n", false
	case "show":
		if len(words) < 2 {
			return "% Type \"show ?\" for a list of subcommands\n", false
		}
		if words[1] == "?" {
			var b strings.Builder
			for _, c := range iosShow {
				fmt.Fprintf(&b, "  %-13s%s\n", c.name, c.help)
			}
			return b.String(), false
		}
		sub, amb := match(words[1], names(iosShow))
		if amb {
			return fmt.Sprintf("%% Ambiguous command:  \"%s\"\n", trimmed), false
		}
		if sub == "" {
			return o.invalid(line, offset(1)), false
		}
		return o.show(sub, words, line, offset), false
	}
	return "", false
}

func (o *ios) show(sub string, words []string, line string, offset func(int) int) string {
	rt := o.ss.s.rt
	now := time.Now().UTC()
	switch sub {
	case "clock":
		return "*" + now.Format("15:04:05.000 UTC Mon Jan 2 2006") + "\n"
	case "history":
		return "  " + strings.Join(o.history, "\n  ") + "\n"
	case "privilege":
		return "Current privilege level is 1\n"
	case "users":
		return "    Line       User       Host(s)              Idle       Location\n" +
			fmt.Sprintf("*  1 vty 0     %-10s idle                 00:00:00 %s\n\n", truncate(event.SafeTerminal(o.user), 10), o.ss.c.Peer.Addr()) +
			"  Interface    User               Mode         Idle     Peer Address\n\n"
	case "version":
		d := rt.Distro
		return strings.TrimRight(d.OSRelease, "\n") + "\n\n" +
			o.host + " uptime is " + o.uptime() + "\n" +
			"System returned to ROM by power-on\n" +
			"System image file is \"flash:" + imageName(d.KernelBuild, d.Kernel) + "\"\n\n" +
			"cisco " + d.Arch + " (APM86XXX) processor (revision A0) with 524288K bytes of memory.\n" +
			"Processor board ID " + o.serial() + "\n" +
			"Last reset from power-on\n" +
			"1 Virtual Ethernet interface\n" +
			"28 Gigabit Ethernet interfaces\n" +
			"The password-recovery mechanism is enabled.\n\n" +
			"512K bytes of flash-simulated non-volatile configuration memory.\n" +
			"Base ethernet MAC Address       : " + o.mac() + "\n" +
			"Model number                    : " + d.Arch + "\n" +
			"System serial number            : " + o.serial() + "\n\n" +
			"Configuration register is 0xF\n"
	case "interfaces", "ip":
		if sub == "ip" {
			if len(words) < 3 {
				return "% Incomplete command.\n"
			}
			if w, _ := match(words[2], []string{"interface"}); w == "" {
				return o.invalid(line, offset(2))
			}
		}
		ip := rt.Config.IP
		if i := strings.IndexByte(ip, '/'); i >= 0 {
			ip = ip[:i]
		}
		if ip == "" {
			ip = "unassigned"
		}
		if sub == "ip" {
			return "Interface              IP-Address      OK? Method Status                Protocol\n" +
				fmt.Sprintf("%-23s%-16sYES NVRAM  up                    up      \n", "Vlan1", ip) +
				"GigabitEthernet1/0/1   unassigned      YES unset  up                    up      \n" +
				"GigabitEthernet1/0/2   unassigned      YES unset  down                  down    \n" +
				"GigabitEthernet1/0/3   unassigned      YES unset  up                    up      \n" +
				"GigabitEthernet1/0/4   unassigned      YES unset  down                  down    \n"
		}
		return "Vlan1 is up, line protocol is up \n" +
			"  Hardware is EtherSVI, address is " + o.mac() + " (bia " + o.mac() + ")\n" +
			"  Internet address is " + ip + "/24\n" +
			"  MTU 1500 bytes, BW 1000000 Kbit/sec, DLY 10 usec, \n" +
			"     reliability 255/255, txload 1/255, rxload 1/255\n"
	}
	return ""
}

// enable asks for the enable secret three times and refuses it, as IOS does for a
// wrong one; every attempt is an auth event.
func (o *ios) enable(ctx context.Context) string {
	t := o.ss.t
	for i := 0; i < 3; i++ {
		if t.writeString("Password: ") != nil {
			return ""
		}
		pw, ok, err := t.readLine(ctx, false, maxField)
		if err != nil || !ok {
			return ""
		}
		t.writeString("\r\n")
		f := map[string]string{"method": "enable", "outcome": "failure", "style": StyleCisco,
			"password": event.SafeTerminal(pw), "secret_kind": "plaintext"}
		f["secret_b64"] = base64.StdEncoding.EncodeToString([]byte(pw))
		service.SetPrintable(f, "username", o.user)
		o.ss.c.Emit(event.Auth, f, "")
	}
	return "% Bad secrets\n"
}

// uptime, serial and mac are stable per decky (derived from its name).
func (o *ios) seed() uint64 {
	h := fnv.New64a()
	h.Write([]byte(o.ss.s.rt.Config.Decky + "/" + o.host))
	return h.Sum64()
}

func (o *ios) uptime() string {
	s := o.seed()
	weeks, days, hours := 3+s%40, (s>>8)%7, (s>>16)%24
	mins := (uint64(time.Since(o.started).Minutes()) + (s>>24)%60) % 60
	return fmt.Sprintf("%d weeks, %d days, %d hours, %d minutes", weeks, days, hours, mins)
}

func (o *ios) serial() string {
	s := o.seed()
	const alnum = "ABCDEFGHJKLMNPQRSTUVWXYZ0123456789"
	b := []byte("FOC")
	for i := 0; i < 8; i++ {
		b = append(b, alnum[s%uint64(len(alnum))])
		s /= uint64(len(alnum))
	}
	return string(b)
}

func (o *ios) mac() string {
	s := o.seed()
	return fmt.Sprintf("70:db:98:%02x:%02x:%02x", byte(s>>40), byte(s>>48), byte(s>>56))
}

// imageName derives the flash image file name from IOS's version banner, e.g.
// "C2960X-UNIVERSALK9-M" + "15.2(7)E10" → "c2960x-universalk9-mz.152-7.E10.bin".
func imageName(build, version string) string {
	img := "C2960X-UNIVERSALK9-M"
	if i := strings.Index(build, "("); i >= 0 {
		if j := strings.Index(build[i:], ")"); j > 0 {
			img = build[i+1 : i+j]
		}
	}
	v := strings.NewReplacer(".", "", "(", "-", ")", ".").Replace(version)
	return strings.ToLower(img+"z.") + v + ".bin"
}
