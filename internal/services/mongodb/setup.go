// Package mongodb is a MongoDB honeypot on 27017/tcp: it speaks the wire protocol
// (OP_MSG, and the legacy OP_QUERY that nmap, old drivers and every driver's first
// handshake use), answers hello/isMaster, buildInfo, listDatabases (bait database
// names), serverStatus, getLog, getCmdLineOpts and the other commands a scanner or
// a ransom bot sends, like the persona's mongod version, records every command,
// and runs SCRAM-SHA-1 / SCRAM-SHA-256 far enough to capture the client's proof
// (a form a password guess can be checked against offline) before answering
// "Authentication failed." (code 18) as mongod does. PLAIN credentials are
// captured in clear. Nothing an attacker sends is stored or executed.
//
// BSON comes from go.mongodb.org/mongo-driver/v2/bson; the message framing and
// the SCRAM attribute parsing are written here (see wire.go, scram.go).
package mongodb

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"strconv"
	"strings"

	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "mongodb",
		Summary: "MongoDB server (OP_MSG/OP_QUERY): hello, buildInfo, bait listDatabases, SCRAM proof capture",
		Ports:   []fleet.Port{{Number: Port, Proto: "tcp"}},
		Keys:    Keys,
		Secrets: Secrets,
		Run:     run,
	})
}

// Port is mongod's port.
const Port = 27017

// Persona keys.
const (
	KeyVersion     = "version"
	KeyRequireAuth = "require_auth"
	KeyDatabases   = "databases"
)

// Keys are the mongodb service's persona keys.
var Keys = []service.Key{
	{Name: KeyVersion, Kind: service.String, Default: "7.0.14", Check: checkVersion,
		Help: "mongod version (3.6 to 8.0 series): buildInfo, serverStatus, maxWireVersion; 6.0 and later refuse legacy OP_QUERY commands as mongod does"},
	{Name: KeyRequireAuth, Kind: service.Bool, Default: "false",
		Help: "answer commands other than the handshake with \"requires authentication\" (false: an exposed mongod without access control, the ransom bots' target)"},
	{Name: KeyDatabases, Kind: service.List, Default: "crm_prod,billing,customers",
		Help: "bait databases listed next to admin, config and local"},
}

// SecretSeed keys the per-user SCRAM salts, so a user's salt is the same on every
// connection and restart (a changing salt would show the user is not stored).
const SecretSeed = "scram_seed"

// Secrets makes the decky's SCRAM salt seed.
func Secrets(service.Identity) (map[string]string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("draw the SCRAM salt seed: %w", err)
	}
	return map[string]string{SecretSeed: hex.EncodeToString(b)}, nil
}

// wireVersions is maxWireVersion by release series.
var wireVersions = map[string]int32{
	"3.6": 6, "4.0": 7, "4.2": 8, "4.4": 9, "5.0": 13, "6.0": 17, "7.0": 21, "8.0": 25,
}

// version is a parsed mongod version.
type version struct {
	text                string
	major, minor, patch int
}

func parseVersion(v string) (version, bool) {
	parts := strings.Split(v, ".")
	if len(parts) != 3 {
		return version{}, false
	}
	var n [3]int
	for i, p := range parts {
		x, err := strconv.Atoi(p)
		if err != nil || x < 0 || x > 99 {
			return version{}, false
		}
		n[i] = x
	}
	ver := version{v, n[0], n[1], n[2]}
	if _, ok := wireVersions[ver.series()]; !ok {
		return version{}, false
	}
	return ver, true
}

func (v version) series() string { return strconv.Itoa(v.major) + "." + strconv.Itoa(v.minor) }

func (v version) wire() int32 { return wireVersions[v.series()] }

func (v version) atLeast(major, minor int) bool {
	return v.major > major || v.major == major && v.minor >= minor
}

func checkVersion(v string) error {
	if _, ok := parseVersion(v); !ok {
		return fmt.Errorf("%q is not a mongod version of the 3.6, 4.0, 4.2, 4.4, 5.0, 6.0, 7.0 or 8.0 series (like 7.0.14)", v)
	}
	return nil
}
