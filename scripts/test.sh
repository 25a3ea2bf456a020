#!/usr/bin/env bash
# The whole test suite: type checks, a deploy dry run of every Worker, the Workers'
# tests inside workerd, and the end-to-end suite against the platform as `npm run dev` serves it.
source "$(dirname "$0")/lib.sh"
ensure_deps
# Every Worker under workers/ (scripts/lib/workers.mjs), so a new service is tested without edits.
read_workers WORKERS dirs

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
tsc -p apps/console
tsc -p e2e
tsc -p examples

echo "== npm run deploy -- --dry-run (bundles land in workers/*/dist, which the gateway tests run)"
SKIP_INSTALL=1 bash scripts/deploy.sh --dry-run

echo "== npm run new-service, in a throwaway copy (its tests, deploy dry run, served through the gateway)"
SKIP_INSTALL=1 bash scripts/test-new-service.sh

echo "== tests"
# The e2e suite drives Debian's Chromium to check /docs offline; installs it only when missing.
bash e2e/ensure-chromium.sh
mkdir -p .test-results
status=0
vitest run --reporter=default --reporter=json --outputFile.json=.test-results/vitest.json "$@" || status=$?
# One plain closing line for CI: "N passed, N failed".
node -e '
  const r = JSON.parse(require("fs").readFileSync(".test-results/vitest.json", "utf8"));
  const skipped = r.numPendingTests + r.numTodoTests;
  console.log(`${r.numPassedTests} passed, ${r.numFailedTests} failed` + (skipped ? `, ${skipped} skipped` : ""));
' || true
exit $status
