package cli

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"testing"
	"time"

	"decnet/internal/event"
	"decnet/internal/testenv"
)

// TestRunCollectsAndIngests runs `decnet run` against the real Docker engine with a
// project that has no containers: the collector follows nothing, and the ingester
// stores what is in the spool. Both stop cleanly on cancel.
func TestRunCollectsAndIngests(t *testing.T) {
	testenv.RequireDocker(t)
	p := newPipe(t)
	var evs []event.Event
	for i := 0; i < 50; i++ {
		evs = append(evs, hostileEvent(i, map[string]string{"password": fmt.Sprint("pw", i)}, "run"))
	}
	p.write(evs...)
	p.w.Close() // the collector inside `run` is the spool's writer now

	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	var errb syncBuffer
	done := make(chan int, 1)
	go func() {
		done <- Run(ctx, []string{"run", "--state-dir", p.state, "--project", "dnt-run-test-empty", "--flush-interval", "10ms"}, &bytes.Buffer{}, &errb)
	}()
	deadline := time.Now().Add(60 * time.Second)
	for p.count() < 50 {
		select {
		case code := <-done:
			t.Fatalf("run exited %d early: %s", code, errb.String())
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("run stored %d of 50 events: %s", p.count(), errb.String())
		}
		time.Sleep(20 * time.Millisecond)
	}
	cancel()
	if code := <-done; code != ExitOK {
		t.Fatalf("run exit %d: %s", code, errb.String())
	}
	if !strings.Contains(errb.String(), "ingester stopped") || !strings.Contains(errb.String(), "collector stopped") {
		t.Errorf("run did not report both parts stopping:\n%s", errb.String())
	}
}
