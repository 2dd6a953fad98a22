// Package mysql is a MySQL / MariaDB server honeypot on 3306/tcp. It sends the
// persona's handshake (version, capabilities, charset, auth plugin), switches
// clients to mysql_native_password when needed, captures every login attempt as a
// hashcat mode 11200 hash ($mysqlna$salt*response) and answers with the real
// server's "Access denied" error packet.
package mysql

import (
	"fmt"
	"strings"

	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "mysql",
		Summary: "MySQL / MariaDB server: logins captured as crackable mysql_native_password hashes",
		Ports:   []fleet.Port{{Number: Port, Proto: "tcp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Port is the MySQL port.
const Port = 3306

// Persona keys.
const (
	KeyVersion    = "version"
	KeyAuthPlugin = "auth_plugin"
)

// Keys are the mysql service's persona keys.
var Keys = []service.Key{
	{Name: KeyVersion, Kind: service.String, Help: `server version as the server reports it, e.g. "8.0.37-0ubuntu0.22.04.3" or "10.11.6-MariaDB-0+deb12u1" (default: the database the distro ships)`, Check: checkVersion},
	{Name: KeyAuthPlugin, Kind: service.String, Help: "default authentication plugin announced in the handshake: mysql_native_password or caching_sha2_password (default: caching_sha2_password on MySQL 8, else mysql_native_password)", Check: checkPlugin},
}

func checkVersion(v string) error {
	if v == "" {
		return fmt.Errorf("must not be empty")
	}
	if len(v) > 60 {
		return fmt.Errorf("is %d bytes long; keep it under 60", len(v))
	}
	for _, c := range []byte(v) {
		if c <= 0x20 || c > 0x7e {
			return fmt.Errorf("%q holds a space or a byte that is not printable ASCII", v)
		}
	}
	if _, _, ok := parseMajorMinor(strings.TrimPrefix(v, mariaDBPrefix)); !ok {
		return fmt.Errorf("%q does not start with a version number like 8.0.37", v)
	}
	return nil
}

func checkPlugin(v string) error {
	switch v {
	case pluginNative, pluginCachingSHA2:
		return nil
	}
	return fmt.Errorf("%q is not a supported plugin (use %s or %s)", v, pluginNative, pluginCachingSHA2)
}
