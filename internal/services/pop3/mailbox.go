package pop3

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// message is one bait message as stored (CRLF line ends).
type message struct {
	uid  string
	body []byte
}

// baitMailbox builds the decky's bait mailbox: a few ordinary-looking messages
// that hint at credentials elsewhere on the network. Dates and IDs are stable per
// decky (derived from its name) and differ between deckies.
func baitMailbox(decky, host, domain string) []message {
	h := fnv.New64a()
	h.Write([]byte(decky))
	seed := h.Sum64()
	base := time.Date(2024, 1, 8, 9, 0, 0, 0, time.UTC).Add(time.Duration(seed%(300*24)) * time.Hour)
	uidValidity := uint32(base.Unix())
	tmpl := []struct {
		from, subject, body string
		after               time.Duration
	}{
		{"IT Helpdesk <helpdesk@" + domain + ">", "Your VPN account is ready",
			"Hello,\r\n\r\nyour VPN account has been created.\r\n\r\n  Server:   vpn." + domain + "\r\n  Username: the same as your mail login\r\n  Password: Welcome2024!\r\n\r\nPlease change the password at first login.\r\n\r\n-- \r\nIT Helpdesk\r\n",
			0},
		{"backup <root@" + host + ">", "Cron <backup@" + host + "> /usr/local/bin/nightly-backup.sh",
			"rsync to backup01." + domain + ":/srv/backup/" + host + " completed\r\nsent 1,284,113 bytes  received 9,871 bytes  total size 48,222,019,582\r\n",
			51 * time.Hour},
	}
	var out []message
	for i, m := range tmpl {
		date := base.Add(m.after + time.Duration(seed>>(8*i)%3600)*time.Second)
		id := fmt.Sprintf("<%x.%d@%s>", seed>>uint(i*4)&0xffffffffff, date.Unix(), host)
		var b strings.Builder
		fmt.Fprintf(&b, "Return-Path: <%s>\r\n", addrOf(m.from))
		fmt.Fprintf(&b, "Delivered-To: admin@%s\r\n", domain)
		fmt.Fprintf(&b, "Received: by %s (Postfix, from userid 0)\r\n\tid %X; %s\r\n", host, seed>>uint(i*8)&0xffffffffff, date.Format(time.RFC1123Z))
		fmt.Fprintf(&b, "From: %s\r\nTo: admin@%s\r\nSubject: %s\r\n", m.from, domain, m.subject)
		fmt.Fprintf(&b, "Date: %s\r\nMessage-ID: %s\r\n", date.Format(time.RFC1123Z), id)
		b.WriteString("MIME-Version: 1.0\r\nContent-Type: text/plain; charset=UTF-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n")
		b.WriteString(m.body)
		// Dovecot's default pop3_uidl_format is %08Xu%08Xv.
		out = append(out, message{uid: fmt.Sprintf("%08X%08X", i+1, uidValidity), body: []byte(b.String())})
	}
	return out
}

func addrOf(from string) string {
	if i := strings.IndexByte(from, '<'); i >= 0 {
		return strings.Trim(from[i:], "<>")
	}
	return from
}
