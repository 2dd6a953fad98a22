package testenv

import (
	"fmt"
	"net/netip"
	"os"
	"sync"
	"testing"
	"time"

	"decnet/internal/lab"

	"golang.org/x/sys/unix"
)

// SharedLabName and SharedLabSubnet describe the lab SharedLab brings up.
const SharedLabName = "dnt"

// SharedLabSubnet is the shared lab's LAN.
var SharedLabSubnet = netip.MustParsePrefix("10.213.7.0/24")

// sharedLabLock serialises the shared lab between test processes: `go test
// ./...` runs packages in parallel, and two of them must not tear down or
// redeploy on one lab at the same time. The lock is held until the process
// exits (the kernel releases it then, even on a crash).
const sharedLabLock = "/run/dnt-shared-lab.lock"

var shared struct {
	once sync.Once
	lab  *lab.Lab
	err  error
	logs []string
	// lock holds the shared-lab lock file open for the life of the process
	// (a closed or garbage-collected file would release the lock).
	lock *os.File
	mu   sync.Mutex // guards lock
}

// SharedLab returns the lab named "dnt" (10.213.7.0/24), brought up once per
// test process and left up for the other tests of the process. It needs root
// (RequireRoot is applied). Its first call takes an exclusive lock that other
// test processes wait on, so only one process uses the shared lab at a time,
// then removes whatever lab of that name a previous process left behind
// (saying so in the test log) and creates a fresh one. The lab is left up when
// the process ends; the next process's first call removes it.
func SharedLab(t testing.TB) *lab.Lab {
	t.Helper()
	RequireRoot(t)
	first := false
	shared.once.Do(func() {
		first = true
		shared.lab, shared.logs, shared.err = bringUpShared(t)
	})
	if first {
		for _, m := range shared.logs {
			t.Log(m)
		}
	}
	if shared.err != nil {
		t.Fatalf("could not bring up the shared lab: %v", shared.err)
	}
	return shared.lab
}

// lockShared takes the cross-process shared-lab lock for this process, once;
// it returns what the test log should say about waiting for it.
func lockShared(t testing.TB) ([]string, error) {
	shared.mu.Lock()
	defer shared.mu.Unlock()
	if shared.lock != nil {
		return nil, nil
	}
	f, err := os.OpenFile(sharedLabLock, os.O_CREATE|os.O_RDWR|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("could not open lock file %s: %w", sharedLabLock, err)
	}
	var logs []string
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err == unix.EWOULDBLOCK {
		start := time.Now()
		t.Logf("waiting for another test process to finish with the shared lab %q (lock %s)", SharedLabName, sharedLabLock)
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
			f.Close()
			return nil, fmt.Errorf("could not lock %s: %w", sharedLabLock, err)
		}
		logs = append(logs, fmt.Sprintf("waited %v for the shared lab lock", time.Since(start).Round(time.Millisecond)))
	} else if err != nil {
		f.Close()
		return nil, fmt.Errorf("could not lock %s: %w", sharedLabLock, err)
	}
	shared.lock = f
	return logs, nil
}

func bringUpShared(t testing.TB) (*lab.Lab, []string, error) {
	logs, err := lockShared(t)
	if err != nil {
		return nil, nil, err
	}
	stale, _, err := lab.Status(SharedLabName)
	if err != nil {
		return nil, logs, err
	}
	if stale != nil {
		if err := lab.Down(SharedLabName); err != nil {
			return nil, logs, fmt.Errorf("could not remove the stale lab %q: %w", SharedLabName, err)
		}
		logs = append(logs, fmt.Sprintf("removed the stale lab %q left by an earlier test process", SharedLabName))
	}
	l, err := lab.Up(lab.Config{Name: SharedLabName, Subnet: SharedLabSubnet})
	if err != nil {
		return nil, logs, err
	}
	logs = append(logs, l.Notes...)
	logs = append(logs, fmt.Sprintf("shared lab %q is up: parent %s (%v), attacker namespace %s (%v)", l.Name, l.Parent, l.HostIP, l.Namespace, l.AttackerIP))
	return l, logs, nil
}
