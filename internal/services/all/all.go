// Package all links every honeypot service into the binary. Adding a service is
// one blank import here (and its package under internal/services).
package all

import (
	_ "decnet/internal/services/conpot"
	_ "decnet/internal/services/dns"
	_ "decnet/internal/services/docker_api"
	_ "decnet/internal/services/elasticsearch"
	_ "decnet/internal/services/ftp"
	_ "decnet/internal/services/http"
	_ "decnet/internal/services/https"
	_ "decnet/internal/services/imap"
	_ "decnet/internal/services/k8s"
	_ "decnet/internal/services/ldap"
	_ "decnet/internal/services/llmnr"
	_ "decnet/internal/services/mongodb"
	_ "decnet/internal/services/mqtt"
	_ "decnet/internal/services/mssql"
	_ "decnet/internal/services/mysql"
	_ "decnet/internal/services/pop3"
	_ "decnet/internal/services/postgres"
	_ "decnet/internal/services/rdp"
	_ "decnet/internal/services/redis"
	_ "decnet/internal/services/sip"
	_ "decnet/internal/services/smb"
	_ "decnet/internal/services/smtp"
	_ "decnet/internal/services/snmp"
	_ "decnet/internal/services/ssh"
	_ "decnet/internal/services/telnet"
	_ "decnet/internal/services/tftp"
	_ "decnet/internal/services/vnc"
)
