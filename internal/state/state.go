// Package state owns decnet-state.json: the record of what the last deploy put on the
// LAN (the fleet, the image, the compose project). The engine's labels are the source of
// truth for what runs; this file mirrors them so teardown, status and redeploys know the
// whole fleet without re-reading the INI. Writes are atomic: a reader sees the old file
// or the new one, never a partial one.
package state

import (
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"time"

	"decnet/internal/fleet"
)

// FileName is the state file's name inside the state directory.
const FileName = "decnet-state.json"

// CurrentVersion is the schema version Save writes and Load accepts.
const CurrentVersion = 1

// MaxSize bounds the state file Load reads (a fleet is a few KiB per decky).
const MaxSize = 64 << 20

// ErrNoState is returned (wrapped) by Load when no state file exists: nothing is deployed.
var ErrNoState = errors.New("no DECNET deployment is recorded")

// State is what one deploy recorded.
type State struct {
	Version     int         `json:"version"`
	Project     string      `json:"project"`
	Image       string      `json:"image"`
	ComposeFile string      `json:"compose_file"`
	DeployedAt  time.Time   `json:"deployed_at"`
	Fleet       fleet.Fleet `json:"fleet"`
}

// DefaultDir is $DECNET_STATE_DIR, or /var/lib/decnet when it is unset or empty.
func DefaultDir() string {
	if d := os.Getenv("DECNET_STATE_DIR"); d != "" {
		return d
	}
	return "/var/lib/decnet"
}

// Path is the state file inside stateDir.
func Path(stateDir string) string { return filepath.Join(stateDir, FileName) }

// Load reads the state of stateDir. When no state file exists it returns an error
// wrapping ErrNoState (test with errors.Is); any other failure (unreadable, corrupt,
// newer version) is a distinct error, so "nothing deployed" is never confused with
// "cannot tell what is deployed".
func Load(stateDir string) (*State, error) {
	if !filepath.IsAbs(stateDir) {
		return nil, fmt.Errorf("state directory %q must be an absolute path", stateDir)
	}
	p := Path(stateDir)
	f, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, fmt.Errorf("%w (no %s)", ErrNoState, p)
	}
	if err != nil {
		return nil, fmt.Errorf("cannot open the state file: %w", err)
	}
	defer f.Close()
	fi, err := f.Stat()
	if err != nil {
		return nil, fmt.Errorf("cannot stat the state file %s: %w", p, err)
	}
	if fi.Size() > MaxSize {
		return nil, fmt.Errorf("state file %s is %d bytes, more than the %d a state can be", p, fi.Size(), MaxSize)
	}
	var s State
	if err := json.NewDecoder(f).Decode(&s); err != nil {
		return nil, fmt.Errorf("state file %s is corrupt: %w", p, err)
	}
	if s.Version != CurrentVersion {
		return nil, fmt.Errorf("state file %s has version %d, this decnet understands version %d", p, s.Version, CurrentVersion)
	}
	return &s, nil
}

// Save writes s atomically to stateDir (absolute; created with mode 0700 if missing):
// a temporary file in the same directory is written, synced, renamed over the old file
// and the directory is synced, so a crash leaves either the old or the new state. The
// file has mode 0600 (it holds per-decky secrets). s.Version is set to CurrentVersion.
func Save(stateDir string, s *State) error {
	if s == nil {
		return errors.New("cannot save a nil state")
	}
	if !filepath.IsAbs(stateDir) {
		return fmt.Errorf("state directory %q must be an absolute path", stateDir)
	}
	if err := os.MkdirAll(stateDir, 0o700); err != nil {
		return fmt.Errorf("cannot create the state directory: %w", err)
	}
	s.Version = CurrentVersion
	b, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return fmt.Errorf("cannot encode the state: %w", err)
	}
	b = append(b, '\n')

	tmp, err := os.CreateTemp(stateDir, "."+FileName+".tmp-*")
	if err != nil {
		return fmt.Errorf("cannot create a temporary state file: %w", err)
	}
	committed := false
	defer func() {
		if !committed {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if err := tmp.Chmod(0o600); err != nil {
		return fmt.Errorf("cannot restrict the temporary state file: %w", err)
	}
	if _, err := tmp.Write(b); err != nil {
		return fmt.Errorf("cannot write the temporary state file: %w", err)
	}
	if err := tmp.Sync(); err != nil {
		return fmt.Errorf("cannot sync the temporary state file: %w", err)
	}
	if err := tmp.Close(); err != nil {
		return fmt.Errorf("cannot close the temporary state file: %w", err)
	}
	if err := os.Rename(tmp.Name(), Path(stateDir)); err != nil {
		return fmt.Errorf("cannot replace the state file: %w", err)
	}
	committed = true
	d, err := os.Open(stateDir)
	if err != nil {
		return fmt.Errorf("cannot open the state directory to sync it: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("cannot sync the state directory %s: %w", stateDir, err)
	}
	return nil
}

// Remove deletes the state file (after a teardown of the whole fleet). A missing file is
// not an error.
func Remove(stateDir string) error {
	if !filepath.IsAbs(stateDir) {
		return fmt.Errorf("state directory %q must be an absolute path", stateDir)
	}
	if err := os.Remove(Path(stateDir)); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("cannot remove the state file: %w", err)
	}
	return nil
}
