package ssh

import (
	"errors"
	"net"
	"sync"

	"decnet/internal/fingerprint"
)

// The client's identification line and SSH_MSG_KEXINIT are parsed by
// internal/fingerprint (golang.org/x/crypto/ssh never exposes the peer's raw
// name-lists, which HASSH needs); this file only taps the connection to feed it.

// maxTap bounds how many bytes of a connection the KEXINIT tap keeps.
const maxTap = 64 << 10

// KexInit is the client's parsed KEXINIT.
type KexInit = fingerprint.KexInit

// kexTap wraps an attacker connection and copies the first bytes the client sends
// (at most maxTap) until its version line and KEXINIT have been parsed. It is a
// passive tee: the SSH library reads exactly the bytes it would have read anyway.
type kexTap struct {
	net.Conn

	mu       sync.Mutex
	buf      []byte
	done     bool
	version  string
	kex      KexInit
	haveKex  bool
	onResult func(version string, k KexInit, ok bool)
}

func newKexTap(c net.Conn, onResult func(version string, k KexInit, ok bool)) *kexTap {
	return &kexTap{Conn: c, onResult: onResult}
}

func (t *kexTap) Read(p []byte) (int, error) {
	n, err := t.Conn.Read(p)
	if n > 0 {
		t.feed(p[:n])
	}
	return n, err
}

func (t *kexTap) feed(p []byte) {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	room := maxTap - len(t.buf)
	if len(p) > room {
		p = p[:room]
	}
	t.buf = append(t.buf, p...)
	v, k, err := fingerprint.ParseClientPreamble(t.buf)
	if v != "" {
		t.version = v
	}
	if errors.Is(err, fingerprint.ErrIncomplete) && len(t.buf) < maxTap {
		t.mu.Unlock()
		return
	}
	t.done = true
	t.buf = nil
	if err == nil {
		t.kex, t.haveKex = k, true
	}
	cb, version, kex, ok := t.onResult, t.version, t.kex, t.haveKex
	t.mu.Unlock()
	if cb != nil {
		cb(version, kex, ok)
	}
}

// result returns what the tap has seen so far.
func (t *kexTap) result() (version string, k KexInit, ok bool) {
	t.mu.Lock()
	defer t.mu.Unlock()
	return t.version, t.kex, t.haveKex
}

// finish ends tapping (the connection is over) and reports a version line seen
// without a KEXINIT, once.
func (t *kexTap) finish() {
	t.mu.Lock()
	if t.done {
		t.mu.Unlock()
		return
	}
	t.done = true
	t.buf = nil
	cb, version := t.onResult, t.version
	t.mu.Unlock()
	if cb != nil && version != "" {
		cb(version, KexInit{}, false)
	}
}
