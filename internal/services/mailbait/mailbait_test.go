package mailbait

import (
	"bytes"
	"testing"
)

func TestMailboxStablePerDecky(t *testing.T) {
	a, again, b := Mailbox("decky-01", "mail01", "corp.example"), Mailbox("decky-01", "mail01", "corp.example"), Mailbox("decky-02", "mail01", "corp.example")
	if len(a) == 0 || len(a) != len(again) {
		t.Fatalf("mailbox sizes %d and %d", len(a), len(again))
	}
	for i := range a {
		if a[i].UID != again[i].UID || !bytes.Equal(a[i].Body, again[i].Body) || !a[i].Date.Equal(again[i].Date) {
			t.Errorf("message %d differs between two builds of one decky's mailbox", i)
		}
		if a[i].UID == b[i].UID || a[i].Date.Equal(b[i].Date) {
			t.Errorf("message %d has the same UID or date on two deckies", i)
		}
		if !bytes.Contains(a[i].Body, []byte("To: admin@corp.example\r\n")) || !bytes.Contains(a[i].Body, []byte("\r\n\r\n")) {
			t.Errorf("message %d is not a CRLF message to the decky's domain:\n%s", i, a[i].Body)
		}
	}
}

func TestDomainAndVendor(t *testing.T) {
	for _, tc := range []struct{ host, persona, want string }{
		{"mx1.corp.example", "", "corp.example"},
		{"mx1", "", "localdomain"},
		{"mx1.corp.example", "other.example", "other.example"},
	} {
		if got := Domain(tc.host, tc.persona); got != tc.want {
			t.Errorf("Domain(%q, %q) = %q, want %q", tc.host, tc.persona, got, tc.want)
		}
	}
	for distro, want := range map[string]string{"ubuntu22": " (Ubuntu)", "debian": " (Debian)", "rocky9": ""} {
		if got := DovecotVendor(distro); got != want {
			t.Errorf("DovecotVendor(%s) = %q, want %q", distro, got, want)
		}
	}
}
