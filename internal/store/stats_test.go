package store

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"reflect"
	"testing"
	"time"

	"decnet/internal/store/storetest"
)

func TestSQLiteStats(t *testing.T) { runStatsSuite(t, storetest.SQLiteDSN) }

func TestMySQLStats(t *testing.T) { runStatsSuite(t, storetest.MySQLDSN) }

func cred(i int, ip, user, pass string) Bounty {
	p, _ := json.Marshal(map[string]string{"username": user, "password": pass, "service": "ssh"})
	return Bounty{Time: t0.Add(time.Duration(i) * time.Second), Decky: "decky-0", Service: "ssh", AttackerIP: ip,
		Type: "credential", Payload: p, DedupKey: fmt.Sprintf("cred-%d", i), EventID: fmt.Sprintf("e-%04d", i)}
}

func runStatsSuite(t *testing.T, fresh func(testing.TB) string) {
	ctx := context.Background()
	st := open(t, fresh(t))
	// 30 events: services ssh/http/ftp by i%3, deckies decky-0..2 by i%3, attackers 10.0.0.0-4 by i%5.
	b := Batch{Records: recs("s", 30)}
	hostile := `<script>alert(1)</script>"'`
	b.Bounty = []Bounty{
		cred(0, "10.0.0.1", "root", "toor"), cred(1, "10.0.0.2", "root", "toor"), cred(2, "10.0.0.3", "root", "123456"),
		cred(3, "10.0.0.1", "admin", "admin"), cred(4, "10.0.0.1", hostile, "x\u001b[31m"),
		cred(5, "10.0.0.2", "root ", "toor"), cred(6, "10.0.0.2", "root\x00x", "toor"),
		{Time: t0, Decky: "decky-1", Service: "http", AttackerIP: "10.0.0.4", Type: "fingerprint", Payload: json.RawMessage(`{"kind":"ja3","value":"abc"}`), DedupKey: "fp-1"},
	}
	ingest(t, st, b)
	s, err := st.Stats(ctx, StatsQuery{Top: 3})
	if err != nil {
		t.Fatal(err)
	}
	if s.Events != 30 || s.Credentials != 7 || s.Fingerprints != 1 || s.Artifacts != 0 || s.Attackers != 0 {
		t.Errorf("totals = %+v", s)
	}
	if want := []Count{{"ftp", 10}, {"http", 10}, {"ssh", 10}}; !reflect.DeepEqual(s.ByService, want) {
		t.Errorf("ByService = %v, want %v", s.ByService, want)
	}
	if len(s.ByDecky) != 3 || len(s.ByEventType) != 3 {
		t.Errorf("ByDecky = %v, ByEventType = %v (Top 3)", s.ByDecky, s.ByEventType)
	}
	if want := []Count{{"10.0.0.0", 6}, {"10.0.0.1", 6}, {"10.0.0.2", 6}}; !reflect.DeepEqual(s.TopSources, want) {
		t.Errorf("TopSources = %v, want %v", s.TopSources, want)
	}
	if want := []Count{{"root", 3}, {hostile, 1}, {"admin", 1}}; !reflect.DeepEqual(s.TopUsernames, want) {
		// ties break by username, byte order: '<' (0x3c) sorts before 'a'
		t.Errorf("TopUsernames = %+v, want %+v", s.TopUsernames, want)
	}
	if len(s.TopCredentials) != 3 || s.TopCredentials[0] != (CredentialCount{"root", "toor", 2}) {
		t.Errorf("TopCredentials = %+v", s.TopCredentials)
	}
	// Usernames are compared byte for byte on both engines: "root " is not "root"
	// (MariaDB's PAD SPACE text comparison would merge them), and "root\x00x"
	// sorts before "root ".
	s, err = st.Stats(ctx, StatsQuery{Top: 10})
	if err != nil {
		t.Fatal(err)
	}
	if want := []Count{{"root", 3}, {hostile, 1}, {"admin", 1}, {"root\x00x", 1}, {"root ", 1}}; !reflect.DeepEqual(s.TopUsernames, want) {
		t.Errorf("TopUsernames = %+q, want %+q", fmt.Sprint(s.TopUsernames), fmt.Sprint(want))
	}
	if len(s.TopCredentials) != 6 || s.TopCredentials[4] != (CredentialCount{"root\x00x", "toor", 1}) || s.TopCredentials[5] != (CredentialCount{"root ", "toor", 1}) {
		t.Errorf("TopCredentials = %+q", fmt.Sprint(s.TopCredentials))
	}
	s, err = st.Stats(ctx, StatsQuery{Since: t0.Add(20 * time.Second)})
	if err != nil || s.Events != 10 || s.Credentials != 0 {
		t.Errorf("Stats since t0+20s = %+v, %v; want 10 events, no credentials", s, err)
	}

	h, err := st.Histogram(ctx, LogQuery{}, 10*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	var total int64
	for i, bk := range h {
		total += bk.Count
		if bk.Start.UnixMicro()%(10*time.Second).Microseconds() != 0 {
			t.Errorf("bucket %d starts at %v, not aligned to 10s", i, bk.Start)
		}
		if i > 0 && !bk.Start.After(h[i-1].Start) {
			t.Errorf("buckets out of order at %d", i)
		}
	}
	if total != 30 || len(h) < 3 || len(h) > 4 {
		t.Errorf("Histogram(10s) = %+v; want 30 events in 3-4 buckets", h)
	}
	h, err = st.Histogram(ctx, LogQuery{Service: "ssh", Since: t0, Until: t0.Add(time.Hour)}, time.Hour)
	if err != nil || len(h) > 2 || (len(h) > 0 && h[0].Count+func() int64 {
		if len(h) == 2 {
			return h[1].Count
		}
		return 0
	}() != 10) {
		t.Errorf("Histogram(service:ssh, 1h) = %+v, %v; want 10 events", h, err)
	}
	if _, err := st.Histogram(ctx, LogQuery{Since: t0, Until: t0.Add(365 * 24 * time.Hour)}, time.Second); !errors.Is(err, ErrInvalid) {
		t.Errorf("a year at 1s buckets = %v; want ErrInvalid", err)
	}
	if _, err := st.Histogram(ctx, LogQuery{}, 0); !errors.Is(err, ErrInvalid) {
		t.Errorf("interval 0 = %v; want ErrInvalid", err)
	}
}
