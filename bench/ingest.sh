#!/usr/bin/env bash
# Benchmark: ingest N synthetic events (default 1,000,000) from a spool into SQLite with
# the real ingester, next to a bare batched-INSERT loop of the same rows in the same run;
# prints events/s of both and the ratio. The same for MariaDB/MySQL when
# DECNET_TEST_MYSQL_DSN is set (its tables are dropped: use a test database).
# Usage: bench/ingest.sh [-n N] [-batch B]
set -euo pipefail
cd "$(dirname "$0")/.."
exec go run ./bench/ingest "$@"
