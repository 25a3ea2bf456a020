#!/usr/bin/env bash
# The whole test suite: type checks, a deploy dry run of every Worker, the Workers'
# tests inside workerd, and the end-to-end suite against the platform as `npm run dev` serves it.
#
# The end-to-end suite mostly waits on HTTP (its platform, Chromium), and on two cores vitest runs
# one file at a time, so it runs in a vitest process of its own, started first, while everything
# else runs beside it; its output is printed when it ends. With arguments (`npm test -- <file or
# vitest flags>`) the tests run in one vitest process, as given.
source "$(dirname "$0")/lib.sh"
ensure_deps
# Every Worker under workers/ (scripts/lib/workers.mjs), so a new service is tested without edits.
read_workers WORKERS dirs

mkdir -p .test-results
rm -f .test-results/*.json .test-results/e2e.log
REPORT=(--reporter=default --reporter=json)
E2E_PID=""
# Whatever ends this script (a failed check, Ctrl-C) also ends the end-to-end run and its platform.
stop_e2e() {
  if [ -n "$E2E_PID" ] && kill -0 "$E2E_PID" 2>/dev/null; then
    kill -INT -- "-$E2E_PID" 2>/dev/null || true
    wait "$E2E_PID" 2>/dev/null || true
  fi
}
trap stop_e2e EXIT

# The e2e suite drives Debian's Chromium to check /docs offline; installs it only when missing.
bash e2e/ensure-chromium.sh
if [ $# -eq 0 ]; then
  echo "== end-to-end tests: started in the background (output below, after the Workers' tests)"
  # The install above is done (the platform's own `npm run dev` would repeat it); the platform starts
  # while the checks below take the other core, so it gets longer than alone to answer.
  SKIP_INSTALL=1 BUILDLY_E2E_READY_TIMEOUT_MS="${BUILDLY_E2E_READY_TIMEOUT_MS:-600000}" \
    setsid vitest run --project e2e "${REPORT[@]}" --outputFile.json=.test-results/e2e.json >.test-results/e2e.log 2>&1 &
  E2E_PID=$!
fi

echo "== format and lint (Biome; \`npm run format\` fixes what it can)"
biome ci . --reporter=summary || { echo "biome found problems: run npm run format, then fix what remains"; exit 1; }

echo "== generated migrations (the services' event triggers)"
node scripts/event-triggers.mjs --check

echo "== generated SDK types (packages/sdk; \`npm run sdk\` regenerates them from the Workers' code)"
node scripts/sdk.mjs --check
node packages/sdk/scripts/size.mjs

echo "== type check"
for w in "${WORKERS[@]}"; do tsc -p "workers/$w"; done
tsc -p packages/shared
tsc -p packages/sdk
tsc -p e2e
tsc -p examples

echo "== npm run deploy -- --dry-run (bundles land in workers/*/dist, which the gateway tests run)"
SKIP_INSTALL=1 bash scripts/deploy.sh --dry-run

echo "== npm run new-service, in a throwaway copy (its tests, deploy dry run, served through the gateway)"
SKIP_INSTALL=1 bash scripts/test-new-service.sh

status=0
if [ $# -eq 0 ]; then
  echo "== the Workers' tests inside workerd"
  vitest run --project '!e2e' "${REPORT[@]}" --outputFile.json=.test-results/workers.json || status=$?
  echo "== end-to-end tests (ran beside the above)"
  e2e_status=0
  wait "$E2E_PID" || e2e_status=$?
  E2E_PID=""
  cat .test-results/e2e.log
  [ "$e2e_status" = 0 ] || status=$e2e_status
else
  echo "== tests"
  vitest run "${REPORT[@]}" --outputFile.json=.test-results/vitest.json "$@" || status=$?
fi
# One plain closing line for CI: "N passed, N failed", over every report written above.
node -e '
  const fs = require("fs");
  const files = fs.readdirSync(".test-results").filter((f) => f.endsWith(".json"));
  const sum = { passed: 0, failed: 0, skipped: 0 };
  for (const f of files) {
    const r = JSON.parse(fs.readFileSync(".test-results/" + f, "utf8"));
    sum.passed += r.numPassedTests;
    sum.failed += r.numFailedTests;
    sum.skipped += r.numPendingTests + r.numTodoTests;
  }
  if (!files.length) console.log("no test report was written");
  else console.log(`${sum.passed} passed, ${sum.failed} failed` + (sum.skipped ? `, ${sum.skipped} skipped` : ""));
' || true
exit $status
