#!/usr/bin/env bash
# DECNET on its embedded defaults, on a fresh machine: installs prerequisites, builds the static
# binary, brings up the isolated lab LAN, deploys three deckies (ssh + http) onto it and starts the
# whole pipeline (`decnet run`: collector, sniffer, SQLite, analysis, API and dashboard) in the
# background. Afterwards:
#   ./decnet status;  ./decnet lab exec -- nmap -sV -p22,80 <decky IP>
#   ./decnet logs -f;  ./decnet attackers;  the dashboard on http://127.0.0.1:8080
#   kill "$(cat decnet-run.pid)"; ./decnet teardown --all && ./decnet lab down
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prereqs.sh
CGO_ENABLED=0 go build -o decnet ./cmd/decnet
./decnet lab up
gw=$(./decnet lab status --json | sed -n 's/.*"gateway": "\(.*\)".*/\1/p')
./decnet deploy --interface decnet-lan0 --gateway "$gw" --deckies 3 --services ssh,http
./decnet status
if [ -f decnet-run.pid ] && kill -0 "$(cat decnet-run.pid)" 2>/dev/null; then
  echo "try.sh: decnet run is already running (pid $(cat decnet-run.pid)); its output is in decnet-run.log"
  exit 0
fi
( umask 077; : > decnet-run.log )
nohup ./decnet run >>decnet-run.log 2>&1 &
echo $! > decnet-run.pid
for _ in $(seq 1 60); do
  curl -fsS http://127.0.0.1:8080/api/health >/dev/null 2>&1 && break
  kill -0 "$(cat decnet-run.pid)" 2>/dev/null || { echo "try.sh: decnet run stopped:" >&2; tail -n 30 decnet-run.log >&2; exit 1; }
  sleep 1
done
echo
echo "decnet run is up (pid $(cat decnet-run.pid), log decnet-run.log): dashboard http://127.0.0.1:8080"
grep 'created user' decnet-run.log || echo "(the admin account already existed: use its password)"
