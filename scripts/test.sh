#!/usr/bin/env bash
# The full DECNET test suite: installs and starts its prerequisites, then runs every test
# for real (root, Docker, the lab LAN, real clients and attacker tools). A missing
# prerequisite is a failure here, not a skip (DECNET_FULL_SUITE=1).
set -euo pipefail
cd "$(dirname "$0")/.."
bash scripts/prereqs.sh
export DECNET_FULL_SUITE=1 CGO_ENABLED=0
# The MariaDB that prereqs.sh started, for the store's test suite.
export DECNET_TEST_MYSQL_DSN='decnet:decnet-test@tcp(127.0.0.1:3306)/decnet_test'
go vet ./...
go test -count=1 -timeout 45m ./... "$@"
