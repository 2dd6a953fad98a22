package query

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/store"
)

// Queries typed in the search syntax select the right events from a real store,
// hostile values included.
func TestQueriesAgainstStore(t *testing.T) {
	ctx := context.Background()
	st, err := store.Open(ctx, "sqlite://"+filepath.Join(t.TempDir(), "q.db"))
	if err != nil {
		t.Fatal(err)
	}
	defer st.Close()
	mk := func(id, decky, user, msg string, ago time.Duration) store.Record {
		return store.Record{Event: event.Event{ID: id, Time: now.Add(-ago), Decky: decky, Service: "ssh", Type: event.Auth,
			AttackerIP: "203.0.113.7", Fields: map[string]string{"username": user}, Msg: msg}, RawLine: msg}
	}
	if _, err := st.Ingest(ctx, store.Batch{Records: []store.Record{
		mk("1", "web-01", "root", "login ok", time.Minute),
		mk("2", "web-02", `a"b]`, "x \x1b[31m y", time.Hour),
		mk("3", "web-01", "\xff\xfe", "binary user", 3*24*time.Hour),
	}}); err != nil {
		t.Fatal(err)
	}
	for _, c := range []struct {
		q    string
		want int64
	}{
		{"", 3},
		{"decky:web-01", 2},
		{"decky:web-01 username:root", 1},
		{`username:"a\"b]"`, 1},
		{`username:"\xff\xfe"`, 1},
		{`"\x1b[31m"`, 1},
		{"login", 1},
		{"since:2h", 2},
		{"since:2h until:30m", 1},
		{"attacker:203.0.113.7 service:ssh event:auth", 3},
		{"attacker:203.0.113.8", 0},
	} {
		q, err := ParseAt(c.q, now)
		if err != nil {
			t.Fatalf("%q: %v", c.q, err)
		}
		n, err := st.CountLogs(ctx, q)
		if err != nil {
			t.Fatalf("%q: %v", c.q, err)
		}
		if n != c.want {
			t.Errorf("%q matched %d events, want %d", c.q, n, c.want)
		}
	}
}
