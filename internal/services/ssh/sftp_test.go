package ssh

import (
	"crypto/rand"
	"crypto/sha256"
	"encoding/hex"
	"io"
	"sync/atomic"
	"testing"
)

// hashSave stands in for Runtime.SaveArtifact's hashing (same contract: read to
// EOF, report SHA-256 and size).
func hashSave(r io.Reader) (string, int64, bool, error) {
	h := sha256.New()
	n, err := io.Copy(h, r)
	return hex.EncodeToString(h.Sum(nil)), n, false, err
}

func TestUploadReordersChunks(t *testing.T) {
	data := make([]byte, 10000)
	rand.Read(data)
	sum := sha256.Sum256(data)
	want := hex.EncodeToString(sum[:])

	type w struct{ off, end int }
	cases := map[string][]w{
		"in order":    {{0, 4000}, {4000, 8000}, {8000, 10000}},
		"reversed":    {{8000, 10000}, {4000, 8000}, {0, 4000}},
		"overlapping": {{3000, 7000}, {0, 5000}, {6000, 10000}, {2000, 2500}},
		"rewrite":     {{0, 10000}, {100, 200}},
	}
	var budget atomic.Int64
	for name, writes := range cases {
		var got uploadResult
		u := newUpload(hashSave, &budget, func(r uploadResult) { got = r })
		for _, x := range writes {
			if n, err := u.WriteAt(data[x.off:x.end], int64(x.off)); err != nil || n != x.end-x.off {
				t.Fatalf("%s: WriteAt(%d): %d %v", name, x.off, n, err)
			}
		}
		if err := u.Close(); err != nil {
			t.Fatalf("%s: close: %v", name, err)
		}
		if got.sum != want || got.size != int64(len(data)) || !got.complete {
			t.Errorf("%s: got %+v, want sha256 %s size %d", name, got, want, len(data))
		}
	}

	// A gap that never fills: the prefix is the artifact, marked incomplete.
	var got uploadResult
	u := newUpload(hashSave, &budget, func(r uploadResult) { got = r })
	u.WriteAt(data[:100], 0)
	u.WriteAt(data[200:300], 200)
	u.Close()
	if got.size != 100 || got.complete {
		t.Errorf("sparse upload: %+v", got)
	}

	// Out-of-order data beyond the bound is refused rather than buffered.
	u = newUpload(hashSave, &budget, func(uploadResult) {})
	if _, err := u.WriteAt(make([]byte, maxPending+1), 1); err == nil {
		t.Error("unbounded pending data accepted")
	}
	u.Close()
	if n := budget.Load(); n != 0 {
		t.Errorf("pending budget not returned: %d bytes", n)
	}
}
