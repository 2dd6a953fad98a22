#!/usr/bin/env bash
# Benchmark: fingerprints extracted from a large capture per second by `decnet sniff --read`
# versus tshark computing the same fields (tls.handshake.ja3, tls.handshake.ja3s,
# ssh.kex.hassh, ssh.kex.hasshserver) on the same file. Prints both rates, the ratio,
# and checks the two outputs are identical (as sorted multisets of "kind hash").
# The capture is built by internal/sniffer/pcapgen: FLOWS copies (default 100000) of the
# TCP connections in the seed captures (default: the TLS and SSH captures of
# ../shared/testdata/ja4, real browser/curl/OpenSSH traffic), each with its own addresses.
# Usage: bench/sniff.sh [FLOWS] [seed.pcap ...]     (needs tshark and /usr/bin/python3)
set -euo pipefail
cd "$(dirname "$0")/.."
flows=${1:-100000}
shift || true
seeds=("$@")
if [ ${#seeds[@]} -eq 0 ]; then
	p=../shared/testdata/ja4/pcap
	[ -d "$p" ] || { echo "bench/sniff.sh: no seed captures given and $p is missing" >&2; exit 3; }
	seeds=("$p"/tls-handshake.pcapng "$p"/tls12.pcap "$p"/tls3.pcapng "$p"/tls-sni.pcapng "$p"/latest.pcapng
		"$p"/browsers-x509.pcapng "$p"/tls-alpn-h2.pcap "$p"/ssh.pcapng "$p"/ssh2.pcapng)
fi
command -v tshark >/dev/null || { echo "bench/sniff.sh: tshark is not installed" >&2; exit 3; }
work=$(mktemp -d /tmp/dnt-bench-sniff.XXXXXX)
trap 'rm -rf "$work"' EXIT

CGO_ENABLED=0 go build -o "$work/decnet" ./cmd/decnet
go build -o "$work/pcapgen" ./internal/sniffer/pcapgen
"$work/pcapgen" -o "$work/big.pcap" -flows "$flows" "${seeds[@]}"
ls -l "$work/big.pcap" | awk '{printf "capture: %.1f MB\n", $5/1e6}'

# Wall-clock and CPU (user+sys) seconds of each run: on a shared machine the CPU time is
# the fairer measure, so both are printed.
TIMEFORMAT='%R %U %S'
{ time "$work/decnet" sniff --state-dir "$work" --read "$work/big.pcap" --json >"$work/ours.jsonl" 2>"$work/ours.err"; } 2>"$work/ours.time"
{ time tshark -r "$work/big.pcap" -n -Y 'tls.handshake.type==1 || tls.handshake.type==2 || ssh.kex.hassh || ssh.kex.hasshserver' \
	-T fields -E separator=/t -E occurrence=a -E aggregator=, \
	-e tls.handshake.ja3 -e tls.handshake.ja3s -e ssh.kex.hassh -e ssh.kex.hasshserver >"$work/tshark.tsv" 2>"$work/tshark.err"; } 2>"$work/tshark.time"

/usr/bin/python3 - "$work/ours.jsonl" >"$work/ours.txt" <<'PY'
import json, sys
names = {"tls_client": ("ja3", "ja3"), "tls_server": ("ja3s", "ja3s"), "ssh_client": ("hassh", "hassh"), "ssh_server": ("hasshserver", "hassh_server")}
for line in open(sys.argv[1]):
    f = json.loads(line)["fields"]
    k = names.get(f.get("fp_kind"))
    if k and f.get(k[1]):
        print(k[0], f[k[1]])
PY
awk -F'\t' '{ n=split("ja3 ja3s hassh hasshserver", kind, " ");
	for (i = 1; i <= 4; i++) if ($i != "") { m = split($i, v, ","); for (j = 1; j <= m; j++) print kind[i], v[j] } }' \
	"$work/tshark.tsv" >"$work/tshark.txt"
sort -o "$work/ours.txt" "$work/ours.txt"
sort -o "$work/tshark.txt" "$work/tshark.txt"

n_ours=$(wc -l <"$work/ours.txt")
n_tshark=$(wc -l <"$work/tshark.txt")
/usr/bin/python3 - "$(cat "$work/ours.time")" "$(cat "$work/tshark.time")" "$n_ours" "$n_tshark" <<'PY'
import sys
o, t = [list(map(float, a.split())) for a in sys.argv[1:3]]
n_ours, n_tshark = int(sys.argv[3]), int(sys.argv[4])
ow, oc, tw, tc = o[0], o[1] + o[2], t[0], t[1] + t[2]
print(f"decnet sniff --read: {n_ours} fingerprints, wall {ow:.2f}s = {n_ours/ow:,.0f}/s, cpu {oc:.2f}s = {n_ours/oc:,.0f}/s")
print(f"tshark -T fields:    {n_tshark} fingerprints, wall {tw:.2f}s = {n_tshark/tw:,.0f}/s, cpu {tc:.2f}s = {n_tshark/tc:,.0f}/s")
print(f"ratio (decnet/tshark throughput): wall {tw/ow:.1f}x, cpu {tc/oc:.1f}x")
PY
grep -h "sniffer:" "$work/ours.err" || true
if cmp -s "$work/ours.txt" "$work/tshark.txt"; then
	echo "outputs identical: $n_ours fingerprints ($(cut -d' ' -f1 "$work/ours.txt" | uniq -c | tr -s ' ' | tr '\n' ' '))"
else
	echo "OUTPUTS DIFFER:" >&2
	diff "$work/ours.txt" "$work/tshark.txt" | head -20 >&2
	exit 1
fi
