package store

import (
	"context"
	"database/sql"
	"encoding/json"
	"fmt"
	"os"
	"strconv"
	"syscall"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/store/storetest"
)

// The store-level ingest benchmark: N synthetic events (DECNET_BENCH_EVENTS, default
// 200000) through Store.Ingest in batches of 20000 (the ingester's default batch
// size), against a bare batched INSERT loop
// of the same rows into the same schema in the same process (multi-row prepared
// INSERTs, json.Marshal of the fields, one transaction per batch: what a hand-written
// loader would do, without dedup, id reporting, validation or lossless encoding).
// It reports events/s for both and their ratio:
//
//	go test ./internal/store -run '^$' -bench Ingest -benchtime 1x
//	DECNET_TEST_MYSQL_DSN='decnet:…@tcp(127.0.0.1:3306)/decnet_test' go test … (adds MariaDB)

const benchBatch = 20000 // ingest.DefaultBatchSize (not imported: ingest imports store)

func benchEvents() int {
	if n, err := strconv.Atoi(os.Getenv("DECNET_BENCH_EVENTS")); err == nil && n > 0 {
		return n
	}
	return 200000
}

func benchRecords(prefix string, n int) []Record {
	out := make([]Record, n)
	for i := range out {
		e := event.Event{
			ID:           fmt.Sprintf("%s-%08d-0000-7000-8000-000000000000", prefix, i),
			Time:         time.Unix(1773500000, 0).Add(time.Duration(i) * time.Millisecond).UTC(),
			Decky:        fmt.Sprintf("decky-%02d", i%10),
			Service:      []string{"ssh", "http", "ftp", "smb"}[i%4],
			Type:         []string{"connect", "auth", "command", "request"}[i%4],
			AttackerIP:   fmt.Sprintf("198.51.100.%d", i%250),
			AttackerPort: 30000 + i%30000,
			Fields:       map[string]string{"username": "root", "password": fmt.Sprintf("pw%d", i%1000), "client_version": "SSH-2.0-OpenSSH_9.6"},
			Msg:          "login attempt",
		}
		line, _ := event.Format(e)
		out[i] = Record{Event: e, RawLine: string(line)}
	}
	return out
}

func BenchmarkIngestSQLite(b *testing.B) { benchIngest(b, storetest.SQLiteDSN) }

func BenchmarkIngestMySQL(b *testing.B) { benchIngest(b, storetest.MySQLDSN) }

func benchIngest(b *testing.B, fresh func(testing.TB) string) {
	ctx := context.Background()
	n := benchEvents()
	for iter := 0; iter < b.N; iter++ {
		rs := benchRecords(fmt.Sprintf("s%d", iter), n)

		// Store.Ingest.
		st, err := Open(ctx, fresh(b))
		if err != nil {
			b.Fatal(err)
		}
		start, cpu0 := time.Now(), cpuTime()
		for lo := 0; lo < n; lo += benchBatch {
			hi := min(lo+benchBatch, n)
			res, err := st.Ingest(ctx, Batch{Records: rs[lo:hi], CursorName: "bench", Cursor: strconv.Itoa(hi)})
			if err != nil {
				b.Fatal(err)
			}
			if len(res.Inserted) != hi-lo {
				b.Fatalf("inserted %d of %d", len(res.Inserted), hi-lo)
			}
		}
		storeDur, storeCPU := time.Since(start), cpuTime()-cpu0
		st.Close()

		// The bare loop, on a fresh database with the same schema.
		st2, err := Open(ctx, fresh(b))
		if err != nil {
			b.Fatal(err)
		}
		db := st2.(*sqlStore).w
		start, cpu0 = time.Now(), cpuTime()
		if err := bareInsert(ctx, db, st2.(*sqlStore).dialect, rs); err != nil {
			b.Fatal(err)
		}
		bareDur, bareCPU := time.Since(start), cpuTime()-cpu0
		st2.Close()

		storeRate := float64(n) / storeDur.Seconds()
		bareRate := float64(n) / bareDur.Seconds()
		b.ReportMetric(storeRate, "store-events/s")
		b.ReportMetric(bareRate, "bare-events/s")
		b.ReportMetric(storeRate/bareRate, "ratio")
		b.Logf("%d events: Store.Ingest %.0f events/s, bare INSERT loop %.0f events/s, ratio %.2f (wall clock)", n, storeRate, bareRate, storeRate/bareRate)
		// On a shared machine wall time depends on the neighbours; CPU time does not.
		sc, bc := float64(n)/storeCPU.Seconds(), float64(n)/bareCPU.Seconds()
		b.Logf("%d events: Store.Ingest %.0f events/CPU-s, bare INSERT loop %.0f events/CPU-s, ratio %.2f (process CPU time)", n, sc, bc, sc/bc)
	}
}

func bareInsert(ctx context.Context, db *sql.DB, d dialect, rs []Record) error {
	const rowsPer = defaultChunkRows
	full, err := db.PrepareContext(ctx, insertLogsHead+placeholders(rowsPer, 10))
	if err != nil {
		return err
	}
	defer full.Close()
	args := make([]any, 0, rowsPer*10)
	// The rows as the store writes them: a canonical raw line is stored as "".
	raws := make([]string, len(rs))
	for i, r := range rs {
		if line, err := event.Format(r.Event); err != nil || string(line) != r.RawLine {
			raws[i] = r.RawLine
		}
	}
	for lo := 0; lo < len(rs); lo += benchBatch {
		batch := rs[lo:min(lo+benchBatch, len(rs))]
		tx, err := db.BeginTx(ctx, nil)
		if err != nil {
			return err
		}
		for c := 0; c < len(batch); c += rowsPer {
			chunk := batch[c:min(c+rowsPer, len(batch))]
			args = args[:0]
			for j, r := range chunk {
				f, _ := json.Marshal(r.Fields)
				raw := raws[lo+c+j]
				if d == dialectMySQL {
					args = append(args, r.ID, r.Time.UnixMicro(), r.Decky, r.Service, r.Type, r.AttackerIP, r.AttackerPort, string(f), []byte(r.Msg), []byte(raw))
				} else {
					args = append(args, r.ID, r.Time.UnixMicro(), r.Decky, r.Service, r.Type, r.AttackerIP, r.AttackerPort, string(f), r.Msg, raw)
				}
			}
			st := tx.StmtContext(ctx, full)
			if len(chunk) != rowsPer {
				st, err = tx.PrepareContext(ctx, insertLogsHead+placeholders(len(chunk), 10))
				if err != nil {
					tx.Rollback()
					return err
				}
			}
			if _, err := st.ExecContext(ctx, args...); err != nil {
				tx.Rollback()
				return err
			}
		}
		if _, err := tx.ExecContext(ctx, "UPDATE state SET value = ? WHERE name = 'bench'", strconv.Itoa(lo)); err != nil {
			tx.Rollback()
			return err
		}
		if err := tx.Commit(); err != nil {
			return err
		}
	}
	return nil
}

// cpuTime is the user+system CPU time the process has used.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
