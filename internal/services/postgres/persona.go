package postgres

import (
	"strconv"
	"strings"

	"decnet/internal/catalog"
)

// profile is what the persona's PostgreSQL version changes on the wire before
// authentication ends: which file and line its errors name (nmap tells versions
// apart by the line of the "unsupported frontend protocol" error), whether errors
// carry the unlocalized severity (V, from 9.6), the protocol range it names, and
// whether it speaks SCRAM (from 10).
type profile struct {
	version     string
	major       int
	startupLine int32 // ProcessStartupPacket: unsupported frontend protocol
	noUserLine  int32 // ProcessStartupPacket: no PostgreSQL user name specified
	authLine    int32 // auth.c auth_failed
	earliest    string
}

// profiles are the versions the distros ship. 15.18 was measured against the real
// server (Debian 15.18-0+deb12u1); the startup lines of the others are those
// nmap's database lists for them; their other lines follow the same source
// offsets and are close to, not measured from, the real ones.
var profiles = []profile{
	{version: "9.2.24", major: 9, startupLine: 1755, noUserLine: 1857, authLine: 285, earliest: "1.0"},
	{version: "12.12", major: 12, startupLine: 2119, noUserLine: 2241, authLine: 331, earliest: "1.0"},
	{version: "13.7", major: 13, startupLine: 2133, noUserLine: 2255, authLine: 331, earliest: "1.0"},
	{version: "14.5", major: 14, startupLine: 2138, noUserLine: 2267, authLine: 334, earliest: "3.0"},
	{version: "15.18", major: 15, startupLine: 2222, noUserLine: 2351, authLine: 334, earliest: "3.0"},
}

// distroVersions are the PostgreSQL versions each distro's packages report.
var distroVersions = map[string]string{
	"debian":   "15.18",
	"ubuntu22": "14.5",
	"ubuntu20": "12.12",
	"rocky9":   "13.7",
	"centos7":  "9.2.24",
	"fedora":   "15.18",
	"alpine":   "15.18",
	"kali":     "15.18",
	"arch":     "15.18",
}

const fallbackVersion = "15.18"

// profileFor picks the profile of version: the same version, else the newest of
// the same major, else the newest known.
func profileFor(version string) profile {
	major, _, _ := parseVersion(version)
	best := profiles[len(profiles)-1]
	for _, p := range profiles {
		if p.version == version {
			return p
		}
		if p.major == major {
			best = p
		}
	}
	best.version = version
	if major >= 14 {
		best.earliest = "3.0"
	} else {
		best.earliest = "1.0"
	}
	best.major = major
	return best
}

func (p profile) hasV() bool     { return p.major >= 10 || strings.HasPrefix(p.version, "9.6") }
func (p profile) hasSCRAM() bool { return p.major >= 10 }
func (p profile) defaultAuth() string {
	if p.major >= 14 {
		return AuthSCRAM
	}
	return AuthMD5
}

func defaultVersion(d catalog.Distro) string {
	if v, ok := distroVersions[d.Slug]; ok {
		return v
	}
	return fallbackVersion
}

// parseVersion reads "X.Y" or "X.Y.Z" (9.x had three parts).
func parseVersion(v string) (major, minor int, ok bool) {
	parts := strings.Split(v, ".")
	if len(parts) < 2 || len(parts) > 3 {
		return 0, 0, false
	}
	nums := make([]int, len(parts))
	for i, p := range parts {
		n, err := strconv.Atoi(p)
		if err != nil || n < 0 || n > 999 || p == "" || p[0] == '+' {
			return 0, 0, false
		}
		nums[i] = n
	}
	if nums[0] < 7 || (nums[0] >= 10 && len(parts) != 2) {
		return 0, 0, false
	}
	return nums[0], nums[1], true
}
