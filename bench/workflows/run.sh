#!/usr/bin/env bash
# Workflow transitions (npm run bench:workflows): how many transitions a second
#   (w1) one instance takes through the gateway (its Durable Object serializes them),
#   (w2) 100 instances take together through the gateway (each its own object),
#   (w3), (w4) the same two with no gateway in front (bench/workers/workflow-direct drives the
#       same object class over RPC): the objects' own ceiling,
# with a read of one instance (w0) for reference. Serves the platform and the bench Worker as
# `npm run bench` does, on Miniflare directly (bench/lib/serve.mjs: the same configs and bundles,
# no dev proxy, log lines dropped), on free ports with temporary state and limits far above what
# one machine can send; loads each row with wrk, reports the server's CPU per request, checks
# that every accepted transition is in the instances' versions, prints a table (also written to
# bench/results/workflows.md) and stops everything it started.
# Settings: BENCH_CONNECTIONS (50), BENCH_DURATION (10 s), BENCH_WARMUP (2 s), BENCH_THREADS (1),
# BENCH_ROUNDS (1), WF_INSTANCES (100), WF_ROWS (all: "read one many direct-one direct-many"; a short
# before/after of one change may run only the rows it moves, e.g. WF_ROWS="one many").
source "$(dirname "$0")/../../scripts/lib.sh"

CONNECTIONS="${BENCH_CONNECTIONS:-50}"
DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-2}"
THREADS="${BENCH_THREADS:-1}"
ROUNDS="${BENCH_ROUNDS:-1}"
INSTANCES="${WF_INSTANCES:-100}"
GOAL_ONE=500
BENCH="$ROOT/bench"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/buildly-bench-wf.XXXXXX")"
PLATFORM_PGID=""
DIRECT_PGID=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_groups $PLATFORM_PGID $DIRECT_PGID # unquoted: an id not set yet drops out
  if [ "$status" != 0 ]; then
    for f in "$WORK/platform.log" "$WORK/direct.log"; do
      [ -f "$f" ] || continue
      echo "bench failed (exit $status); the last lines of $(basename "$f"):" >&2
      grep -vE '"msg":"request"' "$f" | tail -n 20 >&2 || true
    done
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "${SKIP_INSTALL:-}" = "1" ]; then export PATH="$ROOT/node_modules/.bin:$PATH"; else ensure_deps; fi
ensure_dev_vars
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk); scripts/bench.sh installs it" >&2; exit 1; }

read -r PORT P_DIRECT <<<"$(free_ports 2)"
BASE="http://127.0.0.1:$PORT"
LIMITS='{"user":{"limit":100000000,"window_seconds":60},"client":{"limit":100000000,"window_seconds":60},"organization":{"limit":100000000,"window_seconds":60},"ip":{"limit":100000000,"window_seconds":60},"routes":[],"max":{"user":{"limit":100000000,"window_seconds":60},"client":{"limit":100000000,"window_seconds":60},"organization":{"limit":100000000,"window_seconds":60}}}'
PLATFORM_CONFIGS=(workers/gateway/wrangler.toml workers/crm/wrangler.toml workers/documents/wrangler.toml workers/appointments/wrangler.toml workers/credentials/wrangler.toml)
# The object alone: the gateway's migrations and demo organization in a D1 of its own.
DIRECT_CONFIG="$BENCH/workers/workflow-direct/wrangler.bench.toml"
DIRECT="http://127.0.0.1:$P_DIRECT"
echo "building the Workers' bundles (wrangler deploy --dry-run --outdir dist)"
for c in "${PLATFORM_CONFIGS[@]}" "$DIRECT_CONFIG"; do
  (cd "$(dirname "$c")" && wrangler deploy --dry-run --outdir dist -c "$(basename "$c")" >/dev/null)
done
echo "preparing state (migrations and demo data) in $WORK"
BUILDLY_STATE_DIR="$WORK/state" SKIP_INSTALL=1 bash scripts/migrate.sh >/dev/null
wrangler d1 migrations apply DB --local -c "$DIRECT_CONFIG" --persist-to "$WORK/direct" >/dev/null
wrangler d1 execute DB --local -c "$DIRECT_CONFIG" --persist-to "$WORK/direct" --file workers/gateway/seed/demo.sql >/dev/null
echo "starting the platform on $BASE and the bench Worker on $DIRECT (Miniflare directly)"
setsid node "$BENCH/lib/serve.mjs" --persist "$WORK/state" --port "$PORT" --var "RATE_LIMITS=$LIMITS" \
  "${PLATFORM_CONFIGS[@]}" >"$WORK/platform.log" 2>&1 </dev/null &
PLATFORM_PGID=$!
setsid node "$BENCH/lib/serve.mjs" --persist "$WORK/direct" --port "$P_DIRECT" "$DIRECT_CONFIG" >"$WORK/direct.log" 2>&1 </dev/null &
DIRECT_PGID=$!
wait_ready() { # pgid, url
  local deadline=$((SECONDS + 600))
  until curl -sS -o /dev/null --max-time 3 "$2" 2>/dev/null; do
    kill -0 "$1" 2>/dev/null || { echo "a server exited before it was ready ($2)" >&2; exit 1; }
    ((SECONDS < deadline)) || { echo "$2 not ready after 600 s" >&2; exit 1; }
    sleep 0.5
  done
}
wait_ready "$PLATFORM_PGID" "$BASE/health"
wait_ready "$DIRECT_PGID" "$DIRECT/"

json_field() { node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
TOKEN="$(curl -fsS "$BASE/v1/auth/token" -d grant_type=password -d username=admin@demo.buildly.dev -d password=buildly-demo-password | json_field access_token)"
AUTH="authorization: Bearer $TOKEN"
post() { curl -fsS --max-time 30 -H "$AUTH" -H 'content-type: application/json' -d "$2" "$BASE$1"; }

# A state that can be re-entered forever: every "tick" is allowed, so each request is a transition.
TEMPLATE="$(post /v1/workflows/templates '{"name":"Bench counter","initial_state":"open","states":[{"key":"open","name":"Open"},{"key":"closed","name":"Closed","terminal":true}],"transitions":[{"key":"tick","name":"Tick","from":["open"],"to":"open"},{"key":"close","name":"Close","from":["open"],"to":"closed"}]}' | json_field id)"
new_instance() { post /v1/workflows/instances "{\"template_id\":\"$TEMPLATE\"}" | json_field id; }
new_instance >"$WORK/one.ids"
for _ in $(seq 1 "$INSTANCES"); do new_instance; done >"$WORK/many.ids"
ONE="$(cat "$WORK/one.ids")"
curl -fsS -X POST "$DIRECT/setup?n=1" >"$WORK/direct-one.ids"
curl -fsS -X POST "$DIRECT/setup?n=$INSTANCES" >"$WORK/direct-many.ids"
echo "  template $TEMPLATE, 1 + $INSTANCES instances through the gateway, as many without it"

export BENCH_REPORT="$BENCH/wrk/report.lua"
run_wrk() { # seconds, then wrk arguments
  local secs=$1
  shift
  timeout --kill-after=5 $((secs + 15)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --timeout 10s -H "$AUTH" "$@" | sed -n 's/^BENCH_RESULT //p'
}
SCENARIOS=(
  "read|w0|GET /v1/workflows/instances/:id (a read of one instance's object, for reference)|-s $BENCH_REPORT $BASE/v1/workflows/instances/$ONE"
  "one|w1|POST .../transitions on one instance (its object serializes them)|-s $BENCH/workflows/transitions.lua $BASE|$WORK/one.ids"
  "many|w2|POST .../transitions across $INSTANCES instances at once|-s $BENCH/workflows/transitions.lua $BASE|$WORK/many.ids"
  "direct-one|w3|as (w1), the object alone (RPC from a Worker, no gateway)|-s $BENCH/workflows/transitions.lua $DIRECT|$WORK/direct-one.ids"
  "direct-many|w4|as (w2), the objects alone (RPC from a Worker, no gateway)|-s $BENCH/workflows/transitions.lua $DIRECT|$WORK/direct-many.ids"
)
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
ROWS=" ${WF_ROWS:-read one many direct-one direct-many} "
for round in $(seq 1 "$ROUNDS"); do
  for row in "${SCENARIOS[@]}"; do
    IFS='|' read -r id letter label args ids <<<"$row"
    [[ "$ROWS" == *" $id "* ]] || continue
    echo "($letter) $label: ${WARMUP}s warm-up, ${DURATION}s measured (round $round/$ROUNDS)"
    # shellcheck disable=SC2086
    warm="$(WF_IDS="$ids" run_wrk "$WARMUP" $args)"
    echo "{\"id\":\"$id\",${warm#\{}" >>"$WORK/warmups.jsonl"
    pgid="$PLATFORM_PGID"
    [[ "$id" == direct-* ]] && pgid="$DIRECT_PGID"
    node "$BENCH/lib/cpu.mjs" snapshot "$pgid" >"$WORK/cpu-before.json"
    # shellcheck disable=SC2086
    result="$(WF_IDS="$ids" run_wrk "$DURATION" $args)"
    node "$BENCH/lib/cpu.mjs" snapshot "$pgid" >"$WORK/cpu-after.json"
    [ -n "$result" ] || { echo "($letter) wrk reported nothing" >&2; exit 1; }
    cpu="$(node "$BENCH/lib/cpu.mjs" diff "$WORK/cpu-before.json" "$WORK/cpu-after.json" "$(json_field requests <<<"$result")")"
    printf '{"id":"%s","letter":"%s","label":"%s","round":%s,"cpu":%s,%s\n' "$id" "$letter" "$label" "$round" "$cpu" "${result#\{}" >>"$RESULTS"
  done
done

# Every transition answered 200 must be in the versions, none twice. wrk does not count the
# requests still in flight when it stops (the server may have taken them), so versions may exceed
# wrk's count by at most one request per connection per wrk run.
version_sum() { # ids file, base url
  local sum=0 v
  while read -r i; do v="$(curl -fsS -H "$AUTH" "$2/v1/workflows/instances/$i" | json_field version)"; sum=$((sum + v - 1)); done <"$1"
  echo "$sum"
}
answered() { node -e '
  const fs = require("fs");
  const rows = [process.argv[1], process.argv[2]].flatMap((f) => fs.readFileSync(f, "utf8").split("\n").filter(Boolean).map(JSON.parse));
  console.log(rows.filter((r) => r.id === process.argv[3]).reduce((n, r) => n + r.requests - r.errors.status, 0));' "$RESULTS" "$WORK/warmups.jsonl" "$1"; }
CHECKS="one:$(answered one):$(version_sum "$WORK/one.ids" "$BASE"),many:$(answered many):$(version_sum "$WORK/many.ids" "$BASE")"
CHECKS+=",direct-one:$(answered direct-one):$(version_sum "$WORK/direct-one.ids" "$DIRECT"),direct-many:$(answered direct-many):$(version_sum "$WORK/direct-many.ids" "$DIRECT")"
SLACK=$((CONNECTIONS * 2 * ROUNDS))
# The D1 index is written after each answer: it must come in step with the objects' versions
# (the list, read through the gateway, sums the same versions) within INDEX_WAIT seconds.
OBJECT_SUM=$(($(version_sum "$WORK/one.ids" "$BASE") + $(version_sum "$WORK/many.ids" "$BASE")))
INDEX_CHECK="$(node -e '
  const [base, auth, template, want, wait] = process.argv.slice(1);
  const until = Date.now() + Number(wait) * 1000;
  (async () => {
    const started = Date.now();
    let sum = 0;
    for (;;) {
      sum = 0;
      let cursor = null;
      do {
        const url = `${base}/v1/workflows/instances?template_id=${template}&limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`;
        const page = await (await fetch(url, { headers: { authorization: auth.replace(/^authorization: /, "") } })).json();
        for (const r of page.data) sum += r.version - 1;
        cursor = page.next_cursor;
      } while (cursor);
      if (sum === Number(want) || Date.now() > until) break;
      await new Promise((r) => setTimeout(r, 200));
    }
    console.log(`${sum}:${((Date.now() - started) / 1000).toFixed(1)}`);
  })();' "$BASE" "$AUTH" "$TEMPLATE" "$OBJECT_SUM" "${INDEX_WAIT:-30}")"

SETTINGS="wrk, $THREADS thread(s), $CONNECTIONS connections, ${WARMUP} s warm-up + ${DURATION} s measured per row, $ROUNDS round(s). \
Everything (wrk, the gateway, every instance's Durable Object, D1; one workerd per server on Miniflare directly, no dev proxy) shares this machine's $(nproc) cores; \
local-dev numbers, to compare rows. $(date -u +%Y-%m-%dT%H:%M:%SZ)."
mkdir -p "$BENCH/results"
{
  node "$BENCH/lib/table.mjs" "$RESULTS" read "" 0 "$SETTINGS" || true
  node -e '
    const fs = require("fs");
    const [file, goal, n, checks, slack, index, objects] = process.argv.slice(1);
    const rows = fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map(JSON.parse);
    const med = (id) => { const xs = rows.filter((r) => r.id === id).map((r) => r.rps).sort((a, b) => a - b); return xs.length ? xs[Math.floor(xs.length / 2)] : NaN; };
    const [one, many, dOne, dMany] = ["one", "many", "direct-one", "direct-many"].map(med);
    console.log("");
    // Rows left out (WF_ROWS) read NaN.
    console.log(`transitions on one instance: ${one.toFixed(0)}/s through the gateway, ${dOne.toFixed(0)}/s for the object alone (goal >= ${goal}/s: ${one >= goal ? "met" : "NOT met"} through the gateway, ${dOne >= goal ? "met" : "NOT met"} alone)`);
    console.log(`across ${n} instances: ${(many / one).toFixed(2)}x one instance through the gateway, ${(dMany / dOne).toFixed(2)}x alone (near-linear: about ${n}x when each object has a machine of its own, as on Cloudflare; here all share the same cores)`);
    for (const check of checks.split(",")) {
      const [name, answered, versions] = check.split(":");
      const [a, v] = [Number(answered), Number(versions)];
      const fine = v >= a && v - a <= Number(slack);
      console.log(`consistency (${name}): ${a} transitions answered 200 (warm-ups included), versions grew by ${v}: ${fine ? "ok" : "MISMATCH"} (at most ${slack} cut off in flight)`);
      if (!fine) process.exitCode = 4;
    }
    const [indexSum, took] = index.split(":");
    const inStep = Number(indexSum) === Number(objects);
    console.log(`index in step (through the gateway): the D1 index holds ${indexSum} of the ${objects} transitions the objects took after ${took} s: ${inStep ? "ok" : "BEHIND"}`);
    if (!inStep) process.exitCode = 4;
  ' "$RESULTS" "$GOAL_ONE" "$INSTANCES" "$CHECKS" "$SLACK" "$INDEX_CHECK" "$OBJECT_SUM"
} | tee "$WORK/table.md"
cp "$WORK/table.md" "$BENCH/results/workflows.md"
echo "(written to bench/results/workflows.md)"
