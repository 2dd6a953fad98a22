// Package mailbait is the bait mailbox the mail services (pop3, imap) show a
// logged-in attacker, and the Dovecot persona facts they share: a few
// ordinary-looking messages that hint at credentials elsewhere on the network,
// stable per decky and different between deckies.
package mailbait

import (
	"fmt"
	"hash/fnv"
	"strings"
	"time"
)

// Message is one bait message as stored (CRLF line ends).
type Message struct {
	UID  string    // Dovecot's default pop3_uidl_format, %08Xu%08Xv
	Body []byte    // the whole message
	Date time.Time // when it was delivered (IMAP INTERNALDATE), just after its Date header
}

// Domain is the mail domain of a decky: the persona's value when set, else the
// hostname's domain, else "localdomain".
func Domain(host, persona string) string {
	if persona != "" {
		return persona
	}
	if _, d, ok := strings.Cut(host, "."); ok && d != "" {
		return d
	}
	return "localdomain"
}

// DovecotVendor is the "(…)" Debian-family builds put in Dovecot's greeting.
func DovecotVendor(distro string) string {
	switch distro {
	case "ubuntu22", "ubuntu20":
		return " (Ubuntu)"
	case "debian", "kali":
		return " (Debian)"
	}
	return ""
}

// Mailbox builds the decky's bait mailbox: a few ordinary-looking messages
// that hint at credentials elsewhere on the network. Dates and IDs are stable per
// decky (derived from its name) and differ between deckies.
func Mailbox(decky, host, domain string) []Message {
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
	var out []Message
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
		out = append(out, Message{UID: fmt.Sprintf("%08X%08X", i+1, uidValidity), Body: []byte(b.String()), Date: date.Add(3 * time.Second)})
	}
	return out
}

func addrOf(from string) string {
	if i := strings.IndexByte(from, '<'); i >= 0 {
		return strings.Trim(from[i:], "<>")
	}
	return from
}
