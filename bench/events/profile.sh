#!/usr/bin/env bash
# A CPU profile of bench:events' row (e1) (bash bench/events/profile.sh): serves
# bench/workers/crm-events (events on, or EVENTS_OUTBOX=off with PROFILE_EVENTS=off) on Miniflare
# with workerd's inspector, then bench/profile.mjs profiles the bench Worker's isolate (the CRM
# app, the outbox wrapper, the relay and the queue consumer all run there) for PROFILE_SECONDS (10)
# of POST /contacts at PROFILE_CONNECTIONS (4) at a time, prints the top functions and writes
# bench/results/events-<on|off>.cpuprofile. It also prints the inspector's other targets (the
# local D1 and queue broker run in Miniflare's own isolates, which the profile does not see) and
# the server's CPU per request by process (bench/lib/cpu.mjs) over the same load.
source "$(dirname "$0")/../../scripts/lib.sh"
if [ "${SKIP_INSTALL:-}" = "1" ]; then export PATH="$ROOT/node_modules/.bin:$PATH"; else ensure_deps; fi

BENCH="$ROOT/bench"
CONFIG="$BENCH/workers/crm-events/wrangler.bench.toml"
MODE="${PROFILE_EVENTS:-on}"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/buildly-profile-events.XXXXXX")"
SERVER=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_groups $SERVER # unquoted: none started yet, nothing to stop
  [ "$status" != 0 ] && [ -f "$WORK/server.log" ] && tail -n 20 "$WORK/server.log" >&2
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

read -r PORT INSPECTOR <<<"$(free_ports 2)"
echo "building the bench Worker's bundle (unminified)"
(cd "$(dirname "$CONFIG")" && wrangler deploy --dry-run --no-minify --outdir dist -c "$(basename "$CONFIG")" >/dev/null)
wrangler d1 migrations apply DB --local -c "$CONFIG" --persist-to "$WORK/state" >/dev/null
EXTRA=()
[ "$MODE" = off ] && EXTRA=(--var EVENTS_OUTBOX=off)
setsid node "$BENCH/lib/serve.mjs" --persist "$WORK/state" --port "$PORT" --inspector-port "$INSPECTOR" "${EXTRA[@]}" "$CONFIG" >"$WORK/server.log" 2>&1 </dev/null &
SERVER=$!
for _ in $(seq 1 240); do
  curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$PORT/__outbox" 2>/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { echo "the bench Worker exited before it was ready" >&2; exit 1; }
  sleep 0.5
done
echo "inspector targets: $(curl -fsS "http://127.0.0.1:$INSPECTOR/json/list" | node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s).map((t)=>t.id??t.title).join(", ")))')"
mkdir -p "$BENCH/results"
node "$BENCH/lib/cpu.mjs" snapshot "$SERVER" >"$WORK/cpu-before.json"
node "$BENCH/profile.mjs" --inspector "127.0.0.1:$INSPECTOR" --worker buildly-bench-crm-events --url "http://127.0.0.1:$PORT/contacts" \
  --body '{"first_name":"Profile","last_name":"Writer","email":"p{n}@bench.example"}' \
  --seconds "${PROFILE_SECONDS:-10}" --connections "${PROFILE_CONNECTIONS:-4}" --out "$BENCH/results/events-$MODE.cpuprofile" \
  --bundle "$(dirname "$CONFIG")/dist/index.js" --top "${PROFILE_TOP:-30}" | tee "$WORK/profile.md"
node "$BENCH/lib/cpu.mjs" snapshot "$SERVER" >"$WORK/cpu-after.json"
sleep 2
echo
echo "outbox: $(curl -fsS "http://127.0.0.1:$PORT/__outbox")"
REQUESTS="$(sed -n 's/^\([0-9]*\) requests in.*/\1/p' "$WORK/profile.md")"
echo "server CPU over the profile (profiler on, so higher than the bench's), per request by process: $(node "$BENCH/lib/cpu.mjs" diff "$WORK/cpu-before.json" "$WORK/cpu-after.json" "$REQUESTS")"
