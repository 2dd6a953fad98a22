package analysis

import (
	"fmt"
	"regexp"
	"strconv"
	"strings"
)

// synSig is the passive fingerprint of one TCP SYN, as the sniffer's tcp_syn
// events report it.
type synSig struct {
	TTL     int    `json:"ttl"`
	Window  int    `json:"win"`
	MSS     int    `json:"mss"`    // -1 = no MSS option
	WScale  int    `json:"ws"`     // -1 = no window scale option
	Options string `json:"opts"`   // normalised layout, e.g. "mss,sok,ts,nop,ws" ("" = none)
	DF      int    `json:"df"`     // 1 = don't fragment, 0 = not, -1 = unknown
	IPLen   int    `json:"ip_len"` // 0 = unknown
	IPID    int    `json:"ip_id"`  // -1 = unknown
}

func atoiDefault(s string, def int) int {
	n, err := strconv.Atoi(strings.TrimSpace(s))
	if err != nil {
		return def
	}
	return n
}

// normOptions lowercases an option layout and drops p0f's padding counts
// ("eol+1" → "eol") and spaces.
func normOptions(s string) string {
	if s == "" {
		return ""
	}
	parts := strings.Split(strings.ToLower(s), ",")
	for i, p := range parts {
		p = strings.TrimSpace(p)
		if k, _, ok := strings.Cut(p, "+"); ok {
			p = k
		}
		if k, _, ok := strings.Cut(p, ":"); ok { // "ws:7" style
			p = k
		}
		parts[i] = p
	}
	return strings.Join(parts, ",")
}

// parseSyn reads a tcp_syn event's fields; ok is false without a usable TTL and window.
func parseSyn(f map[string]string) (synSig, bool) {
	s := synSig{
		TTL:     atoiDefault(f["ttl"], -1),
		Window:  atoiDefault(f["window"], -1),
		MSS:     atoiDefault(f["mss"], -1),
		WScale:  atoiDefault(f["wscale"], -1),
		Options: normOptions(cut(f["options"], 128)),
		DF:      atoiDefault(f["df"], -1),
		IPLen:   atoiDefault(f["ip_len"], 0),
		IPID:    atoiDefault(f["ip_id"], -1),
	}
	if s.TTL < 1 || s.TTL > 255 || s.Window < 0 || s.Window > 65535 {
		return s, false
	}
	if s.MSS == 0 && !strings.Contains(s.Options, "mss") {
		s.MSS = -1
	}
	if s.WScale == 0 && !strings.Contains(s.Options, "ws") {
		s.WScale = -1
	}
	return s, true
}

// key is a stable short form of the signature (the fingerprint value shown to users).
func (s synSig) key() string {
	df := "?"
	if s.DF >= 0 {
		df = strconv.Itoa(s.DF)
	}
	return fmt.Sprintf("ttl=%d(%d) win=%d mss=%d ws=%d df=%s opts=%s", s.TTL, initialTTL(s.TTL), s.Window, s.MSS, s.WScale, df, s.Options)
}

// initialTTL is the usual initial TTL (32, 64, 128 or 255) the observed TTL decayed from.
func initialTTL(ttl int) int {
	for _, t := range []int{32, 64, 128, 255} {
		if ttl <= t {
			return t
		}
	}
	return 255
}

// synEntry is one row of the SYN signature table: a p0f-like match on the
// initial TTL, window, options layout, MSS and DF. Zero-value constraints match
// anything (Windows: nil = any window; TTLMax: 0 = any).
type synEntry struct {
	Label   string // OS name, or the tool that crafted the packet
	Tool    bool   // Label is a scanning tool, not an OS
	TTLInit int    // required initial TTL (0 = any)
	TTLMax  int    // observed TTL at most this (0 = any): for tools that randomise it
	Windows []int  // allowed windows (nil = any)
	Options []string
	MSS     []int // allowed MSS (nil = any)
	DF      int   // 1 or 0 required, -1 = any
	IPID    int   // required IP ID when the event reports one (-1 = any)
	Conf    float64
	Desc    string // what the match means, for the evidence
}

// synTable is checked in order; the first matching entry wins. Tool entries come
// first: tools craft SYNs no OS sends.
//
// How the tool entries were measured (2026-11-26, Debian 12 tools, root, tcpdump +
// tshark on the capturing side):
//   - nmap 7.93 `nmap -sS -n -Pn -p 1-30 127.0.0.1` on lo: every SYN had TTL 37–59
//     (random per probe), window 1024, only an MSS option of 1460, DF clear,
//     ip_len 44. p0f lists windows 2048/3072/4096 for the same scan too.
//   - nmap 7.93 `nmap -O` against an open and a closed port on lo: the OS probes are
//     (window, options): (1, ws,nop,mss,ts,sok), (63, mss,ws,sok,ts,eol),
//     (4, ts,nop,nop,ws,nop,mss), (4, sok,ts,ws,eol), (16, mss,sok,ts,ws,eol),
//     (512, mss,sok,ts), (3, ws,nop,mss,sok,nop,nop) and (256 or 31337,
//     ws,nop,mss,ts,sok with MSS 265); TTL 37–59, DF clear. MSS values 1460, 1400,
//     640, 536 and 265.
//   - masscan 1.3.2 `masscan 10.199.77.2 -p1-40,80,443 --adapter dnt-ms0` over a
//     veth pair into a test namespace: TTL 255, window 1024, no TCP options at all,
//     DF clear, ip_len 40, random IP IDs.
//   - zmap is not installed here: its entry follows zmap's source
//     (src/probe_modules/module_tcp_synscan.c: window 65535, IP ID 54321, TTL 255,
//     no options before zmap 3; an MSS option since), not a capture.
//
// The OS entries follow p0f 3's p0f.fp and were checked against this host's own
// Linux SYNs (TTL 64, mss,sok,ts,nop,ws, wscale 10 on lo, DF set).
var synTable = []synEntry{
	{Label: "nmap", Tool: true, TTLMax: 64, Windows: []int{1024, 2048, 3072, 4096}, Options: []string{"mss"}, MSS: []int{1460}, DF: 0, IPID: -1, Conf: 0.95,
		Desc: "nmap SYN-scan probe: window 1024-4096, only MSS 1460, DF clear, TTL randomised below 64"},
	{Label: "nmap", Tool: true, TTLMax: 64, Options: []string{"ws,nop,mss,ts,sok", "mss,ws,sok,ts,eol", "ts,nop,nop,ws,nop,mss", "sok,ts,ws,eol", "mss,sok,ts,ws,eol", "mss,sok,ts", "ws,nop,mss,sok,nop,nop"},
		Windows: []int{1, 3, 4, 16, 63, 128, 256, 512, 1024, 31337, 32768, 65535}, MSS: []int{1460, 1400, 640, 536, 265, -1}, DF: 0, IPID: -1, Conf: 0.95,
		Desc: "nmap OS-detection probe: one of its fixed window/option combinations, DF clear"},
	{Label: "masscan", Tool: true, TTLInit: 255, Windows: []int{1024}, Options: []string{""}, DF: 0, IPID: -1, Conf: 0.9,
		Desc: "masscan SYN: window 1024, no TCP options, DF clear, TTL 255"},
	{Label: "zmap", Tool: true, TTLInit: 255, Windows: []int{65535}, Options: []string{"", "mss"}, DF: -1, IPID: 54321, Conf: 0.95,
		Desc: "zmap SYN: window 65535, IP ID 54321, TTL 255"},
	{Label: "zmap", Tool: true, TTLInit: 255, Windows: []int{65535}, Options: []string{""}, DF: 0, IPID: -1, Conf: 0.6,
		Desc: "zmap-like SYN: window 65535, no options, DF clear, TTL 255"},

	{Label: "Linux", TTLInit: 64, Options: []string{"mss,sok,ts,nop,ws", "mss,nop,nop,sok,nop,ws", "mss,sok,nop,nop,nop,ws"}, DF: -1, IPID: -1, Conf: 0.9,
		Desc: "Linux SYN option layout with initial TTL 64"},
	{Label: "Windows", TTLInit: 128, Options: []string{"mss,nop,ws,nop,nop,sok", "mss,nop,nop,sok", "mss,nop,ws,nop,nop,ts,nop,nop,sok"}, DF: -1, IPID: -1, Conf: 0.9,
		Desc: "Windows SYN option layout with initial TTL 128"},
	{Label: "macOS", TTLInit: 64, Options: []string{"mss,nop,ws,nop,nop,ts,sok,eol", "mss,nop,ws,nop,nop,ts,sok,eol,eol"}, DF: -1, IPID: -1, Conf: 0.85,
		Desc: "macOS/iOS SYN option layout with initial TTL 64"},
	{Label: "FreeBSD", TTLInit: 64, Options: []string{"mss,nop,ws,sok,ts"}, DF: -1, IPID: -1, Conf: 0.85,
		Desc: "FreeBSD SYN option layout with initial TTL 64"},
	{Label: "OpenBSD", TTLInit: 64, Options: []string{"mss,nop,nop,sok,nop,ws,nop,nop,ts"}, DF: -1, IPID: -1, Conf: 0.85,
		Desc: "OpenBSD SYN option layout with initial TTL 64"},
}

func containsInt(list []int, v int) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

func containsStr(list []string, v string) bool {
	for _, x := range list {
		if x == v {
			return true
		}
	}
	return false
}

// matchSyn returns the first table entry s matches and its evidence sentence.
func matchSyn(s synSig) (synEntry, string, bool) {
	for _, e := range synTable {
		if e.TTLInit != 0 && initialTTL(s.TTL) != e.TTLInit {
			continue
		}
		if e.TTLMax != 0 && s.TTL > e.TTLMax {
			continue
		}
		if e.Windows != nil && !containsInt(e.Windows, s.Window) {
			continue
		}
		if e.Options != nil && !containsStr(e.Options, s.Options) {
			continue
		}
		if e.MSS != nil && !containsInt(e.MSS, s.MSS) {
			continue
		}
		if e.DF >= 0 && s.DF >= 0 && s.DF != e.DF {
			continue
		}
		if e.IPID >= 0 && s.IPID != e.IPID {
			continue
		}
		why := e.Desc + " [" + s.key() + "]"
		return e, why, true
	}
	return synEntry{}, "", false
}

// fallbackOS guesses an OS family from the initial TTL alone (low confidence).
func fallbackOS(s synSig) (string, float64, string) {
	switch initialTTL(s.TTL) {
	case 128:
		return "Windows", 0.4, fmt.Sprintf("initial TTL 128 (observed %d) with an unlisted option layout %q", s.TTL, s.Options)
	case 64:
		return "Unix-like", 0.3, fmt.Sprintf("initial TTL 64 (observed %d) with an unlisted option layout %q", s.TTL, s.Options)
	case 255:
		return "network device", 0.2, fmt.Sprintf("initial TTL 255 (observed %d) with an unlisted option layout %q", s.TTL, s.Options)
	}
	return "", 0, ""
}

// hit is one piece of evidence for a tool.
type hit struct {
	Tool string
	Conf float64
	Why  string
}

// sshClientRule recognises an SSH client from its identification string.
type sshClientRule struct {
	re    *regexp.Regexp
	tools []hit // Why is a format with the ident as %s
}

// sshClientRules: hydra's ssh module links libssh (measured: hydra 9.4 on Debian 12
// sends "SSH-2.0-libssh_0.10.6"); paramiko 2.12 sends "SSH-2.0-paramiko_2.12.0"
// (measured); golang.org/x/crypto/ssh sends "SSH-2.0-Go" by default; medusa's ssh
// module links libssh2; Metasploit's SSH modules use Ruby net-ssh.
var sshClientRules = []sshClientRule{
	{regexp.MustCompile(`(?i)^SSH-2\.0-libssh[_-]0\.`), []hit{{"libssh", 0.95, "SSH client identification %q is libssh"}, {"hydra", 0.6, "SSH client %q: hydra's ssh module uses libssh"}}},
	{regexp.MustCompile(`(?i)^SSH-2\.0-libssh2[_-]`), []hit{{"libssh2", 0.95, "SSH client identification %q is libssh2"}, {"medusa", 0.5, "SSH client %q: medusa's and nmap's ssh modules use libssh2"}}},
	{regexp.MustCompile(`(?i)^SSH-2\.0-paramiko[_-]`), []hit{{"paramiko", 0.95, "SSH client identification %q is Python paramiko"}}},
	{regexp.MustCompile(`^SSH-2\.0-Go$`), []hit{{"go-ssh", 0.9, "SSH client identification %q is Go's x/crypto/ssh"}}},
	{regexp.MustCompile(`(?i)^SSH-2\.0-Ruby/Net::SSH`), []hit{{"metasploit", 0.7, "SSH client %q is Ruby net-ssh, which Metasploit's ssh modules use"}}},
	{regexp.MustCompile(`(?i)^SSH-2\.0-AsyncSSH[_-]`), []hit{{"asyncssh", 0.9, "SSH client identification %q is Python AsyncSSH"}}},
	{regexp.MustCompile(`(?i)^SSH-2\.0-JSCH`), []hit{{"jsch", 0.9, "SSH client identification %q is Java JSch"}}},
	{regexp.MustCompile(`(?i)^SSH-2\.0-PuTTY`), []hit{{"putty", 0.9, "SSH client identification %q is PuTTY"}}},
	{regexp.MustCompile(`(?i)^SSH-2\.0-dropbear`), []hit{{"dropbear", 0.85, "SSH client identification %q is dropbear (often IoT bots)"}}},
	{regexp.MustCompile(`(?i)^SSH-2\.0-OpenSSH_`), []hit{{"openssh", 0.7, "SSH client identification %q is OpenSSH"}}},
	{regexp.MustCompile(`(?i)^SSH-2\.0-Nmap`), []hit{{"nmap", 0.95, "SSH client identification %q is nmap's"}}},
	{regexp.MustCompile(`(?i)ncrack`), []hit{{"ncrack", 0.9, "SSH client identification %q names ncrack"}}},
}

// userAgentRules recognise HTTP clients from their User-Agent.
var userAgentRules = []struct {
	re  *regexp.Regexp
	hit hit
}{
	{regexp.MustCompile(`(?i)\bsqlmap/`), hit{"sqlmap", 0.98, "User-Agent %q is sqlmap's"}},
	{regexp.MustCompile(`(?i)\bnikto\b`), hit{"nikto", 0.98, "User-Agent %q is Nikto's"}},
	{regexp.MustCompile(`(?i)\bgobuster/`), hit{"gobuster", 0.98, "User-Agent %q is gobuster's"}},
	{regexp.MustCompile(`(?i)Nmap Scripting Engine`), hit{"nmap", 0.95, "User-Agent %q is nmap's scripting engine"}},
	{regexp.MustCompile(`(?i)\bmasscan/`), hit{"masscan", 0.95, "User-Agent %q is masscan's banner grabber"}},
	{regexp.MustCompile(`(?i)\bzgrab/`), hit{"zgrab", 0.95, "User-Agent %q is zgrab's"}},
	{regexp.MustCompile(`(?i)^curl/`), hit{"curl", 0.95, "User-Agent %q is curl's"}},
	{regexp.MustCompile(`(?i)^python-requests/`), hit{"python-requests", 0.95, "User-Agent %q is Python requests'"}},
	{regexp.MustCompile(`(?i)^python-urllib/`), hit{"python-urllib", 0.95, "User-Agent %q is Python urllib's"}},
	{regexp.MustCompile(`(?i)^python-httpx/`), hit{"python-httpx", 0.95, "User-Agent %q is Python httpx'"}},
	{regexp.MustCompile(`(?i)\baiohttp/`), hit{"python-aiohttp", 0.9, "User-Agent %q is Python aiohttp's"}},
	{regexp.MustCompile(`^Go-http-client/`), hit{"go-http-client", 0.9, "User-Agent %q is Go net/http's default"}},
	{regexp.MustCompile(`(?i)^Wget/`), hit{"wget", 0.95, "User-Agent %q is wget's"}},
	{regexp.MustCompile(`(?i)\(Hydra\)`), hit{"hydra", 0.95, "User-Agent %q is hydra's http module"}},
	{regexp.MustCompile(`(?i)\bWPScan\b`), hit{"wpscan", 0.95, "User-Agent %q is WPScan's"}},
	{regexp.MustCompile(`(?i)Fuzz Faster U Fool`), hit{"ffuf", 0.95, "User-Agent %q is ffuf's"}},
	{regexp.MustCompile(`(?i)\bNuclei\b`), hit{"nuclei", 0.95, "User-Agent %q is Nuclei's"}},
	{regexp.MustCompile(`(?i)\bDirBuster\b`), hit{"dirbuster", 0.95, "User-Agent %q is DirBuster's"}},
}

// pathRules recognise tools from the request paths they send.
var pathRules = []struct {
	re  *regexp.Regexp
	hit hit
}{
	// nmap -sV's HTTP probe asks for this exact path (nmap-service-probes, "GetRequest" fallbacks).
	{regexp.MustCompile(`(?i)^/nice%20ports%2C/Tri%6Eity\.txt%2ebak$`), hit{"nmap", 0.95, "request for %q, nmap -sV's HTTP probe"}},
	{regexp.MustCompile(`(?i)/evox/about$|^/HNAP1/?$`), hit{"nmap", 0.4, "request for %q, a path nmap's service and script probes ask for"}},
	{regexp.MustCompile(`(?i)(union(\s|\+|%20|/\*\*/)+(all(\s|\+|%20|/\*\*/)+)?select|sleep\(\d+\)|and(\s|\+|%20)+\d+=\d+|waitfor(\s|\+|%20)+delay|extractvalue\(|updatexml\()`),
		hit{"sqlmap", 0.5, "SQL injection payload in %q (sqlmap-style)"}},
	{regexp.MustCompile(`(?i)nikto`), hit{"nikto", 0.9, "request for %q names Nikto"}},
}

// cut bounds s to n bytes (on a UTF-8 boundary when possible).
func cut(s string, n int) string {
	if len(s) <= n {
		return s
	}
	for n > 0 && n < len(s) && s[n]&0xc0 == 0x80 {
		n--
	}
	return s[:n]
}

// tlsClientTable names TLS clients by the cipher and extension parts of their JA4
// (FoxIO's JA4 as internal/fingerprint computes it, without its first part, which
// changes with SNI and ALPN: "t13d3112h2_e8f1e7e78f70_b26ce05bbdd6" is looked up
// as "e8f1e7e78f70_b26ce05bbdd6"). Each entry was measured on the project's Debian
// 12 build host (2026-11-26) by TestTLSClientTable, which drives the real client at
// a loopback listener, with and without SNI, and fails when the table no longer
// names it: curl 7.88.1 (OpenSSL 3.0), Python requests 2.28 (urllib3 1.26, OpenSSL
// 3.0) and Go 1.26 crypto/tls with net/http's ALPN.
var tlsClientTable = map[string]hit{
	"e8f1e7e78f70_b26ce05bbdd6": {"curl", 0.8, "JA4 %q is curl's (OpenSSL 3.0 build, measured)"},
	"c7886603b240_b26ce05bbdd6": {"python-requests", 0.8, "JA4 %q is Python requests' (OpenSSL 3.0, measured)"},
	"f57a46bbacb6_ab7e3b40a677": {"go-http-client", 0.8, "JA4 %q is Go crypto/tls's default hello (Go 1.26, measured)"},
}

func (a *acc) tlsClient(ja4 string) {
	_, bc, ok := strings.Cut(ja4, "_")
	if !ok {
		return
	}
	if h, ok := tlsClientTable[bc]; ok {
		a.tool(h, ja4)
	}
}

// hasshTable names SSH clients by HASSH (the MD5 of their KEXINIT algorithm
// lists, Salesforce's spec), so a client that changes its identification string is
// still recognised. Each entry was measured on the project's Debian 12 build host
// (2026-11-26) by TestHASSHTable, which drives the real client at the ssh service
// and fails when the table no longer names it.
var hasshTable = map[string][]hit{
	// libssh 0.10.6 as linked by hydra 9.4 ("SSH-2.0-libssh_0.10.6").
	"be31134219a24899a8a0c29c7797ba94": {{"libssh", 0.85, "HASSH %q is libssh 0.10's (measured)"}, {"hydra", 0.5, "HASSH %q is libssh 0.10's, which hydra's ssh module uses (measured)"}},
	// paramiko 2.12.0 ("SSH-2.0-paramiko_2.12.0").
	"a704be057881f0b1d623cd263e477a8b": {{"paramiko", 0.9, "HASSH %q is paramiko 2.12's (measured)"}},
	// golang.org/x/crypto/ssh at this module's version ("SSH-2.0-Go").
	"16443846184eafde36765c9bab2f4397": {{"go-ssh", 0.85, "HASSH %q is Go x/crypto/ssh's (measured)"}},
	// OpenSSH 9.2p1 of Debian 12 ("SSH-2.0-OpenSSH_9.2p1 Debian-2+deb12u10").
	"472b5de333ad665af5cbf10ff892c4df": {{"openssh", 0.75, "HASSH %q is OpenSSH 9.2's (measured)"}},
}

func (a *acc) hassh(v string) {
	for _, h := range hasshTable[strings.ToLower(v)] {
		a.tool(h, v)
	}
}
