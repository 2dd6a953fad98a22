#!/usr/bin/env bash
# DECNET on its embedded defaults, on a fresh machine: installs prerequisites, builds the static
# binary, brings up the isolated lab LAN and deploys three deckies (ssh + http) onto it.
# Afterwards:   ./decnet status
#               ./decnet lab exec -- nmap -sV -p22,80 <decky IP>
#               ./decnet teardown --all && ./decnet lab down
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prereqs.sh
CGO_ENABLED=0 go build -o decnet ./cmd/decnet
./decnet lab up
gw=$(./decnet lab status --json | sed -n 's/.*"gateway": "\(.*\)".*/\1/p')
./decnet deploy --interface decnet-lan0 --gateway "$gw" --deckies 3 --services ssh,http
./decnet status
