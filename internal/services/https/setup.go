// Package https is DECNET's HTTPS honeypot (port 443): the http service's web
// server persona (nginx, Apache or IIS, its pages, fake apps and credential capture)
// served over TLS with a per-decky certificate in the style of the decky's
// operating system, plus the client's TLS fingerprints (JA3, JA4) taken from its
// ClientHello before the handshake and attached to every event of the connection.
package https

import (
	"crypto/tls"
	"fmt"
	"slices"
	"strings"

	"decnet/internal/fleet"
	"decnet/internal/service"
	"decnet/internal/services/http"
)

func init() {
	service.Register(service.Spec{
		Name:    "https",
		Summary: "web server over TLS (nginx, Apache or IIS persona) with per-decky certificate and JA3/JA4 client fingerprints",
		Ports:   []fleet.Port{{Number: 443, Proto: "tcp"}},
		Keys:    Keys,
		Secrets: Secrets,
		Run:     run,
	})
}

// Persona keys of their own; the http service's keys apply too.
const (
	KeyMinVersion = "min_version"
	KeyMaxVersion = "max_version"
)

// Keys are the https service's persona keys: http.Keys plus the TLS versions.
var Keys = append(slices.Clone(http.Keys),
	service.Key{Name: KeyMinVersion, Kind: service.String, Help: "lowest TLS version accepted: 1.0, 1.1, 1.2 or 1.3 (default: 1.2; 1.0 for IIS, as Windows enables it)", Check: checkVersion},
	service.Key{Name: KeyMaxVersion, Kind: service.String, Help: "highest TLS version offered: 1.2 or 1.3 (default: 1.3; 1.2 for IIS on Windows 10 and Server 2019, which have no TLS 1.3)", Check: checkVersion},
)

var versions = map[string]uint16{"1.0": tls.VersionTLS10, "1.1": tls.VersionTLS11, "1.2": tls.VersionTLS12, "1.3": tls.VersionTLS13}

func checkVersion(v string) error {
	if _, ok := versions[v]; !ok {
		return fmt.Errorf("%q is not a TLS version (use 1.0, 1.1, 1.2 or 1.3)", v)
	}
	return nil
}

// tlsVersions picks the persona's accepted TLS versions: explicit keys win; IIS
// accepts TLS 1.0 to 1.2 on Windows 10 and Server 2019 (1.3 from Windows 11 and
// Server 2022); nginx and Apache on a current OpenSSL accept 1.2 and 1.3.
func tlsVersions(minKey, maxKey string, iis bool, distro string) (uint16, uint16, error) {
	lo, hi := uint16(tls.VersionTLS12), uint16(tls.VersionTLS13)
	if iis {
		lo = tls.VersionTLS10
		if distro == "windows10" || distro == "windows2019" || !strings.HasPrefix(distro, "windows") {
			hi = tls.VersionTLS12
		}
	}
	if v, ok := versions[minKey]; ok {
		lo = v
	}
	if v, ok := versions[maxKey]; ok {
		hi = v
	}
	if lo > hi {
		return 0, 0, fmt.Errorf("min_version %s is above max_version %s", minKey, maxKey)
	}
	return lo, hi, nil
}
