#!/usr/bin/env bash
# The test command (npm test): type-checks, builds dist/ (the CLI and multi-process tests run it),
# then runs every Jest suite against the real Postgres (TEST_DATABASE_URL, default the local server).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >&2
npx tsc -p tsconfig.json --noEmit
results="$(mktemp)"
status=0
NODE_OPTIONS="--experimental-vm-modules --no-warnings=ExperimentalWarning ${NODE_OPTIONS:-}" \
  npx jest --json --outputFile="$results" "$@" || status=$?
# One plain closing line, whatever the runner: "N passed, N failed".
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' "$results" || true
rm -f "$results"
exit "$status"
