// Package ftp is DECNET's FTP honeypot (21/tcp): a vsftpd or ProFTPD look-alike with
// that server's banner, reply texts and LIST format. It records every login attempt,
// lets anonymous users (and the persona's weak credentials) into a read-only bait tree,
// serves listings and downloads over passive data connections, and captures every
// uploaded file with Runtime.SaveArtifact. Nothing an attacker sends is executed, no
// attacker-chosen path reaches the filesystem and the server never connects out.
package ftp

import (
	"fmt"

	"decnet/internal/catalog"
	"decnet/internal/fleet"
	"decnet/internal/service"
)

func init() {
	service.Register(service.Spec{
		Name:    "ftp",
		Summary: "vsftpd / ProFTPD: logins, anonymous bait tree, uploads captured",
		Ports:   []fleet.Port{{Number: 21, Proto: "tcp"}},
		Keys:    Keys,
		Run:     run,
	})
}

// Persona keys.
const (
	KeyServer    = "server"
	KeyVersion   = "version"
	KeyAnonymous = "anonymous"
	KeyUsers     = "users"
	KeyMaxTries  = "max_tries"
)

// Servers this service imitates.
const (
	ServerVsftpd  = "vsftpd"
	ServerProftpd = "proftpd"
)

// DefaultUsers are the accounts (besides anonymous) whose login succeeds.
const DefaultUsers = "admin:admin,ftpuser:ftpuser"

// Keys are the ftp service's persona keys.
var Keys = []service.Key{
	{Name: KeyServer, Kind: service.String, Help: "FTP server to imitate: vsftpd or proftpd (default: vsftpd on Linux distros, proftpd elsewhere)", Check: checkServer},
	{Name: KeyVersion, Kind: service.String, Help: "server version shown in the banner (default: the version the distro ships)", Check: checkVersion},
	{Name: KeyAnonymous, Kind: service.Bool, Default: "true", Help: "allow anonymous (ftp/anonymous) logins"},
	{Name: KeyUsers, Kind: service.List, Default: DefaultUsers, Help: "user:password pairs whose login succeeds", Check: service.CheckUsers},
	{Name: KeyMaxTries, Kind: service.Int, Default: "3", Help: "failed logins before the connection is closed (vsftpd max_login_fails, ProFTPD MaxLoginAttempts), 1-100", Check: service.IntRange(1, 100)},
}

func checkServer(v string) error {
	switch v {
	case "", ServerVsftpd, ServerProftpd:
		return nil
	}
	return fmt.Errorf("%q is not a supported FTP server (use vsftpd or proftpd)", v)
}

func checkVersion(v string) error {
	if len(v) > 32 {
		return fmt.Errorf("%q is longer than 32 bytes", v)
	}
	for _, c := range []byte(v) {
		if c <= 0x20 || c > 0x7e {
			return fmt.Errorf("%q holds a space or a byte that is not printable ASCII", v)
		}
	}
	return nil
}

// defaultServer picks the server a distro would run.
func defaultServer(d catalog.Distro) string {
	if d.OSFamily == catalog.FamilyLinux {
		return ServerVsftpd
	}
	return ServerProftpd
}

// defaultVersion is the version of server the distro ships.
func defaultVersion(server string, d catalog.Distro) string {
	if server == ServerProftpd {
		switch d.Slug {
		case "debian":
			return "1.3.8"
		case "ubuntu22":
			return "1.3.7c"
		case "ubuntu20":
			return "1.3.6c"
		case "centos7":
			return "1.3.5e"
		}
		return "1.3.8b"
	}
	switch d.Slug {
	case "debian", "ubuntu20", "kali":
		return "3.0.3"
	case "centos7":
		return "3.0.2"
	}
	return "3.0.5"
}
