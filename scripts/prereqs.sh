#!/usr/bin/env bash
# Installs and starts what DECNET and its full test suite need on a fresh Debian machine:
# Docker (engine + Debian's docker-compose), network tools, and the real attacker/client tools
# the integration tests drive. Idempotent; needs root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "prereqs.sh: run as root (apt-get and dockerd need it)" >&2
  exit 3
fi

pkgs=(docker.io docker-compose iproute2 util-linux iputils-ping iputils-arping tcpdump openssl
      nmap hydra sshpass openssh-client curl telnet lftp swaks default-mysql-client postgresql-client
      redis-tools smbclient hashcat pocl-opencl-icd tshark
      mariadb-server rsyslog rsyslog-gnutls
      freerdp2-x11 xvfb xauth ldap-utils snmp mosquitto-clients sipsak sip-tester tftp-hpa dnsutils
      masscan python3-paramiko chromium chromium-headless-shell python3-ldap3 freetds-bin wrk)
missing=()
for p in "${pkgs[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "prereqs: installing ${missing[*]}"
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq
  apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi

if ! docker info >/dev/null 2>&1; then
  echo "prereqs: starting dockerd"
  nohup dockerd >/var/log/decnet-dockerd.log 2>&1 &
  for _ in $(seq 1 60); do
    docker info >/dev/null 2>&1 && break
    sleep 1
  done
  if ! docker info >/dev/null 2>&1; then
    echo "prereqs: dockerd did not come up; its log:" >&2
    tail -n 50 /var/log/decnet-dockerd.log >&2
    exit 3
  fi
fi
# MariaDB for the store's test suite (the same suite runs on SQLite and MariaDB).
if ! mysqladmin ping >/dev/null 2>&1; then
  echo "prereqs: starting mariadb"
  mkdir -p /run/mysqld && chown mysql:mysql /run/mysqld
  nohup mysqld_safe >/var/log/decnet-mariadb.log 2>&1 &
  for _ in $(seq 1 60); do
    mysqladmin ping >/dev/null 2>&1 && break
    sleep 1
  done
  mysqladmin ping >/dev/null 2>&1 || { echo "prereqs: mariadb did not come up" >&2; tail -n 30 /var/log/decnet-mariadb.log >&2; exit 3; }
fi
mysql -uroot <<'SQL'
CREATE DATABASE IF NOT EXISTS decnet_test;
CREATE USER IF NOT EXISTS 'decnet'@'127.0.0.1' IDENTIFIED BY 'decnet-test';
CREATE USER IF NOT EXISTS 'decnet'@'localhost' IDENTIFIED BY 'decnet-test';
GRANT ALL PRIVILEGES ON decnet_test.* TO 'decnet'@'127.0.0.1';
GRANT ALL PRIVILEGES ON decnet_test.* TO 'decnet'@'localhost';
FLUSH PRIVILEGES;
SQL

echo "prereqs: ok ($(docker version --format 'Docker Engine {{.Server.Version}}, API {{.Server.APIVersion}}'))"
