package analysis

import (
	"context"
	"fmt"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/store"
	"decnet/internal/store/storetest"
)

// BenchmarkEngine measures how many stored events per second the worker analyses
// (read, correlate, profile, commit) on SQLite: 20000 events of 200 attackers.
func BenchmarkEngine(b *testing.B) {
	const events, attackers = 20000, 200
	var g gen
	types := []string{event.Connect, event.Auth, event.Command, event.Request, event.Disconnect}
	for i := 0; i < events; i++ {
		ip := fmt.Sprintf("10.%d.%d.%d", i%attackers/250, i%attackers%250, 1+i%7)
		g.add(ip, fmt.Sprintf("decky-%02d", i%5), []string{"ssh", "http", "ftp"}[i%3], types[i%len(types)],
			t0.Add(time.Duration(i)*37*time.Millisecond), "username", "root", "password", fmt.Sprint(i%50), "outcome", "failure",
			"command", "ls -la", "path", fmt.Sprintf("/p%d", i%300), "user_agent", "curl/8.5.0", "client_version", "SSH-2.0-libssh_0.10.6")
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		st, err := store.Open(context.Background(), storetest.SQLiteDSN(b))
		if err != nil {
			b.Fatal(err)
		}
		for recs := g.recs; len(recs) > 0; {
			n := min(len(recs), 2000)
			if _, err := st.Ingest(context.Background(), store.Batch{Records: recs[:n]}); err != nil {
				b.Fatal(err)
			}
			recs = recs[n:]
		}
		b.StartTimer()
		if err := New(st, Options{}).CatchUp(context.Background()); err != nil {
			b.Fatal(err)
		}
		b.StopTimer()
		st.Close()
	}
	b.ReportMetric(float64(events*b.N)/b.Elapsed().Seconds(), "events/s")
}
