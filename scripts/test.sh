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
# The dashboard: its npm dependencies, unit tests and a fresh build, which must equal
# the bundle committed in internal/webui/dist (that is what the binary embeds).
(cd web && npm ci --no-audit --no-fund && npm test && npm run build)
if [ -n "$(git status --porcelain -- internal/webui 2>/dev/null)" ]; then
  echo "test.sh: internal/webui/dist differs from a fresh build of web/: run 'npm ci && npm run build' in web/ and commit it" >&2
  git status --porcelain -- internal/webui >&2
  exit 1
fi
go vet ./...
go test -count=1 -timeout 45m ./... "$@"
