#!/usr/bin/env bash
# Installs and starts what DECNET and its full test suite need on a fresh Debian machine:
# Docker (engine + Debian's docker-compose), network tools, and the real attacker/client tools
# the integration tests drive. Idempotent; needs root.
set -euo pipefail

if [ "$(id -u)" -ne 0 ]; then
  echo "prereqs.sh: run as root (apt-get and dockerd need it)" >&2
  exit 3
fi

pkgs=(docker.io docker-compose iproute2 util-linux iputils-ping iputils-arping tcpdump
      nmap hydra sshpass openssh-client curl)
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
echo "prereqs: ok ($(docker version --format 'Docker Engine {{.Server.Version}}, API {{.Server.APIVersion}}'))"
