#!/usr/bin/env bash
# The whole test suite: type checks, a deploy dry run of every Worker, the Workers' tests inside
# workerd, the end-to-end suite against the platform as `npm run dev` serves it, and the check of
# `npm run new-service` in a throwaway copy.
#
# Three lines run side by side, as two cores allow: in the foreground the checks, the deploy dry
# run and the Workers' tests (vitest runs one file at a time on two cores); in the background, from
# the start, the end-to-end suite (which mostly waits on HTTP: its platform, Chromium) and the
# new-service check. The background's output is printed when all have ended. With arguments
# (`npm test -- <file or vitest flags>`) the checks run, then the tests in one vitest process, as given.
source "$(dirname "$0")/lib.sh"
ensure_deps
# Every Worker under workers/ (scripts/lib/workers.mjs), so a new service is tested without edits.
read_workers WORKERS dirs

mkdir -p .test-results
rm -f .test-results/*.json .test-results/*.log .test-results/*.status .test-results/e2e-platform.pgid
REPORT=(--reporter=default --reporter=json)
BG_PIDS=()
PGID_FILE="$ROOT/.test-results/e2e-platform.pgid"
# Whatever ends this script early (a failed check, Ctrl-C) also ends the background lines and the
# platforms they started: the e2e platforms' own process groups (global-setup.ts and
# e2e/second-platform.ts append their ids to PGID_FILE, as a signal may end vitest before its
# teardown runs); the new-service check stops its own on SIGTERM.
stop_background() {
  local pid pgid
  for pid in "${BG_PIDS[@]}"; do
    # TERM, not INT: a shell started in the background ignores SIGINT.
    kill -0 "$pid" 2>/dev/null && kill -TERM -- "-$pid" 2>/dev/null || true
  done
  for pid in "${BG_PIDS[@]}"; do wait "$pid" 2>/dev/null || true; done
  if [ -f "$PGID_FILE" ]; then
    # One line per platform the e2e line started (the shared one, and any a test file starts for itself).
    while read -r pgid; do
      if [ -n "$pgid" ] && kill -0 -- "-$pgid" 2>/dev/null; then
        kill -TERM -- "-$pgid" 2>/dev/null || true
        for _ in $(seq 1 50); do kill -0 -- "-$pgid" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$pgid" 2>/dev/null || true
      fi
    done <"$PGID_FILE"
    rm -f "$PGID_FILE"
  fi
}
trap stop_background EXIT

# The background lines; each writes its log and its exit status under .test-results/.
e2e_line() {
  local rc
  # The install is done (the platform's own `npm run dev` would repeat it); the platform starts
  # while the foreground's checks take the cores, so it gets longer than alone to answer.
  SKIP_INSTALL=1 BUILDLY_E2E_PGID_FILE="$PGID_FILE" BUILDLY_E2E_READY_TIMEOUT_MS="${BUILDLY_E2E_READY_TIMEOUT_MS:-600000}" \
    vitest run --project e2e --reporter=default --reporter=json --outputFile.json=.test-results/e2e.json \
    >.test-results/e2e.log 2>&1 && rc=0 || rc=$?
  echo "$rc" >.test-results/e2e.status
  rm -f "$PGID_FILE"
}
new_service_line() {
  local rc
  SKIP_INSTALL=1 bash scripts/test-new-service.sh >.test-results/new-service.log 2>&1 && rc=0 || rc=$?
  echo "$rc" >.test-results/new-service.status
}
# Runs a line in its own process group (setsid), so one signal reaches it and all it started.
start_line() {
  export -f "$1"
  setsid bash -c "trap 'exit 143' TERM; $1" &
  BG_PIDS+=("$!")
}

# The console's files, built once before anything serves them (dev.sh and deploy.sh then find them
# up to date instead of building the same folder at the same time).
build_console
# The e2e suite drives Debian's Chromium to check /docs offline; installs it only when missing.
bash e2e/ensure-chromium.sh
if [ $# -eq 0 ]; then
  echo "== end-to-end tests and the new-service check: started in the background (output below, after the Workers' tests)"
  export PGID_FILE
  start_line e2e_line
  start_line new_service_line
fi

echo "== format and lint (Biome; \`npm run format\` fixes what it can)"
biome ci . --reporter=summary || { echo "biome found problems: run npm run format, then fix what remains"; exit 1; }

echo "== generated migrations (the services' event triggers)"
node scripts/event-triggers.mjs --check

echo "== the bench's statistics (bench/lib/paired.test.mjs, node:test on fixed inputs)"
node --test --test-reporter=dot bench/lib/paired.test.mjs

echo "== generated SDK types (packages/sdk; \`npm run sdk\` regenerates them from the Workers' code)"
node scripts/sdk.mjs --check
node packages/sdk/scripts/size.mjs

echo "== type check"
for w in "${WORKERS[@]}"; do tsc -p "workers/$w"; done
tsc -p packages/shared
tsc -p packages/sdk
tsc -p apps/console
tsc -p e2e
tsc -p examples

echo "== npm run deploy -- --dry-run (bundles land in workers/*/dist, which the gateway tests run)"
SKIP_INSTALL=1 bash scripts/deploy.sh --dry-run

if [ $# -ne 0 ]; then
  echo "== npm run new-service, in a throwaway copy (its tests, deploy dry run, served through the gateway)"
  SKIP_INSTALL=1 bash scripts/test-new-service.sh
fi

status=0
if [ $# -eq 0 ]; then
  echo "== the Workers' tests inside workerd"
  vitest run --project '!e2e' "${REPORT[@]}" --outputFile.json=.test-results/workers.json || status=$?
  echo "== the background lines: end-to-end tests and the new-service check (ran beside the above)"
  for pid in "${BG_PIDS[@]}"; do wait "$pid" || true; done
  BG_PIDS=()
  echo "== end-to-end tests"
  cat .test-results/e2e.log
  e2e_status="$(cat .test-results/e2e.status 2>/dev/null || echo 1)"
  [ "$e2e_status" = 0 ] || status=$e2e_status
  echo "== npm run new-service, in a throwaway copy (its tests, deploy dry run, served through the gateway)"
  cat .test-results/new-service.log 2>/dev/null || true
  ns_status="$(cat .test-results/new-service.status 2>/dev/null || echo 1)"
  [ "$ns_status" = 0 ] || { echo "the new-service check failed (exit $ns_status)"; status=$ns_status; }
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
