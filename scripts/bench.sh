#!/usr/bin/env bash
# Throughput and latency of the platform on this machine, in one run (bench/README.md):
#   (a) a trivial Worker response: the runtime's own ceiling here,
#   (b) a CRM read served by the CRM's code directly (no gateway, no RPC hop),
#   (c) the same read through the gateway: real token, rate limiting on,
#   (d) as (c) with rate limiting off,
#   (e) a minimal forwarding Worker: the gateway's call to the CRM with a fixed identity, nothing else,
#   (f) as (c) under `wrangler dev` (its proxy and log forwarding), for comparison,
#   (g)/(h) a page of 100 contacts through the gateway, plain and with ?join= of two relationships;
# then single-connection latency for (b), (c), (e), and (c) with a simulated 50 ms to every
# D1 and Durable Object call the gateway makes (a user far from the data).
# Rows (a)-(e) run on Miniflare directly (bench/lib/serve.mjs: one workerd, the same configs,
# no dev proxy, no log forwarding). Starts everything on free 127.0.0.1 ports with temporary
# state, prints markdown tables (also written to bench/results/latest.md) and stops every
# process it started, also on Ctrl-C or error. The rows are measured interleaved (the loop below):
# blocks of short segments, one per row, every other block reversed; each goal line is the median
# over the blocks' pairs of its two rows, printed with its range and middle half (table.mjs,
# bench/lib/paired.mjs). Settings: BENCH_CONNECTIONS (50), BENCH_DURATION (10 s measured per row
# and round: a round has DURATION/SEGMENT blocks, rounded up), BENCH_SEGMENT (3 s measured per
# segment), BENCH_SEGMENT_WARMUP (1 s before each segment), BENCH_WARMUP (2 s of each row once
# before the first block; also the reference row (f)'s warm-up), BENCH_THREADS (1), BENCH_GOAL (15, %
# of (b) the gateway may cost), BENCH_ROUNDS (1; more rounds add blocks), BENCH_SINGLE_DURATION
# (5 s per single-connection row and round), BENCH_SINGLE_SEGMENT (2 s), BENCH_DELAY_MS (50),
# BENCH_OTEL (1: rows (c+otel) and (g+otel), as (c) and (g) on a platform whose gateway exports
# OTLP with sampling at 100% to a local throwaway sink, bench/lib/otlp-sink.mjs; 0 leaves them out),
# BENCH_PAUSE_DEV (1: (f)'s `wrangler dev` platform is paused while the other rows run),
# BENCH_ROWS (all rows: a comma-separated list of the rows to measure, by letter, e.g. c,e or
# c,e,c+delay; the single-connection rows follow the same list; (f)'s `wrangler dev` platform is
# started only when f is in it; the other servers start as usual).
source "$(dirname "$0")/lib.sh"

CONNECTIONS="${BENCH_CONNECTIONS:-50}"
DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-2}"
SEGMENT="${BENCH_SEGMENT:-3}"
SEGMENT_WARMUP="${BENCH_SEGMENT_WARMUP:-1}"
THREADS="${BENCH_THREADS:-1}"
GOAL="${BENCH_GOAL:-15}"
ROUNDS="${BENCH_ROUNDS:-1}"
BENCH="$ROOT/bench"
RESULTS_DIR="$BENCH/results"

# --- stop what we started, whatever happens -------------------------------------------------
# Each server runs in a session of its own (setsid), so its pid is also the id of a process
# group holding wrangler, its workerd children and esbuild; we signal those groups only.
GROUPS_STARTED=()
WORK="$(mktemp -d "${TMPDIR:-/tmp}/buildly-bench.XXXXXX")"
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  # A paused group (the reference platform between its measurements) would hold a TERM pending.
  if [ -n "${PID_platform_dev:-}" ]; then kill -CONT -- "-$PID_platform_dev" 2>/dev/null || true; fi
  stop_groups "${GROUPS_STARTED[@]}"
  if [ "$status" != 0 ] && [ "$status" != 130 ] && [ "$status" != 143 ] && [ -d "$WORK" ]; then
    echo "bench failed (exit $status); the last lines of each server log, request lines left out:" >&2
    local f
    for f in "$WORK"/*.log; do
      [ -f "$f" ] || continue
      echo "--- $(basename "$f")" >&2
      grep -vE '^\[wrangler:info\] [A-Z]+ /|"msg":"request"' "$f" | tail -n 15 >&2 || true
    done
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

start_server() { # name, command...: runs it in its own session, log in $WORK/<name>.log
  local name=$1
  shift
  setsid "$@" >"$WORK/$name.log" 2>&1 </dev/null &
  GROUPS_STARTED+=("$!")
  eval "PID_${name//-/_}=$!"
}

wait_ready() { # name, url, seconds: until the url answers 2xx, or fail if the server died
  local name=$1 url=$2 limit=$3 pidvar="PID_${1//-/_}"
  local deadline=$((SECONDS + limit))
  until curl -fsS -o /dev/null --max-time 3 "$url" 2>/dev/null; do
    if ! kill -0 "${!pidvar}" 2>/dev/null; then echo "$name exited before it was ready" >&2; return 1; fi
    if ((SECONDS >= deadline)); then echo "$name not ready after ${limit}s ($url)" >&2; return 1; fi
    sleep 0.5
  done
  echo "  $name ready"
}

json_field() { node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }

# --- load generator ---------------------------------------------------------------------------
# wrk, not autocannon: wrk is C on an event loop, so one thread drives far more requests a second
# than workerd can serve here while using a small slice of a core. That matters because the load
# generator shares this machine's cores with workerd and wrangler's Node process: autocannon runs
# in Node and would itself need most of a core at these rates, lowering every row by an amount
# that differs with the rate. autocannon (npx, pinned) is the fallback where apt cannot install wrk.
ensure_deps
ensure_dev_vars
if ! command -v wrk >/dev/null; then
  echo "installing wrk (Debian package)"
  if [ "$(id -u)" = 0 ]; then APT=(apt-get); else APT=(sudo apt-get); fi
  { "${APT[@]}" install -y wrk >/dev/null 2>&1 || { "${APT[@]}" update -qq >/dev/null 2>&1 && "${APT[@]}" install -y wrk >/dev/null 2>&1; }; } ||
    echo "wrk could not be installed; falling back to autocannon"
fi
if command -v wrk >/dev/null; then LOADGEN=wrk; else LOADGEN=autocannon; fi

load() { # url, seconds -> one JSON line: requests, rps, p50_ms, p99_ms, errors
  local url=$1 secs=$2
  # `timeout` bounds a scenario even if the generator hangs; both stop on their own at $secs.
  if [ "$LOADGEN" = wrk ]; then
    timeout --kill-after=5 $((secs + 15)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${secs}s" --timeout 10s \
      ${AUTH_HEADER:+-H "$AUTH_HEADER"} -s "$BENCH/wrk/report.lua" "$url" | sed -n 's/^BENCH_RESULT //p'
  else
    timeout --kill-after=5 $((secs + 30)) npx -y autocannon@9.0.0 -c "$CONNECTIONS" -d "$secs" -t 10 ${AUTH_HEADER:+-H "$AUTH_HEADER"} -j "$url" 2>/dev/null |
      node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>{const r=JSON.parse(s);
        console.log(JSON.stringify({requests:r.requests.total,duration_s:r.duration,rps:r.requests.total/r.duration,
          p50_ms:r.latency.p50,p90_ms:r.latency.p90,p99_ms:r.latency.p99,max_ms:r.latency.max,
          errors:{connect:r.errors-r.timeouts,timeout:r.timeouts,status:r.non2xx}}));});'
  fi
}

# --- start the servers --------------------------------------------------------------------------
read -r PORT PORT_OFF PORT_DELAY PORT_DEV P_TRIVIAL P_DIRECT P_FORWARD I_DEV PORT_OTEL P_SINK <<<"$(free_ports 10)"
OTEL="${BENCH_OTEL:-1}"
ROWS="${BENCH_ROWS:-}"
wanted() { [ -z "$ROWS" ] || [[ ",$ROWS," == *",$1,"* ]]; }
DELAY_MS="${BENCH_DELAY_MS:-50}"
SINGLE_DURATION="${BENCH_SINGLE_DURATION:-5}"
SINGLE_SEGMENT="${BENCH_SINGLE_SEGMENT:-2}"
SINGLE_WARMUP=1
PLATFORM_CONFIGS=(workers/gateway/wrangler.toml workers/crm/wrangler.toml workers/documents/wrangler.toml workers/appointments/wrangler.toml workers/credentials/wrangler.toml)
TRIVIAL_CONFIG="$BENCH/workers/trivial/wrangler.bench.toml"
DIRECT_CONFIG="$BENCH/workers/crm-direct/wrangler.bench.toml"
FORWARD_CONFIG="$BENCH/workers/forwarder/wrangler.bench.toml"

echo "building the Workers' bundles (wrangler deploy --dry-run --outdir dist)"
for c in "${PLATFORM_CONFIGS[@]}" "$TRIVIAL_CONFIG" "$DIRECT_CONFIG" "$FORWARD_CONFIG"; do
  (cd "$(dirname "$c")" && wrangler deploy --dry-run --outdir dist -c "$(basename "$c")" >/dev/null)
done

echo "preparing state (migrations and demo data) in $WORK"
BUILDLY_STATE_DIR="$WORK/platform" SKIP_INSTALL=1 bash scripts/migrate.sh >/dev/null
cp -r "$WORK/platform" "$WORK/platform-off"
cp -r "$WORK/platform" "$WORK/platform-delay"
[ "$OTEL" = 1 ] && cp -r "$WORK/platform" "$WORK/platform-otel"
wrangler d1 migrations apply DB --local -c "$DIRECT_CONFIG" --persist-to "$WORK/crm-direct" >/dev/null
wrangler d1 execute DB --local -c "$DIRECT_CONFIG" --persist-to "$WORK/crm-direct" --file workers/crm/seed/demo.sql >/dev/null

echo "starting the platform and the bench Workers"
# Rate limits far above what one machine can send, so limiting is measured, not triggered.
BENCH_LIMITS='{"user":{"limit":100000000,"window_seconds":60},"client":{"limit":100000000,"window_seconds":60},"organization":{"limit":100000000,"window_seconds":60},"ip":{"limit":100000000,"window_seconds":60},"routes":[],"max":{"user":{"limit":100000000,"window_seconds":60},"client":{"limit":100000000,"window_seconds":60},"organization":{"limit":100000000,"window_seconds":60}}}'
SERVE=(node "$BENCH/lib/serve.mjs")
# (c) and (e) share one platform: the forwarder binds the same CRM entrypoint the gateway uses.
start_server platform "${SERVE[@]}" --persist "$WORK/platform" --port "$PORT" --socket "buildly-bench-forwarder=$P_FORWARD" \
  --var "RATE_LIMITS=$BENCH_LIMITS" "${PLATFORM_CONFIGS[@]}" "$FORWARD_CONFIG"
start_server platform-off "${SERVE[@]}" --persist "$WORK/platform-off" --port "$PORT_OFF" --var RATE_LIMITING=off "${PLATFORM_CONFIGS[@]}"
start_server platform-delay "${SERVE[@]}" --persist "$WORK/platform-delay" --port "$PORT_DELAY" \
  --var "RATE_LIMITS=$BENCH_LIMITS" --var "SIMULATED_DATA_LATENCY_MS=$DELAY_MS" "${PLATFORM_CONFIGS[@]}"
if [ "$OTEL" = 1 ]; then
  # Export on: the gateway (--var reaches the entry Worker only, so the services stay off and the
  # difference to (c) is the gateway's own) sends every trace and its metrics to the sink.
  start_server otlp-sink node "$BENCH/lib/otlp-sink.mjs" "$P_SINK"
  start_server platform-otel "${SERVE[@]}" --persist "$WORK/platform-otel" --port "$PORT_OTEL" --var "RATE_LIMITS=$BENCH_LIMITS" \
    --var "OTEL_EXPORTER_OTLP_ENDPOINT=http://127.0.0.1:$P_SINK" --var OTEL_TRACES_SAMPLER_ARG=1 "${PLATFORM_CONFIGS[@]}"
fi
start_server trivial "${SERVE[@]}" --persist "$WORK/trivial" --port "$P_TRIVIAL" "$TRIVIAL_CONFIG"
start_server crm-direct "${SERVE[@]}" --persist "$WORK/crm-direct" --port "$P_DIRECT" "$DIRECT_CONFIG"
# The comparison row: the platform exactly as `npm run dev` starts it, wrangler's proxy included.
wanted f && start_server platform-dev env BUILDLY_STATE_DIR="$WORK/platform-dev" PORT="$PORT_DEV" SKIP_INSTALL=1 bash scripts/dev.sh --inspector-port "$I_DEV" \
  --var "RATE_LIMITS:$BENCH_LIMITS"

wait_ready trivial "http://127.0.0.1:$P_TRIVIAL/" 120
wait_ready crm-direct "http://127.0.0.1:$P_DIRECT/contacts?limit=1" 120
wait_ready platform "http://127.0.0.1:$PORT/health" 120
wait_ready platform-off "http://127.0.0.1:$PORT_OFF/health" 120
wait_ready platform-delay "http://127.0.0.1:$PORT_DELAY/health" 120
if wanted f; then wait_ready platform-dev "http://127.0.0.1:$PORT_DEV/health" 240; fi
if [ "$OTEL" = 1 ]; then
  wait_ready otlp-sink "http://127.0.0.1:$P_SINK/stats" 30
  wait_ready platform-otel "http://127.0.0.1:$PORT_OTEL/health" 120
fi

# A real access token for the gateway rows: the demo admin's, from the password grant.
# Retried: a login is a write, which fails closed (503) while a just-started limiter object
# misses its deadline on a machine still busy starting the other servers.
token_of() {
  local body
  for _ in 1 2 3 4 5 6; do
    if body="$(curl -fsS --max-time 30 "$1/v1/auth/token" -d grant_type=password -d username=admin@demo.buildly.dev \
      -d password=buildly-demo-password)"; then json_field access_token <<<"$body"; return; fi
    sleep 3
  done
  echo "no access token from $1" >&2
  return 1
}
TOKEN="$(token_of "http://127.0.0.1:$PORT")"
TOKEN_OFF="$(token_of "http://127.0.0.1:$PORT_OFF")"
# Should the delayed platform give no token, its row is reported as not run (and its goal as
# not met) instead of stopping the bench.
TOKEN_DELAY="$(token_of "http://127.0.0.1:$PORT_DELAY" || true)"
TOKEN_DEV=""
if wanted f; then TOKEN_DEV="$(token_of "http://127.0.0.1:$PORT_DEV")"; fi
[ "$OTEL" = 1 ] && TOKEN_OTEL="$(token_of "http://127.0.0.1:$PORT_OTEL")"

# One contact created through each path; scenarios read it back by id.
CONTACT='{"first_name":"Bench","last_name":"Mark","email":"bench@example.com","phone":"+442079460099","tags":["bench","vip"]}'
create_contact() { curl -fsS --max-time 10 -H 'content-type: application/json' ${2:+-H "authorization: Bearer $2"} -d "$CONTACT" "$1" | json_field id; }
DIRECT_ID="$(create_contact "http://127.0.0.1:$P_DIRECT/contacts")"
GATEWAY_ID="$(create_contact "http://127.0.0.1:$PORT/v1/crm/contacts" "$TOKEN")"
GATEWAY_OFF_ID="$(create_contact "http://127.0.0.1:$PORT_OFF/v1/crm/contacts" "$TOKEN_OFF")"
GATEWAY_DELAY_ID=""
[ -n "$TOKEN_DELAY" ] && GATEWAY_DELAY_ID="$(create_contact "http://127.0.0.1:$PORT_DELAY/v1/crm/contacts" "$TOKEN_DELAY" || true)"
GATEWAY_DEV_ID=""
if wanted f; then GATEWAY_DEV_ID="$(create_contact "http://127.0.0.1:$PORT_DEV/v1/crm/contacts" "$TOKEN_DEV")"; fi
[ "$OTEL" = 1 ] && GATEWAY_OTEL_ID="$(create_contact "http://127.0.0.1:$PORT_OTEL/v1/crm/contacts" "$TOKEN_OTEL")"

# `wrangler dev` keeps working while idle: its esbuild watches the sources by polling, 8-9% of a
# core on this machine all the time. Paused (SIGSTOP to its process group) except while (f) itself
# is measured, so it takes nothing from the other rows (BENCH_PAUSE_DEV=0 leaves it running).
pause_dev() { # STOP or CONT
  if wanted f && [ "${BENCH_PAUSE_DEV:-1}" = 1 ]; then kill "-$1" -- "-$PID_platform_dev"; fi
}
pause_dev STOP

# The data mesh rows: 100 contacts, each attending an appointment and linked to a document.
echo "creating 100 contacts with appointments and documents for the data mesh rows"
MESH_TAG="$(node "$BENCH/lib/mesh-setup.mjs" "http://127.0.0.1:$PORT" "$TOKEN" 100)"
MESH_PAGE="http://127.0.0.1:$PORT/v1/crm/contacts?limit=100&tag=$MESH_TAG"
MESH_JOINED="$MESH_PAGE&join=appointments,documents"
# The calls the joined page costs, from its Server-Timing header (one entry per service call).
export MESH_CALLS="$(curl -fsS -o /dev/null -D - -H "authorization: Bearer $TOKEN" "$MESH_JOINED" | sed -n 's/^server-timing: //Ip' | tr -d '\r')"
if [ "$OTEL" = 1 ]; then
  echo "creating the same 100 contacts on the export-on platform"
  MESH_TAG_OTEL="$(node "$BENCH/lib/mesh-setup.mjs" "http://127.0.0.1:$PORT_OTEL" "$TOKEN_OTEL" 100)"
fi

# --- scenarios ----------------------------------------------------------------------------------
# One row each, run in this order: id|letter|label|server (as named by start_server)|url|text the
# body must contain|access token to send (optional). Add a row here (and, if it needs one, a server
# above); BASELINE is the row the % column divides by, HOPS the pairs whose difference is reported.
SCENARIOS=(
  "trivial|a|trivial Worker response (runtime ceiling)|trivial|http://127.0.0.1:$P_TRIVIAL/|ok"
  "crm-direct|b|CRM GET /contacts/:id, service code direct (no gateway)|crm-direct|http://127.0.0.1:$P_DIRECT/contacts/$DIRECT_ID|$DIRECT_ID"
  "gateway|c|CRM GET /v1/crm/contacts/:id through the gateway: real token, rate limiting on|platform|http://127.0.0.1:$PORT/v1/crm/contacts/$GATEWAY_ID|$GATEWAY_ID|$TOKEN"
  "gateway-off|d|as (c), rate limiting off|platform-off|http://127.0.0.1:$PORT_OFF/v1/crm/contacts/$GATEWAY_OFF_ID|$GATEWAY_OFF_ID|$TOKEN_OFF"
  "forwarder|e|minimal forwarder: the same call to the CRM, fixed identity, nothing else|platform|http://127.0.0.1:$P_FORWARD/v1/crm/contacts/$GATEWAY_ID|$GATEWAY_ID"
  "gateway-dev|f|as (c), under wrangler dev (dev proxy + log forwarding)|platform-dev|http://127.0.0.1:$PORT_DEV/v1/crm/contacts/$GATEWAY_DEV_ID|$GATEWAY_DEV_ID|$TOKEN_DEV"
  "mesh-plain|g|a page of 100 contacts through the gateway (as (c))|platform|$MESH_PAGE|$MESH_TAG|$TOKEN"
  "mesh-joined|h|as (g), ?join=appointments,documents|platform|$MESH_JOINED|_embedded|$TOKEN"
)
[ "$OTEL" = 1 ] && SCENARIOS+=(
  "gateway-otel|c+otel|as (c), the gateway exporting OTLP (sampling 100%) to a local sink|platform-otel|http://127.0.0.1:$PORT_OTEL/v1/crm/contacts/$GATEWAY_OTEL_ID|$GATEWAY_OTEL_ID|$TOKEN_OTEL"
  "mesh-otel|g+otel|as (g), the gateway exporting OTLP (sampling 100%) to a local sink|platform-otel|http://127.0.0.1:$PORT_OTEL/v1/crm/contacts?limit=100&tag=$MESH_TAG_OTEL|$MESH_TAG_OTEL|$TOKEN_OTEL"
)
BASELINE=crm-direct
# base:hop[:kind] pairs: the first is the one the 15% goal applies to; ":limit" marks the
# rate-limiting pair, ":own" the gateway's own cost against the minimal forwarder, ":mesh" the
# plain and joined pages (goal: the joined page costs at most 2x, in 1 + 2 calls). Each pair's
# figures are medians over the blocks' pairs, except ":ref" (the reference row (f), not in the
# blocks: compared by the rows' medians).
HOPS=crm-direct:gateway,gateway-off:gateway:limit,forwarder:gateway:own,gateway:gateway-dev:ref,mesh-plain:mesh-joined:mesh
# ":otel": what exporting costs the gateway, against the same row with no endpoint configured.
[ "$OTEL" = 1 ] && HOPS+=,gateway:gateway-otel:otel,mesh-plain:mesh-otel:otel
# Single connection, one request at a time: what one request costs when nothing queues; in this
# order in a block, so (e) and (c) are measured back to back, and (c) and (c+delay) (added below).
SINGLE=(crm-direct forwarder gateway)

RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
check_row() { # url expect auth-header letter
  local body
  body="$(curl -fsS --max-time 10 ${3:+-H "$3"} "$1")" || { echo "($4) $1 does not answer 2xx" >&2; exit 1; }
  [[ "$body" == *"$2"* ]] || { echo "($4) $1 answered without \"$2\": $body" >&2; exit 1; }
}
scenario() { # id -> its SCENARIOS line (empty if none)
  local row
  for row in "${SCENARIOS[@]}"; do [[ "$row" == "$1|"* ]] && { echo "$row"; return; }; done
}
field() { # name json -> the number after "name": (the load generator's lines are flat JSON)
  [[ "$2" =~ \"$1\":([0-9.]+) ]] && echo "${BASH_REMATCH[1]}"
}
# One measurement of one row: warm-up seconds (not measured), then measured seconds, with the
# server's CPU from snapshots around the measured part (bench/lib/cpu.mjs, the row's own server's
# process group); appends one line to $RESULTS and sets MEASURED to the row's req/s (not printed:
# a command substitution's subshell could not stop the bench on an error).
measure() { # id warmup seconds round block
  local id letter label server url expect token pidvar result
  IFS='|' read -r id letter label server url expect token <<<"$(scenario "$1")"
  pidvar="PID_${server//-/_}"
  local AUTH_HEADER="${token:+authorization: Bearer $token}"
  check_row "$url" "$expect" "$AUTH_HEADER" "$letter"
  if ((${2} > 0)); then load "$url" "$2" >/dev/null; fi
  SEGMENTS=$((SEGMENTS + 1))
  node "$BENCH/lib/cpu.mjs" snapshot "${!pidvar}" >"$WORK/cpu-$SEGMENTS-before.json"
  result="$(load "$url" "$3")"
  node "$BENCH/lib/cpu.mjs" snapshot "${!pidvar}" >"$WORK/cpu-$SEGMENTS-after.json"
  [ -n "$result" ] || { echo "($letter) the load generator reported nothing" >&2; exit 1; }
  # The CPU per request is computed from the snapshots after the runs (cpu.mjs annotate).
  printf '{"id":"%s","letter":"%s","label":"%s","round":%s,"block":%s,"t_s":%s,"cpu_n":%s,%s\n' \
    "$id" "$letter" "$label" "$4" "${5:-null}" "$SECONDS" "$SEGMENTS" "${result#\{}" >>"$RESULTS"
  MEASURED="$(printf '(%s) %.0f/s' "$letter" "$(field rps "$result")")"
}
# The compared rows are measured interleaved, as bench/events/run.sh measures its rows: a round is
# BLOCKS blocks, a block one short segment of every row (SEGMENT_WARMUP s, then SEGMENT s measured)
# in the order of BLOCK_ROWS and, in the next block, reversed. So the rows of each goal line are
# measured a few seconds apart, each first as often as second, and whatever drifts (other load on
# the machine, the databases growing, what ran just before on the same workerd) lands on both
# rows of a pair; table.mjs computes each goal line as the median over the blocks' pairs.
# (c) sits between (b) and (e), (g) beside (h). The reference row (f) (wrangler dev, no goal of its
# own) is measured once a round after the blocks, WARMUP + DURATION s, and compared by medians.
SEGMENTS=0
BLOCK_ROWS=(trivial crm-direct gateway forwarder gateway-off mesh-plain mesh-joined gateway-otel mesh-otel)
REFERENCE_ROWS=(gateway-dev)
BLOCKS=$(((DURATION + SEGMENT - 1) / SEGMENT))
in_run() { # id -> whether this run measures it (defined in SCENARIOS and asked for by BENCH_ROWS)
  local row letter
  row="$(scenario "$1")"
  [ -n "$row" ] || return 1
  IFS='|' read -r _ letter _ <<<"$row"
  wanted "$letter"
}
# block_order BLOCK ROWS: sets ORDER to the array named ROWS, reversed in every even-numbered block.
block_order() {
  local -n rows=$2
  local k
  ORDER=("${rows[@]}")
  if (($1 % 2 == 0)); then
    ORDER=()
    for ((k = ${#rows[@]} - 1; k >= 0; k--)); do ORDER+=("${rows[k]}"); done
  fi
}
RUN_BLOCK_ROWS=()
for id in "${BLOCK_ROWS[@]}"; do in_run "$id" && RUN_BLOCK_ROWS+=("$id"); done
# Every block row once first, WARMUP s, so no row's first segment meets a cold isolate.
if ((${#RUN_BLOCK_ROWS[@]} > 0)); then
  echo "warming up every row, ${WARMUP}s each"
  for id in "${RUN_BLOCK_ROWS[@]}"; do
    IFS='|' read -r _ letter _ _ url expect token <<<"$(scenario "$id")"
    AUTH_HEADER="${token:+authorization: Bearer $token}" load "$url" "$WARMUP" >/dev/null
  done
fi
for round in $(seq 1 "$ROUNDS"); do
  if ((${#RUN_BLOCK_ROWS[@]} > 0)); then
    echo "round $round/$ROUNDS: $BLOCKS blocks of ${#RUN_BLOCK_ROWS[@]} rows, ${SEGMENT_WARMUP}s warm-up + ${SEGMENT}s measured per segment, every other block reversed"
  fi
  for block in $(seq 1 "$BLOCKS"); do
    ((${#RUN_BLOCK_ROWS[@]} > 0)) || break
    b=$(((round - 1) * BLOCKS + block))
    block_order "$b" RUN_BLOCK_ROWS
    line="  block $b:"
    for id in "${ORDER[@]}"; do
      measure "$id" "$SEGMENT_WARMUP" "$SEGMENT" "$round" "$b"
      line+=" $MEASURED"
    done
    echo "$line"
  done
  for id in "${REFERENCE_ROWS[@]}"; do
    in_run "$id" || continue
    IFS='|' read -r _ letter label _ <<<"$(scenario "$id")"
    echo "($letter) $label: ${WARMUP}s warm-up, ${DURATION}s measured (round $round/$ROUNDS, a reference row: not paired)"
    pause_dev CONT
    measure "$id" "$WARMUP" "$DURATION" "$round" ""
    pause_dev STOP
    echo "  $MEASURED"
  done
done

node "$BENCH/lib/cpu.mjs" annotate "$RESULTS" "$WORK"

# Single connection, one request at a time, interleaved the same way: blocks of SINGLE_SEGMENT-s
# segments of (b) (e) (c) (c+delay), reversed every other block; (c) - (e) and (c+delay) - (c)
# per block, medians. No warm-up per segment: a one-connection segment leaves no queue behind,
# and a few slow first requests do not move a p50 over hundreds.
SINGLE_RESULTS="$WORK/single.jsonl"
: >"$SINGLE_RESULTS"
SINGLE_BLOCKS=$(((SINGLE_DURATION + SINGLE_SEGMENT - 1) / SINGLE_SEGMENT))
single_row() { # id letter label url token round block seconds -> appends a line, sets MEASURED
  local AUTH_HEADER="${5:+authorization: Bearer $5}" result
  result="$(CONNECTIONS=1 THREADS=1 load "$4" "$8")"
  [ -n "$result" ] || { echo "($2) the load generator reported nothing" >&2; exit 1; }
  printf '{"id":"%s","letter":"%s","label":"%s","round":%s,"block":%s,%s\n' "$1" "$2" "$3" "$6" "$7" "${result#\{}" >>"$SINGLE_RESULTS"
  MEASURED="$(printf '(%s) p50 %.2f ms' "$2" "$(field p50_ms "$result")")"
}
SINGLE_ROWS=()
for id in "${SINGLE[@]}"; do in_run "$id" && SINGLE_ROWS+=("$id|$(scenario "$id" | cut -d'|' -f2-)"); done
DELAY_LABEL="as (c), every gateway D1/Durable Object call delayed ${DELAY_MS} ms"
if ! wanted c+delay; then
  : # not asked for (BENCH_ROWS)
elif [ -n "$GATEWAY_DELAY_ID" ]; then
  DELAY_URL="http://127.0.0.1:$PORT_DELAY/v1/crm/contacts/$GATEWAY_DELAY_ID"
  check_row "$DELAY_URL" "$GATEWAY_DELAY_ID" "authorization: Bearer $TOKEN_DELAY" "c+delay"
  # Warmed as long as (c)'s platform was by its closed-loop rows' first round, so JIT and caches compare.
  AUTH_HEADER="authorization: Bearer $TOKEN_DELAY" load "$DELAY_URL" "$((WARMUP + DURATION))" >/dev/null
  SINGLE_ROWS+=("gateway-delay|c+delay|$DELAY_LABEL|platform-delay|$DELAY_URL|$GATEWAY_DELAY_ID|$TOKEN_DELAY")
else
  echo "(c+delay) not run: no token or contact from the delayed platform" >&2
fi
if ((${#SINGLE_ROWS[@]} > 0)); then
  echo "one connection: every row ${SINGLE_WARMUP}s first, then $ROUNDS round(s) of $SINGLE_BLOCKS blocks, ${SINGLE_SEGMENT}s per segment, every other block reversed"
  for row in "${SINGLE_ROWS[@]}"; do
    IFS='|' read -r id letter label server url expect token <<<"$row"
    check_row "$url" "$expect" "${token:+authorization: Bearer $token}" "$letter"
    AUTH_HEADER="${token:+authorization: Bearer $token}" CONNECTIONS=1 THREADS=1 load "$url" "$SINGLE_WARMUP" >/dev/null
  done
  for round in $(seq 1 "$ROUNDS"); do
    for block in $(seq 1 "$SINGLE_BLOCKS"); do
      b=$(((round - 1) * SINGLE_BLOCKS + block))
      block_order "$b" SINGLE_ROWS
      line="  block $b:"
      for row in "${ORDER[@]}"; do
        IFS='|' read -r id letter label server url expect token <<<"$row"
        single_row "$id" "$letter" "$label" "$url" "$token" "$round" "$b" "$SINGLE_SEGMENT"
        line+=" $MEASURED"
      done
      echo "$line"
    done
  done
fi

# What the sink received: the export-on rows must have exported, or their numbers mean nothing.
if [ "$OTEL" = 1 ]; then
  export OTEL_SINK_STATS="$(curl -fsS --max-time 10 "http://127.0.0.1:$P_SINK/stats")"
  [ "$(json_field spans <<<"$OTEL_SINK_STATS")" -gt 0 ] || { echo "export on, but the OTLP sink received no span: $OTEL_SINK_STATS" >&2; exit 1; }
fi

# --- report -------------------------------------------------------------------------------------
CORES="$(nproc)"
CPU="$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -n1)"
WORKERD="$(workerd --version 2>/dev/null | head -n1 || true)"
if [ "$LOADGEN" = wrk ]; then GEN_VERSION="$( (wrk -v 2>&1 || true) | head -n1 | cut -d' ' -f1-2)"; else GEN_VERSION="autocannon 9.0.0"; fi
SETTINGS="$GEN_VERSION, $THREADS thread(s), $CONNECTIONS connections; $ROUNDS round(s) of $BLOCKS blocks, each block one segment per row (${SEGMENT_WARMUP} s warm-up + ${SEGMENT} s measured) \
in the order $(for id in "${RUN_BLOCK_ROWS[@]}"; do IFS='|' read -r _ l _ <<<"$(scenario "$id")"; printf '(%s) ' "$l"; done)reversed every other block, after a ${WARMUP} s warm-up of each; \
the rows table holds each row's medians over its segments, and each goal line the median over the blocks' pairs (with their range and middle half). \
$(if in_run gateway-dev; then echo "(f) is a reference row, measured on its own once a round (${WARMUP} s warm-up + ${DURATION} s). "; fi)\
One connection: $ROUNDS round(s) of $SINGLE_BLOCKS blocks of ${SINGLE_SEGMENT} s segments, reversed every other block. \
The load generator shares the machine's $CORES cores ($CPU) with workerd and wrangler. \
Rows (a)-(e) run on Miniflare directly (one workerd per server, no dev proxy, log lines dropped); (f) runs under \`wrangler dev\` as \`npm run dev\` does. \
These are local numbers, to compare rows, not to predict production. \
wrangler $(wrangler --version 2>/dev/null | tail -n1), ${WORKERD:-workerd}; $(date -u +%Y-%m-%dT%H:%M:%SZ)."

mkdir -p "$RESULTS_DIR"
set +e
node "$BENCH/lib/table.mjs" "$RESULTS" "$BASELINE" "$HOPS" "$GOAL" "$SETTINGS" "$SINGLE_RESULTS" "$DELAY_MS" >"$WORK/table.md"
table_status=$?
set -e
cp "$WORK/table.md" "$RESULTS_DIR/latest.md"
# Every segment's figures, for a closer look (the order, what ran before, the drift over the run).
cat "$RESULTS" "$SINGLE_RESULTS" >"$RESULTS_DIR/latest-segments.jsonl"
echo
cat "$WORK/table.md"
echo "(written to bench/results/latest.md; every segment's figures to bench/results/latest-segments.jsonl)"
exit "$table_status"
