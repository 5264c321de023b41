#!/usr/bin/env bash
# The test command (npm test): type-checks, builds dist/ (the CLI and multi-process tests run it),
# lints, then runs every Jest suite against the real Postgres (TEST_DATABASE_URL, default the local server).
set -euo pipefail
cd "$(dirname "$0")/.."
npm run build >&2
npx tsc -p tsconfig.json --noEmit
# The typed client (clients/typescript) and the example host app, each under its own tsconfig: the tests run the
# client from its sources, and the host app's browser test builds it.
npx tsc -p clients/typescript/tsconfig.json --noEmit
npx tsc -p examples/host-app/tsconfig.json
# The lint (the layering's import boundaries included) and the formatting: a violation fails the run,
# but the suites still run, so the closing line below stays the last one.
lint_status=0
npm run --silent lint >&2 || lint_status=$?
npm run --silent format:check >&2 || lint_status=$?
results="$(mktemp)"
status=0
NODE_OPTIONS="--experimental-vm-modules --no-warnings=ExperimentalWarning ${NODE_OPTIONS:-}" \
  npx jest --json --outputFile="$results" "$@" || status=$?
[ "$lint_status" -eq 0 ] || echo "the lint or the format check failed: see above (npm run lint, npm run format:check)" >&2
# One plain closing line, whatever the runner: "N passed, N failed".
node -e '
  const r = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"));
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (r.numPendingTests ? `, ${r.numPendingTests} skipped` : ""));
' "$results" || true
rm -f "$results"
if [ "$status" -eq 0 ] && [ "$lint_status" -ne 0 ]; then status=$lint_status; fi
exit "$status"
