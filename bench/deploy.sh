#!/usr/bin/env bash
# Benchmark: deploy 10 deckies x 3 services from cold with `decnet deploy`, then the same
# generated compose file with Debian's `docker-compose up -d`, on the lab LAN. Prints both
# times, their ratio, and the summed RSS and PSS of the fleet's containers per decky.
# Needs root; installs nothing (run scripts/prereqs.sh first). Leaves nothing behind.
set -euo pipefail
cd "$(dirname "$0")/.."

[ "$(id -u)" -eq 0 ] || { echo "bench/deploy.sh: run as root" >&2; exit 3; }
work=$(mktemp -d /tmp/decnet-bench.XXXXXX)
state="$work/state"
bin="$work/decnet"
lab=dnb
cleanup() {
  "$bin" teardown --all --state-dir "$state" >/dev/null 2>&1 || true
  docker-compose -p decnet -f "$work/compose.yml" down -v >/dev/null 2>&1 || true
  "$bin" lab down --name "$lab" >/dev/null 2>&1 || true
  rm -rf "$work"
}
trap cleanup EXIT

CGO_ENABLED=0 go build -o "$bin" ./cmd/decnet
"$bin" lab up --name "$lab" --subnet 10.213.60.0/24 >/dev/null
labjson=$("$bin" lab status --name "$lab" --json)
get() { printf '%s' "$labjson" | sed -n "s/.*\"$1\": \"\\([^\"]*\\)\".*/\\1/p"; }
subnet=$(get subnet); gw=$(get gateway); parent=$(get parent)

# The third service of every decky is a bring-your-own-service container: the service
# image itself (tagged by the binary's hash) running `hold`, so the benchmark needs no registry.
tag="decnet/service:$(sha256sum "$bin" | cut -c1-12)"
cat > "$work/fleet.ini" <<INI
[general]
net = $subnet
gw = $gw
interface = $parent

[custom-idle]
image = $tag
exec = hold
ports = 7777

[bench]
amount = 10
distro = debian
services = ssh, http, idle
INI

ms() { date +%s%3N; }

# 1. decnet deploy, cold (service image removed first, so the build is included).
docker images -q 'decnet/service' | xargs -r docker rmi -f >/dev/null 2>&1 || true
t0=$(ms)
"$bin" deploy --config "$work/fleet.ini" --state-dir "$state" --no-arp-probe >/dev/null 2>"$work/deploy.log" ||
  { echo "decnet deploy failed:" >&2; cat "$work/deploy.log" >&2; exit 1; }
t1=$(ms)
decnet_ms=$((t1 - t0))

# Memory of every container's process, summed: RSS (counts the binary's pages, shared by
# every container through the page cache, once per process) and PSS (shares them out).
rss_total=0
pss_total=0
for id in $(docker ps -q --filter label=decnet.project=decnet); do
  pid=$(docker inspect -f '{{.State.Pid}}' "$id")
  rss=$(awk '/^VmRSS:/ {print $2}' "/proc/$pid/status")
  pss=$(awk '/^Pss:/ {print $2}' "/proc/$pid/smaps_rollup")
  rss_total=$((rss_total + rss))
  pss_total=$((pss_total + pss))
done
containers=$(docker ps -q --filter label=decnet.project=decnet | wc -l)

cp "$state/docker-compose.yml" "$work/compose.yml"
cp -a "$state/deckies" "$work/deckies.keep"   # the service configs the compose file mounts
"$bin" teardown --all --state-dir "$state" >/dev/null 2>&1

# 2. docker-compose up -d on the same generated file (image present: the fair baseline
#    is compose doing the same container work). The network is recreated by compose.
cp -a "$work/deckies.keep" "$state/deckies"
t0=$(ms)
docker-compose -p decnet -f "$work/compose.yml" up -d >/dev/null 2>"$work/compose.log" ||
  { echo "docker-compose up failed:" >&2; cat "$work/compose.log" >&2; exit 1; }
t1=$(ms)
compose_ms=$((t1 - t0))
docker-compose -p decnet -f "$work/compose.yml" down -v >/dev/null 2>&1

ratio=$(awk -v a="$decnet_ms" -v b="$compose_ms" 'BEGIN { printf "%.2f", a / b }')
per_decky=$(awk -v r="$rss_total" 'BEGIN { printf "%.1f", r / 10 / 1024 }')
pss_per_decky=$(awk -v r="$pss_total" 'BEGIN { printf "%.1f", r / 10 / 1024 }')
printf 'deckies=10 services/decky=3 (+1 base each) containers=%d\n' "$containers"
printf 'decnet deploy (cold, incl. image build, until every port is open): %d ms\n' "$decnet_ms"
printf 'docker-compose up -d (same file, containers started):             %d ms\n' "$compose_ms"
printf 'ratio decnet/compose: %s\n' "$ratio"
printf 'fleet RSS: %d KiB total, %s MiB per decky\n' "$rss_total" "$per_decky"
printf 'fleet PSS: %d KiB total, %s MiB per decky\n' "$pss_total" "$pss_per_decky"
