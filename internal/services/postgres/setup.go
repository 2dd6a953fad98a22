// Package postgres is a PostgreSQL server honeypot on 5432/tcp. It answers the
// startup handshake like the persona's PostgreSQL (SSLRequest, protocol errors with
// the real file/line fields that nmap fingerprints), asks for the password with
// the persona's method (scram-sha-256, md5 or cleartext), captures it in a
// crackable or plain form, and fails like the real server with
// FATAL 28P01 "password authentication failed for user".
package postgres

import (
	"crypto/rand"
	"encoding/hex"
	"fmt"

	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "postgres",
		Summary: "PostgreSQL server: logins captured (SCRAM-SHA-256 exchange, md5 hashcat 11100, or cleartext)",
		Ports:   []fleet.Port{{Number: Port, Proto: "tcp"}},
		Keys:    Keys,
		Secrets: Secrets,
		Run:     run,
	})
}

// Port is the PostgreSQL port.
const Port = 5432

// Persona keys.
const (
	KeyVersion = "version"
	KeyAuth    = "auth"
)

// Authentication methods (pg_hba.conf names).
const (
	AuthSCRAM    = "scram-sha-256"
	AuthMD5      = "md5"
	AuthPassword = "password"
)

// SecretSCRAMSeed names the per-decky seed the SCRAM salts derive from.
const SecretSCRAMSeed = "scram_seed"

// Keys are the postgres service's persona keys.
var Keys = []service.Key{
	{Name: KeyVersion, Kind: service.String, Help: `PostgreSQL version, e.g. "15.18" (default: the version the distro ships); it shows in protocol errors (file, line) that scanners fingerprint`, Check: checkVersion},
	{Name: KeyAuth, Kind: service.String, Help: "password method: scram-sha-256, md5 or password (cleartext) (default: scram-sha-256 from PostgreSQL 14 on, md5 before)", Check: checkAuth},
}

func checkVersion(v string) error {
	if _, _, ok := parseVersion(v); !ok {
		return fmt.Errorf("%q is not a PostgreSQL version like 15.18 or 9.2.24", v)
	}
	return nil
}

func checkAuth(v string) error {
	switch v {
	case AuthSCRAM, AuthMD5, AuthPassword:
		return nil
	}
	return fmt.Errorf("%q is not a password method (use %s, %s or %s)", v, AuthSCRAM, AuthMD5, AuthPassword)
}

// Secrets makes the per-decky seed for SCRAM salts: a user's salt is the same on
// every connection and every restart (a real server's stored salt does not
// change), and differs between deckies.
func Secrets(service.Identity) (map[string]string, error) {
	b := make([]byte, 32)
	if _, err := rand.Read(b); err != nil {
		return nil, fmt.Errorf("generate the SCRAM seed: %w", err)
	}
	return map[string]string{SecretSCRAMSeed: hex.EncodeToString(b)}, nil
}
