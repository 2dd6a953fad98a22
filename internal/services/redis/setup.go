// Package redis is a Redis honeypot on 6379/tcp: it speaks RESP2 (and answers HELLO 3
// minimally), accepts inline (telnet-style) commands, captures AUTH passwords, serves a
// small per-connection bait keyspace and INFO/CONFIG/CLIENT answers that follow the
// decky's distro, and records every command. The classic Redis attack chain (CONFIG SET
// dir/dbfilename + SAVE, SLAVEOF/REPLICAOF to a rogue master, MODULE LOAD, EVAL) is
// answered like the persona's Redis version and additionally raised as alert events.
//
// RESP framing comes from github.com/tidwall/redcon (its Reader and Writer); redcon's
// reader grows its buffer without bound, so every connection reads through a budget
// that ends it once a single pending command passes MaxRequest bytes.
package redis

import (
	"fmt"
	"strconv"
	"strings"

	"decnet/internal/catalog"
	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "redis",
		Summary: "Redis server (RESP2/inline): AUTH capture, bait keyspace, attack-chain alerts",
		Ports:   []fleet.Port{{Number: Port, Proto: "tcp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Port is Redis's port.
const Port = 6379

// Persona keys.
const (
	KeyVersion     = "version"
	KeyRequirePass = "requirepass"
)

// Keys are the redis service's persona keys.
var Keys = []service.Key{
	{Name: KeyVersion, Kind: service.String, Help: "redis_version reported by INFO and HELLO (default: the distro's packaged Redis, e.g. 7.0.15 on Debian 12, 6.0.16 on Ubuntu 22.04)", Check: checkVersion},
	{Name: KeyRequirePass, Kind: service.String, Help: "password of the default user; when set, commands before AUTH get -NOAUTH (default: none, like an exposed Redis)", Check: checkPass},
}

func checkVersion(v string) error {
	if _, ok := parseVersion(v); !ok {
		return fmt.Errorf("%q is not a Redis version like 7.0.15", v)
	}
	return nil
}

func checkPass(v string) error {
	if len(v) > 512 {
		return fmt.Errorf("is %d bytes long; keep it under 512", len(v))
	}
	for _, c := range []byte(v) {
		if c < 0x21 || c > 0x7e {
			return fmt.Errorf("holds a byte that is not printable ASCII without spaces")
		}
	}
	return nil
}

// distroVersions is the Redis each distro packages (its redis-server package version).
var distroVersions = map[string]string{
	"debian":   "7.0.15",
	"ubuntu22": "6.0.16",
	"ubuntu20": "5.0.7",
	"rocky9":   "6.2.7",
	"centos7":  "3.2.12",
	"alpine":   "7.2.5",
	"fedora":   "7.2.4",
	"kali":     "7.0.15",
	"arch":     "7.2.5",
	"freebsd":  "7.2.4",
}

// DefaultVersion is the Redis version of a distro (7.0.15 where the distro has no
// packaged Redis of its own).
func DefaultVersion(d catalog.Distro) string {
	if v, ok := distroVersions[d.Slug]; ok {
		return v
	}
	return "7.0.15"
}

// gccVersions is the compiler the distro built its Redis with (INFO server gcc_version).
var gccVersions = map[string]string{
	"debian":   "12.2.0",
	"ubuntu22": "11.2.0",
	"ubuntu20": "9.3.0",
	"rocky9":   "11.3.1",
	"centos7":  "4.8.5",
	"alpine":   "13.2.1",
	"fedora":   "13.2.1",
	"kali":     "13.2.0",
	"arch":     "14.1.1",
	"freebsd":  "4.2.1",
}

// version is a parsed major.minor.patch.
type version [3]int

func parseVersion(s string) (version, bool) {
	var v version
	parts := strings.Split(s, ".")
	if len(parts) != 3 {
		return v, false
	}
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 999 {
			return v, false
		}
		v[i] = n
	}
	return v, true
}

func (v version) atLeast(major, minor int) bool {
	return v[0] > major || (v[0] == major && v[1] >= minor)
}
