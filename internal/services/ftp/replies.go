package ftp

import (
	"fmt"
	"strings"
	"time"
)

// flavor holds the reply texts and listing format of one FTP server, byte for byte
// as the real server sends them (vsftpd 3.0.x postlogin.c/prelogin.c, ProFTPD 1.3.x
// mod_core/mod_auth/mod_xfer/mod_ls).
type flavor struct {
	name      string
	banner    func(version, localIP, ident string) string
	userOK    func(user string, anon bool) string
	loginOK   func(user string, anon bool) string
	loginBad  string
	needUser  string // PASS before USER
	needLogin string // any command before login
	unknown   func(verb string) string
	syst      string
	feat      string
	help      string
	noop      string
	pwd       func(dir string) string
	cwdOK     string
	cwdBad    func(arg string) string
	typeA     string
	typeI     string
	typeBad   func(arg string) string
	listStart string
	listDone  string
	retrStart func(name string, size int64, binary bool) string
	xferDone  string
	storStart func(name string) string
	noFile    func(arg string) string
	noSize    func(arg string) string
	noMdtm    func(arg string) string
	denied    func(arg string) string
	noData    string // transfer command without PASV/EPSV
	dataFail  string // PASV set up, nobody connected
	portOK    string
	portBad   string
	pasvOK    string // format with the six numbers
	epsvOK    string // format with the port
	restOK    func(n string) string
	quit      string
	optsUTF8  string
	abor      string
	stru      string
	mode      string
	tooMany   string // login failures exhausted
	// ls formats one LIST line.
	ls func(n *node, now time.Time) string
}

var vsftpd = flavor{
	name:   ServerVsftpd,
	banner: func(v, _, _ string) string { return "220 (vsFTPd " + v + ")\r\n" },
	userOK: func(string, bool) string { return "331 Please specify the password.\r\n" },
	loginOK: func(string, bool) string {
		return "230 Login successful.\r\n"
	},
	loginBad:  "530 Login incorrect.\r\n",
	needUser:  "503 Login with USER first.\r\n",
	needLogin: "530 Please login with USER and PASS.\r\n",
	unknown:   func(string) string { return "500 Unknown command.\r\n" },
	syst:      "215 UNIX Type: L8\r\n",
	feat:      "211-Features:\r\n EPRT\r\n EPSV\r\n MDTM\r\n PASV\r\n REST STREAM\r\n SIZE\r\n TVFS\r\n211 End\r\n",
	help: "214-The following commands are recognized.\r\n" +
		" ABOR ACCT ALLO APPE CDUP CWD  DELE EPRT EPSV FEAT HELP LIST MDTM MKD\r\n" +
		" MODE NLST NOOP OPTS PASS PASV PORT PWD  QUIT REIN REST RETR RMD  RNFR\r\n" +
		" RNTO SITE SIZE SMNT STAT STOR STOU STRU SYST TYPE USER XCUP XCWD XMKD\r\n" +
		" XPWD XRMD\r\n214 Help OK.\r\n",
	noop:      "200 NOOP ok.\r\n",
	pwd:       func(d string) string { return "257 \"" + quote257(d) + "\" is the current directory\r\n" },
	cwdOK:     "250 Directory successfully changed.\r\n",
	cwdBad:    func(string) string { return "550 Failed to change directory.\r\n" },
	typeA:     "200 Switching to ASCII mode.\r\n",
	typeI:     "200 Switching to Binary mode.\r\n",
	typeBad:   func(string) string { return "500 Unrecognised TYPE command.\r\n" },
	listStart: "150 Here comes the directory listing.\r\n",
	listDone:  "226 Directory send OK.\r\n",
	retrStart: func(name string, size int64, binary bool) string {
		mode := "ASCII"
		if binary {
			mode = "BINARY"
		}
		return fmt.Sprintf("150 Opening %s mode data connection for %s (%d bytes).\r\n", mode, name, size)
	},
	xferDone:  "226 Transfer complete.\r\n",
	storStart: func(string) string { return "150 Ok to send data.\r\n" },
	noFile:    func(string) string { return "550 Failed to open file.\r\n" },
	noSize:    func(string) string { return "550 Could not get file size.\r\n" },
	noMdtm:    func(string) string { return "550 Could not get file modification time.\r\n" },
	denied:    func(string) string { return "550 Permission denied.\r\n" },
	noData:    "425 Use PORT or PASV first.\r\n",
	dataFail:  "425 Failed to establish connection.\r\n",
	portOK:    "200 PORT command successful. Consider using PASV.\r\n",
	portBad:   "500 Illegal PORT command.\r\n",
	pasvOK:    "227 Entering Passive Mode (%d,%d,%d,%d,%d,%d).\r\n",
	epsvOK:    "229 Entering Extended Passive Mode (|||%d|)\r\n",
	restOK:    func(n string) string { return "350 Restart position accepted (" + n + ").\r\n" },
	quit:      "221 Goodbye.\r\n",
	optsUTF8:  "200 Always in UTF8 mode.\r\n",
	abor:      "225 No transfer to ABOR.\r\n",
	stru:      "200 Structure set to F.\r\n",
	mode:      "200 Mode set to S.\r\n",
	tooMany:   "",
	ls: func(n *node, now time.Time) string {
		uid := "0"
		if n.upload {
			uid = "114"
		}
		return fmt.Sprintf("%s %4d %-8s %-8s %8d %s %s\r\n", n.mode, links(n), uid, uid, n.size, lsDate(n.mtime, now, "Jan 02"), n.name)
	},
}

var proftpd = flavor{
	name: ServerProftpd,
	banner: func(v, ip, ident string) string {
		return "220 ProFTPD " + v + " Server (" + ident + ") [" + ip + "]\r\n"
	},
	userOK: func(user string, anon bool) string {
		if anon {
			return "331 Anonymous login ok, send your complete email address as your password\r\n"
		}
		return "331 Password required for " + user + "\r\n"
	},
	loginOK: func(user string, anon bool) string {
		if anon {
			return "230 Anonymous access granted, restrictions apply\r\n"
		}
		return "230 User " + user + " logged in\r\n"
	},
	loginBad:  "530 Login incorrect.\r\n",
	needUser:  "503 Login with USER first\r\n",
	needLogin: "530 Please login with USER and PASS\r\n",
	unknown:   func(verb string) string { return "500 " + verb + " not understood\r\n" },
	syst:      "215 UNIX Type: L8\r\n",
	feat: "211-Features:\r\n CLNT\r\n EPRT\r\n EPSV\r\n HOST\r\n LANG en-US*\r\n MDTM\r\n MFF modify;UNIX.group;UNIX.mode;\r\n" +
		" MFMT\r\n RANG STREAM\r\n REST STREAM\r\n SIZE\r\n SSCN\r\n TVFS\r\n UTF8\r\n211 End\r\n",
	help: "214-The following commands are recognized (* =>'s unimplemented):\r\n" +
		" CWD     XCWD    CDUP    XCUP    SMNT*   QUIT    PORT    PASV    \r\n" +
		" EPRT    EPSV    ALLO*   RNFR    RNTO    DELE    MDTM    RMD     \r\n" +
		" XRMD    MKD     XMKD    PWD     XPWD    SIZE    SYST    HELP    \r\n" +
		" NOOP    FEAT    OPTS    HOST    CLNT    AUTH*   CCC*    CONF*   \r\n" +
		" ENC*    MIC*    PBSZ*   PROT*   TYPE    STRU    MODE    RETR    \r\n" +
		" STOR    STOU    APPE    REST    ABOR    RANG    USER    PASS    \r\n" +
		" ACCT*   REIN*   LIST    NLST    STAT    SITE    MLSD*   MLST*   \r\n" +
		"214 Direct comments to root@localhost\r\n",
	noop:      "200 NOOP command successful\r\n",
	pwd:       func(d string) string { return "257 \"" + quote257(d) + "\" is the current directory\r\n" },
	cwdOK:     "250 CWD command successful\r\n",
	cwdBad:    func(arg string) string { return "550 " + arg + ": No such file or directory\r\n" },
	typeA:     "200 Type set to A\r\n",
	typeI:     "200 Type set to I\r\n",
	typeBad:   func(arg string) string { return "504 TYPE not implemented for '" + arg + "' parameter\r\n" },
	listStart: "150 Opening ASCII mode data connection for file list\r\n",
	listDone:  "226 Transfer complete\r\n",
	retrStart: func(name string, size int64, binary bool) string {
		mode := "ASCII"
		if binary {
			mode = "BINARY"
		}
		return fmt.Sprintf("150 Opening %s mode data connection for %s (%d bytes)\r\n", mode, name, size)
	},
	xferDone: "226 Transfer complete\r\n",
	storStart: func(name string) string {
		return "150 Opening BINARY mode data connection for " + name + "\r\n"
	},
	noFile:   func(arg string) string { return "550 " + arg + ": No such file or directory\r\n" },
	noSize:   func(arg string) string { return "550 " + arg + ": No such file or directory\r\n" },
	noMdtm:   func(arg string) string { return "550 " + arg + ": No such file or directory\r\n" },
	denied:   func(arg string) string { return "550 " + arg + ": Permission denied\r\n" },
	noData:   "425 Unable to build data connection: Connection refused\r\n",
	dataFail: "425 Unable to build data connection: Connection timed out\r\n",
	portOK:   "200 PORT command successful\r\n",
	portBad:  "500 Illegal PORT command\r\n",
	pasvOK:   "227 Entering Passive Mode (%d,%d,%d,%d,%d,%d).\r\n",
	epsvOK:   "229 Entering Extended Passive Mode (|||%d|)\r\n",
	restOK: func(n string) string {
		return "350 Restarting at " + n + ". Send STORE or RETRIEVE to initiate transfer\r\n"
	},
	quit:     "221 Goodbye.\r\n",
	optsUTF8: "200 UTF8 set to on\r\n",
	abor:     "226 Abort successful\r\n",
	stru:     "200 Structure set to F\r\n",
	mode:     "200 Mode set to S\r\n",
	tooMany:  "530 Login incorrect.\r\n",
	ls: func(n *node, now time.Time) string {
		return fmt.Sprintf("%s %3d %-8s %-8s %8d %s %s\r\n", n.mode, links(n), "ftp", "ftp", n.size, lsDate(n.mtime, now, "Jan _2"), n.name)
	},
}

func links(n *node) int {
	if !n.dir {
		return 1
	}
	k := 2
	for _, c := range n.children {
		if c.dir {
			k++
		}
	}
	return k
}

// lsDate is ls's date column: time of day within six months, else the year.
func lsDate(t, now time.Time, day string) string {
	if now.Sub(t) < 182*24*time.Hour && t.Before(now.Add(time.Hour)) {
		return t.Format(day + " 15:04")
	}
	return t.Format(day + "  2006")
}

// quote257 doubles quotes in a 257 reply path (RFC 959).
func quote257(p string) string { return strings.ReplaceAll(p, `"`, `""`) }
