// Package event owns DECNET's event: the record of one attacker interaction, and its
// wire form, an RFC 5424 syslog line with the structured-data element decnet@55555.
//
// Format and Parse (codec.go) are lossless for any byte in any value: a value holding
// `]`, `"`, `\`, newlines, ANSI escapes, invalid UTF-8 or a megabyte of data survives
// Format → Parse byte for byte.
package event

import "time"

// SDID is the structured-data ID of DECNET events. LegacySDID is the one DECNET
// (Python) used; Parse accepts both so old history can be re-ingested.
const (
	SDID       = "decnet@55555"
	LegacySDID = "relay@55555"
)

// Syslog priorities: facility local0 (16), severity info (6) or warning (4).
const (
	PriInfo    = 16*8 + 6 // 134
	PriWarning = 16*8 + 4 // 132
)

// Event types shared across services.
const (
	Connect         = "connect"
	Disconnect      = "disconnect"
	Banner          = "banner"
	Auth            = "auth"
	Command         = "command"
	Request         = "request"
	FileUpload      = "file_upload"
	DownloadAttempt = "download_attempt"
	Scan            = "scan"
	Fingerprint     = "fingerprint"
	Error           = "error"
	Alert           = "alert"
)

// Event is one attacker interaction.
type Event struct {
	ID           string            `json:"event_id"`      // UUIDv7, generated at emission
	Time         time.Time         `json:"timestamp"`     // UTC, microsecond precision
	Decky        string            `json:"decky"`         // decky name (never the cosmetic hostname); HOSTNAME on the wire
	Service      string            `json:"service"`       // service slug; APP-NAME on the wire
	Type         string            `json:"event_type"`    // MSGID on the wire (≤ 32 printable ASCII)
	AttackerIP   string            `json:"attacker_ip"`   // src_ip on the wire
	AttackerPort int               `json:"attacker_port"` // src_port on the wire; 0 when unknown
	Fields       map[string]string `json:"fields"`        // every other SD param
	Msg          string            `json:"msg,omitempty"` // free text after the SD element
}

// secretFields are the field names whose presence makes an event a credential event.
var secretFields = []string{"password", "secret_b64", "secret", "hash"}

// IsCredential reports whether the event carries a secret.
func (e Event) IsCredential() bool {
	for _, k := range secretFields {
		if _, ok := e.Fields[k]; ok {
			return true
		}
	}
	return false
}

// Priority is the syslog PRI: warning for credential and alert events, info otherwise.
func (e Event) Priority() int { return priority(e.Type, e.IsCredential()) }

// priority is Priority for an event of type typ that carries a secret or not.
func priority(typ string, credential bool) int {
	if typ == Alert || credential {
		return PriWarning
	}
	return PriInfo
}
