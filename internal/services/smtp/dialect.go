package smtp

import (
	"crypto/rand"
	"fmt"
	"math/big"
	"time"
)

// dialect holds every reply text that differs between the MTAs we imitate. Texts
// are taken from the products' sources and real sessions: Postfix 3.6 smtpd (as
// Debian and Ubuntu configure it: smtpd_relay_restrictions ending in
// defer_unauth_destination, hence 454 for relaying) and Exim 4.9x with the
// Debian exim4-config defaults.
type dialect struct {
	name           string
	defaultMaxSize int64
	maxErrors      int // errors before the server hangs up
	maxRcpt        int

	greeting   func(host string, now time.Time) string
	helo       func(host, arg, ip string) string
	ehloFirst  func(host, arg, ip string) string
	ehloCaps   func(size int64, tls bool) []string
	queued     func(id string) string
	queueID    func() string
	bdatChunk  func(n int64) string
	quit       func(host string) string
	tooMany    func(host string) string
	timeout    func(host string) string
	relay      func(addr string) string
	unknownRcp func(addr string) string
	vrfy       func(local, addr string, known bool) string

	mailOK, rcptOK, data, noop, rset, unknown, expn           string
	heloSyntax, ehloSyntax, mailSyntax, rcptSyntax, vrfySyn   string
	badSender, badRcpt, nestedMail, needMail, needRcpt        string
	noValidRcpt, tooBig, sizeExceeds, tooManyRcpt, lineLong   string
	authFail, authAbort, authDecode, authMech, authNoHelo     string
	authInMail, authSyntax, authAgain, badParam, tlsReady     string
	authOK                                                    string
	tlsNotAvail, tlsSyntax, bdatSyntax, dataBdatMix, unknown8 string
}

func postfix(vendor string) *dialect {
	d := &dialect{
		name:           "postfix",
		defaultMaxSize: 10240000,
		maxErrors:      20, // smtpd_hard_error_limit
		maxRcpt:        1000,
		greeting:       func(host string, _ time.Time) string { return "220 " + host + " ESMTP Postfix" + vendor },
		helo:           func(host, _, _ string) string { return "250 " + host },
		ehloFirst:      func(host, _, _ string) string { return host },
		ehloCaps: func(size int64, tls bool) []string {
			caps := []string{"PIPELINING", fmt.Sprintf("SIZE %d", size), "VRFY", "ETRN"}
			if tls {
				caps = append(caps, "STARTTLS")
			}
			return append(caps, "AUTH PLAIN LOGIN", "ENHANCEDSTATUSCODES", "8BITMIME", "DSN", "SMTPUTF8", "CHUNKING")
		},
		queued:    func(id string) string { return "250 2.0.0 Ok: queued as " + id },
		queueID:   postfixQueueID,
		bdatChunk: func(n int64) string { return fmt.Sprintf("250 2.0.0 Ok: %d bytes", n) },
		quit:      func(string) string { return "221 2.0.0 Bye" },
		tooMany:   func(host string) string { return "421 4.7.0 " + host + " Error: too many errors" },
		timeout:   func(host string) string { return "421 4.4.2 " + host + " Error: timeout exceeded" },
		relay:     func(addr string) string { return "454 4.7.1 <" + addr + ">: Relay access denied" },
		unknownRcp: func(addr string) string {
			return "550 5.1.1 <" + addr + ">: Recipient address rejected: User unknown in local recipient table"
		},
		vrfy: func(local, addr string, known bool) string {
			if known {
				return "252 2.0.0 " + local
			}
			return "550 5.1.1 <" + addr + ">: Recipient address rejected: User unknown in local recipient table"
		},
		mailOK:      "250 2.1.0 Ok",
		rcptOK:      "250 2.1.5 Ok",
		data:        "354 End data with <CR><LF>.<CR><LF>",
		noop:        "250 2.0.0 Ok",
		rset:        "250 2.0.0 Ok",
		unknown:     "502 5.5.2 Error: command not recognized",
		expn:        "502 5.5.2 Error: command not recognized",
		heloSyntax:  "501 Syntax: HELO hostname",
		ehloSyntax:  "501 Syntax: EHLO hostname",
		mailSyntax:  "501 5.5.4 Syntax: MAIL FROM:<address>",
		rcptSyntax:  "501 5.5.4 Syntax: RCPT TO:<address>",
		vrfySyn:     "501 5.5.4 Syntax: VRFY address",
		badSender:   "501 5.1.7 Bad sender address syntax",
		badRcpt:     "501 5.1.3 Bad recipient address syntax",
		nestedMail:  "503 5.5.1 Error: nested MAIL command",
		needMail:    "503 5.5.1 Error: need MAIL command",
		needRcpt:    "503 5.5.1 Error: need RCPT command",
		noValidRcpt: "554 5.5.1 Error: no valid recipients",
		tooBig:      "552 5.3.4 Error: message file too big",
		sizeExceeds: "552 5.3.4 Message size exceeds fixed limit",
		tooManyRcpt: "452 4.5.3 Error: too many recipients",
		lineLong:    "500 5.5.2 Error: line too long",
		authFail:    "535 5.7.8 Error: authentication failed: authentication failure",
		authOK:      "235 2.7.0 Authentication successful",
		authAbort:   "501 5.7.0 Authentication aborted",
		authDecode:  "501 5.5.2 Cannot decode response",
		authMech:    "535 5.7.8 Error: authentication failed: Invalid authentication mechanism",
		authNoHelo:  "503 5.5.1 Error: send HELO/EHLO first",
		authInMail:  "503 5.5.1 Error: MAIL transaction in progress",
		authSyntax:  "501 5.5.4 Syntax: AUTH mechanism",
		authAgain:   "503 5.5.1 Error: already authenticated",
		badParam:    "555 5.5.4 Unsupported option: %s",
		tlsReady:    "220 2.0.0 Ready to start TLS",
		tlsNotAvail: "502 5.5.1 Error: command not implemented",
		tlsSyntax:   "501 5.5.4 Syntax: STARTTLS",
		bdatSyntax:  "501 5.5.4 Syntax: BDAT count [LAST]",
		dataBdatMix: "503 5.5.1 Error: DATA is not allowed after BDAT",
		unknown8:    "500 5.5.2 Error: bad UTF-8 syntax",
	}
	return d
}

func exim(version string) *dialect {
	return &dialect{
		name:           "exim",
		defaultMaxSize: 52428800,
		maxErrors:      3, // smtp_max_unknown_commands
		maxRcpt:        1000,
		greeting: func(host string, now time.Time) string {
			return "220 " + host + " ESMTP Exim " + version + " " + now.Format("Mon, 02 Jan 2006 15:04:05 -0700")
		},
		helo:      func(host, arg, ip string) string { return "250 " + host + " Hello " + arg + " [" + ip + "]" },
		ehloFirst: func(host, arg, ip string) string { return host + " Hello " + arg + " [" + ip + "]" },
		ehloCaps: func(size int64, tls bool) []string {
			caps := []string{fmt.Sprintf("SIZE %d", size), "8BITMIME", "PIPELINING", "AUTH PLAIN LOGIN", "CHUNKING", "PRDR"}
			if tls {
				caps = append(caps, "STARTTLS")
			}
			return append(caps, "HELP")
		},
		queued:     func(id string) string { return "250 OK id=" + id },
		queueID:    eximMessageID,
		bdatChunk:  func(n int64) string { return fmt.Sprintf("250 %d byte chunk received", n) },
		quit:       func(host string) string { return "221 " + host + " closing connection" },
		tooMany:    func(string) string { return "500 Too many unrecognized commands" },
		timeout:    func(host string) string { return "421 " + host + " SMTP command timeout - closing connection" },
		relay:      func(string) string { return "550 relay not permitted" },
		unknownRcp: func(string) string { return "550 Unrouteable address" },
		vrfy: func(_, _ string, _ bool) string {
			return "252 Administrative prohibition"
		},
		mailOK:      "250 OK",
		rcptOK:      "250 Accepted",
		data:        `354 Enter message, ending with "." on a line by itself`,
		noop:        "250 OK",
		rset:        "250 Reset OK",
		unknown:     "500 unrecognized command",
		expn:        "550 Administrative prohibition",
		heloSyntax:  "501 Syntactically invalid HELO argument(s)",
		ehloSyntax:  "501 Syntactically invalid EHLO argument(s)",
		mailSyntax:  "501 MAIL must have an address operand",
		rcptSyntax:  "501 RCPT must have an address operand",
		vrfySyn:     "252 Administrative prohibition",
		badSender:   "501 malformed address: missing or malformed local part",
		badRcpt:     "501 malformed address: missing or malformed local part",
		nestedMail:  "503 sender already given",
		needMail:    "503 sender not yet given",
		needRcpt:    "503 valid RCPT command must precede DATA",
		noValidRcpt: "503 valid RCPT command must precede DATA",
		tooBig:      "552 Message size exceeds maximum permitted",
		sizeExceeds: "552 Message size exceeds maximum permitted",
		tooManyRcpt: "452 too many recipients",
		lineLong:    "500 Command line too long",
		authFail:    "535 Incorrect authentication data",
		authOK:      "235 Authentication succeeded",
		authAbort:   "501 Authentication cancelled",
		authDecode:  "501 Invalid base64 data",
		authMech:    "504 Unsupported authentication mechanism",
		authNoHelo:  "503 AUTH command used when not advertised",
		authInMail:  "503 AUTH command used when not advertised",
		authSyntax:  "501 Syntax: AUTH mechanism [initial response]",
		authAgain:   "503 already authenticated",
		badParam:    "555 Unsupported option: %s",
		tlsReady:    "220 TLS go ahead",
		tlsNotAvail: "503 STARTTLS command used when not advertised",
		tlsSyntax:   "504 STARTTLS takes no arguments",
		bdatSyntax:  "501 missing size for BDAT command",
		dataBdatMix: "503 only BDAT permissible after non-LAST BDAT",
		unknown8:    "500 unrecognized command",
	}
}

// postfixQueueID makes a short Postfix queue ID: microseconds and inode number in
// upper-case hex, 10 or 11 characters.
func postfixQueueID() string {
	n, _ := rand.Int(rand.Reader, big.NewInt(0xFFFFFFFFFF-0x1000000000))
	return fmt.Sprintf("%X", n.Int64()+0x1000000000)
}

const base62 = "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz"

// eximMessageID makes an Exim message ID: base-62 time, pid and sub-second parts,
// "1rXyZa-000ABC-Q1".
func eximMessageID() string {
	enc := func(v int64, n int) string {
		b := make([]byte, n)
		for i := n - 1; i >= 0; i-- {
			b[i] = base62[v%62]
			v /= 62
		}
		return string(b)
	}
	pid, _ := rand.Int(rand.Reader, big.NewInt(400000))
	sub, _ := rand.Int(rand.Reader, big.NewInt(62*62))
	return enc(time.Now().Unix(), 6) + "-" + enc(pid.Int64()+1000, 6) + "-" + enc(sub.Int64(), 2)
}
