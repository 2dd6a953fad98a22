#!/usr/bin/env bash
# Benchmark: the API server with N synthetic events (default 1,000,000) in SQLite.
# Log search (several query shapes) and the attackers list at 50 and 500 concurrent
# clients, p50/p99 next to the same queries run directly against the store (ratio);
# the varied searches again as an open-loop load (R requests/s from the 500 clients);
# then SSE fan-out to 500 clients with the delay from ingest to delivery.
# The closed-loop HTTP load comes from wrk (apt-get install wrk), a separate process,
# unless -load go.
# Then the closed loop again while storing -live events/s (100; a commit every 200 ms).
# Usage: bench/api.sh [-n N] [-c 50,500] [-d 4s] [-rates 250,500,1000] [-live 100] [-sse 500] [-only REGEXP]
#                     [-load wrk|go] [-cpuprofile FILE] [-dir DIR (reuse a filled database)]
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench/api "$@"
