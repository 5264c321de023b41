#!/usr/bin/env bash
# The test command (npm test): type-checks, builds dist/ (the CLI and multi-process tests run it),
# then runs every Jest suite against the real Postgres (TEST_DATABASE_URL, default the local server).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >&2
npx tsc -p tsconfig.json --noEmit
NODE_OPTIONS="--experimental-vm-modules --no-warnings=ExperimentalWarning ${NODE_OPTIONS:-}" npx jest "$@"
