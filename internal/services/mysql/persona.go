package mysql

import (
	"strconv"
	"strings"

	"decnet/internal/catalog"
)

// Authentication plugin names.
const (
	pluginNative      = "mysql_native_password"
	pluginCachingSHA2 = "caching_sha2_password"
)

// mariaDBPrefix is what MariaDB 10.x puts before its version in the handshake, so
// that old replication code which compares versions sees a 5.5 server.
const mariaDBPrefix = "5.5.5-"

// distroVersions are the versions each distro's packaged database reports.
var distroVersions = map[string]string{
	"ubuntu22":    "8.0.37-0ubuntu0.22.04.3",
	"ubuntu20":    "8.0.37-0ubuntu0.20.04.3",
	"debian":      "10.11.6-MariaDB-0+deb12u1",
	"kali":        "10.11.8-MariaDB-1",
	"rocky9":      "10.5.22-MariaDB",
	"centos7":     "5.5.68-MariaDB",
	"fedora":      "10.5.23-MariaDB",
	"alpine":      "10.11.6-MariaDB",
	"arch":        "10.11.8-MariaDB",
	"freebsd":     "8.0.37",
	"windows10":   "8.0.37",
	"windows11":   "8.0.37",
	"windows2019": "8.0.37",
	"windows2022": "8.0.37",
}

const fallbackVersion = "8.0.37"

// persona is what the handshake says about the server.
type persona struct {
	version     string // as configured, e.g. "10.11.6-MariaDB-0+deb12u1"
	wireVersion string // as sent, e.g. "5.5.5-10.11.6-MariaDB-0+deb12u1"
	mariaDB     bool
	caps        uint32 // server capability flags
	mariaCaps   uint32 // MariaDB extended capabilities (in the reserved bytes)
	charset     byte
	plugin      string // default auth plugin announced in the greeting
}

// Capability flags (include/mysql_com.h).
const (
	capLongPassword      = 1 << 0
	capConnectWithDB     = 1 << 3
	capProtocol41        = 1 << 9
	capSSL               = 1 << 11
	capSecureConnection  = 1 << 15
	capPluginAuth        = 1 << 19
	capConnectAttrs      = 1 << 20
	capPluginAuthLenenc  = 1 << 21
	capZstdCompression   = 1 << 26
	capProtocol41Minimum = capProtocol41 | capSecureConnection
)

// newPersona derives the handshake facts from the version string. The capability
// words are those real servers send with TLS not configured (CLIENT_SSL clear):
// MySQL 8.0 0xdfff_f7ff, MySQL 5.7 0x81ff_f7ff, MariaDB 10.x 0x81ff_f7fe (the
// CLIENT_MYSQL bit cleared marks MariaDB) with extended capabilities 0x1d (10.6+)
// or 0x0f, MariaDB 5.5 0xa03f_f7ff.
func newPersona(version, plugin string) persona {
	p := persona{version: version, wireVersion: version}
	major, minor, _ := parseMajorMinor(strings.TrimPrefix(version, mariaDBPrefix))
	p.mariaDB = strings.Contains(version, "MariaDB")
	switch {
	case p.mariaDB && major >= 10:
		if !strings.HasPrefix(version, mariaDBPrefix) && major < 11 {
			p.wireVersion = mariaDBPrefix + version
		}
		p.caps = 0x81fff7fe
		p.mariaCaps = 0x0f
		if major > 10 || minor >= 6 {
			p.mariaCaps = 0x1d
		}
		p.charset = 45 // utf8mb4_general_ci
	case p.mariaDB:
		p.caps = 0xa03ff7ff
		p.charset = 8 // latin1_swedish_ci
	case major >= 8:
		p.caps = 0xdffff7ff
		p.charset = 255 // utf8mb4_0900_ai_ci
	default:
		p.caps = 0x81fff7ff
		p.charset = 8
	}
	p.plugin = plugin
	if p.plugin == "" {
		p.plugin = pluginNative
		if !p.mariaDB && major >= 8 {
			p.plugin = pluginCachingSHA2
		}
	}
	return p
}

// defaultVersion is the version a distro's packaged database reports.
func defaultVersion(d catalog.Distro) string {
	if v, ok := distroVersions[d.Slug]; ok {
		return v
	}
	return fallbackVersion
}

// parseMajorMinor reads the leading "X.Y" of a version.
func parseMajorMinor(v string) (major, minor int, ok bool) {
	a, rest, found := strings.Cut(v, ".")
	if !found {
		return 0, 0, false
	}
	b := rest
	if i := strings.IndexFunc(rest, func(r rune) bool { return r < '0' || r > '9' }); i >= 0 {
		b = rest[:i]
	}
	var err1, err2 error
	major, err1 = strconv.Atoi(a)
	minor, err2 = strconv.Atoi(b)
	return major, minor, err1 == nil && err2 == nil && major >= 3
}
