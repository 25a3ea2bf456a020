#!/usr/bin/env bash
# The token endpoint's grants (npm run bench:token, bench/README.md "Token endpoint"):
#   (t1) POST /v1/auth/token grant_type=password (the legacy grant: PBKDF2 dominates),
#   (t2) grant_type=authorization_code with PKCE for the organization's first-party public console
#        client: codes minted just before the measured phase (one sign-in, then /v1/auth/authorize
#        with the session cookie and a fresh code_challenge per code), one code + verifier a request,
#   (t3) grant_type=refresh_token: each connection spends the refresh token its last answer rotated.
# The gateway and its services run on Miniflare directly (bench/lib/serve.mjs), as in scripts/bench.sh,
# on a free 127.0.0.1 port with temporary state; bench/token/load.mjs drives the load (see there why
# not wrk) and bench/lib/table.mjs prints the table (also written to bench/results/token.md).
# Every answer must be 200: non-200s are counted, printed, and fail the run (exit 3).
# Settings: BENCH_CONNECTIONS (8), BENCH_DURATION (10 s a row; at most 25, a code lives 60 s),
# BENCH_WARMUP (2 s).
source "$(dirname "$0")/../../scripts/lib.sh"

CONNECTIONS="${BENCH_CONNECTIONS:-8}"
DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-2}"
((DURATION <= 25)) || { echo "BENCH_DURATION must be at most 25 s: a code is minted up to that long before it is spent, and lives 60 s" >&2; exit 2; }
BENCH="$ROOT/bench"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/buildly-bench-token.XXXXXX")"
PGID=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_groups $PGID # unquoted: none started yet, nothing to stop
  if [ "$status" != 0 ] && [ -f "$WORK/platform.log" ]; then
    echo "bench failed (exit $status); the last lines of the server log:" >&2
    grep -v '"msg":"request"' "$WORK/platform.log" | tail -n 20 >&2 || true
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "${SKIP_INSTALL:-}" = "1" ]; then export PATH="$ROOT/node_modules/.bin:$PATH"; else ensure_deps; fi
ensure_dev_vars

PORT="$(free_ports 1)"
BASE="http://127.0.0.1:$PORT"
PLATFORM_CONFIGS=(workers/gateway/wrangler.toml workers/crm/wrangler.toml workers/documents/wrangler.toml workers/appointments/wrangler.toml workers/credentials/wrangler.toml)
echo "building the Workers' bundles (wrangler deploy --dry-run --outdir dist)"
for c in "${PLATFORM_CONFIGS[@]}"; do
  (cd "$(dirname "$c")" && wrangler deploy --dry-run --outdir dist -c "$(basename "$c")" >/dev/null)
done
echo "preparing state (migrations and demo data) in $WORK"
BUILDLY_STATE_DIR="$WORK/platform" SKIP_INSTALL=1 bash scripts/migrate.sh >/dev/null

# The same limits as scripts/bench.sh: far above what one machine sends, so limiting is measured,
# not triggered. LOGIN_FAILURES_LIMIT too: a password attempt is reserved before the password is
# checked (login-guard.ts), so more than 5 logins in flight for one account answer 429 even when all
# are right; the reservation is still made and measured, only its limit is out of reach.
BENCH_LIMITS='{"user":{"limit":100000000,"window_seconds":60},"client":{"limit":100000000,"window_seconds":60},"organization":{"limit":100000000,"window_seconds":60},"ip":{"limit":100000000,"window_seconds":60},"routes":[],"max":{"user":{"limit":100000000,"window_seconds":60},"client":{"limit":100000000,"window_seconds":60},"organization":{"limit":100000000,"window_seconds":60}}}'
setsid node "$BENCH/lib/serve.mjs" --persist "$WORK/platform" --port "$PORT" --var "RATE_LIMITS=$BENCH_LIMITS" \
  --var "ISSUER=$BASE" --var LOGIN_FAILURES_LIMIT=100000000 "${PLATFORM_CONFIGS[@]}" >"$WORK/platform.log" 2>&1 </dev/null &
PGID=$!
deadline=$((SECONDS + 120))
until curl -fsS -o /dev/null --max-time 3 "$BASE/health" 2>/dev/null; do
  kill -0 "$PGID" 2>/dev/null || { echo "the platform exited before it was ready" >&2; exit 1; }
  ((SECONDS < deadline)) || { echo "the platform is not ready after 120 s" >&2; exit 1; }
  sleep 0.5
done
echo "  platform ready on $BASE"

RESULTS="$WORK/results.jsonl"
node "$BENCH/token/load.mjs" "$BASE" "$PGID" "$CONNECTIONS" "$WARMUP" "$DURATION" "$RESULTS"

SETTINGS="bench/token/load.mjs (Node fetch), $CONNECTIONS connections, ${WARMUP} s warm-up + ${DURATION} s measured per row (t2: until its minted codes run out, at most ${DURATION} s), rows one after another. \
The load generator shares the machine's $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)) with workerd. \
The gateway and its services run on Miniflare directly (no dev proxy). Local numbers, to compare rows, not to predict production. $(date -u +%Y-%m-%dT%H:%M:%SZ)."
mkdir -p "$BENCH/results"
set +e
node "$BENCH/lib/table.mjs" "$RESULTS" password "" 0 "$SETTINGS" >"$WORK/table.md"
table_status=$?
set -e
cp "$WORK/table.md" "$BENCH/results/token.md"
echo
cat "$WORK/table.md"
echo "(written to bench/results/token.md)"
exit "$table_status"
