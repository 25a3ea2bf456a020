#!/usr/bin/env bash
# A CPU profile of the gateway's hot path: the authenticated proxied read of row (c),
# GET /v1/crm/contacts/:id with a real token and rate limiting on (limits far above what the
# machine sends). Starts the platform on Miniflare (bench/lib/serve.mjs, as `npm run bench`
# does) with workerd's inspector on a free port, then bench/profile.mjs connects to the
# gateway's isolate, profiles PROFILE_SECONDS (10) of load at PROFILE_CONNECTIONS (4) at a
# time, prints the top functions and writes bench/results/gateway.cpuprofile. Stops what it
# started, also on error or Ctrl-C.
# PROFILE_ROW=h profiles row (h) instead: a page of 100 contacts joined with appointments and
# documents (bench/lib/mesh-setup.mjs makes them), one Worker after another (PROFILE_WORKERS,
# default: the gateway, the CRM, appointments, documents), each to bench/results/<row>-<worker>.cpuprofile.
# PROFILE_ROW=w1 profiles a workflow transition (bench:workflows row (w1)): POST .../transitions
# {"transition":"tick"} on one instance, to bench/results/w1-gateway.cpuprofile (the instance's
# Durable Object runs in the gateway's isolate, so the profile holds both). PROFILE_ROW=w2: the same
# across 100 instances, one after another (bench:workflows row (w2)), to bench/results/w2-gateway.cpuprofile.
# PROFILE_ROW=e profiles row (e): the minimal forwarder's read of the same contact over the CRM's
# RPC entrypoint, the CRM's isolate then the forwarder's (PROFILE_WORKERS), each to
# bench/results/e-<worker>.cpuprofile, the tables in bench/results/profile-e.md.
# The bundles are built unminified here, so the profile names every bundle line's source module.
source "$(dirname "$0")/../scripts/lib.sh"
ensure_deps
ensure_dev_vars

WORK="$(mktemp -d "${TMPDIR:-/tmp}/buildly-profile.XXXXXX")"
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

CONFIGS=(workers/gateway/wrangler.toml workers/crm/wrangler.toml workers/documents/wrangler.toml workers/appointments/wrangler.toml workers/credentials/wrangler.toml)
echo "building the Workers' bundles"
for c in "${CONFIGS[@]}"; do (cd "$(dirname "$c")" && wrangler deploy --dry-run --no-minify --outdir dist >/dev/null); done
FORWARDER=bench/workers/forwarder/wrangler.bench.toml
(cd "$(dirname "$FORWARDER")" && wrangler deploy --dry-run --no-minify --outdir dist -c "$(basename "$FORWARDER")" >/dev/null)
echo "preparing state in $WORK"
BUILDLY_STATE_DIR="$WORK/platform" SKIP_INSTALL=1 bash scripts/migrate.sh >/dev/null

read -r PORT INSPECTOR P_FORWARD <<<"$(free_ports 3)"
BIG='{"limit":100000000,"window_seconds":60}'
LIMITS="{\"user\":$BIG,\"client\":$BIG,\"organization\":$BIG,\"ip\":$BIG,\"routes\":[],\"max\":{\"user\":$BIG,\"client\":$BIG,\"organization\":$BIG}}"
# The forwarder (row (e)) serves on a port of its own, beside the platform as in `npm run bench`.
setsid node bench/lib/serve.mjs --persist "$WORK/platform" --port "$PORT" --inspector-port "$INSPECTOR" --var "RATE_LIMITS=$LIMITS" \
  --socket "buildly-bench-forwarder=$P_FORWARD" "${CONFIGS[@]}" "$FORWARDER" >"$WORK/server.log" 2>&1 </dev/null &
SERVER=$!
for _ in $(seq 1 240); do
  curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$PORT/health" 2>/dev/null && break
  kill -0 "$SERVER" 2>/dev/null || { echo "the platform exited before it was ready" >&2; exit 1; }
  sleep 0.5
done

json_field() { node -e 'let s="";process.stdin.on("data",(d)=>(s+=d)).on("end",()=>console.log(JSON.parse(s)[process.argv[1]]))' "$1"; }
TOKEN=""
for _ in 1 2 3 4 5 6; do
  TOKEN="$(curl -fsS --max-time 30 "http://127.0.0.1:$PORT/v1/auth/token" -d grant_type=password -d username=admin@demo.buildly.dev \
    -d password=buildly-demo-password | json_field access_token)" && break
  sleep 3
done
[ -n "$TOKEN" ] || { echo "no access token" >&2; exit 1; }
mkdir -p bench/results
if [ "${PROFILE_ROW:-c}" = h ]; then
  echo "creating 100 contacts with appointments and documents (row h)"
  TAG="$(node bench/lib/mesh-setup.mjs "http://127.0.0.1:$PORT" "$TOKEN" 100)"
  URL="http://127.0.0.1:$PORT/v1/crm/contacts?limit=100&tag=$TAG&join=appointments,documents"
  read -r -a WORKERS <<<"${PROFILE_WORKERS:-buildly-gateway buildly-crm buildly-appointments buildly-documents}"
  : >bench/results/profile-h.md
  for w in "${WORKERS[@]}"; do
    dir="workers/${w#buildly-}"
    echo "== $w while loading row (h)" | tee -a bench/results/profile-h.md
    node bench/profile.mjs --inspector "127.0.0.1:$INSPECTOR" --worker "$w" --url "$URL" --header "authorization: Bearer $TOKEN" \
      --seconds "${PROFILE_SECONDS:-10}" --connections "${PROFILE_CONNECTIONS:-4}" --out "bench/results/h-$w.cpuprofile" \
      --bundle "$dir/dist/index.js" | tee -a bench/results/profile-h.md
  done
  exit 0
fi
if [ "${PROFILE_ROW:-c}" = w1 ] || [ "${PROFILE_ROW:-c}" = w2 ]; then
  post() { curl -fsS --max-time 30 -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' -d "$2" "http://127.0.0.1:$PORT$1"; }
  TEMPLATE="$(post /v1/workflows/templates '{"name":"Profile counter","initial_state":"open","states":[{"key":"open","name":"Open"},{"key":"closed","name":"Closed","terminal":true}],"transitions":[{"key":"tick","name":"Tick","from":["open"],"to":"open"},{"key":"close","name":"Close","from":["open"],"to":"closed"}]}' | json_field id)"
  URLS=()
  for _ in $(seq 1 "$([ "$PROFILE_ROW" = w2 ] && echo 100 || echo 1)"); do
    INSTANCE="$(post /v1/workflows/instances "{\"template_id\":\"$TEMPLATE\"}" | json_field id)"
    URLS+=(--url "http://127.0.0.1:$PORT/v1/workflows/instances/$INSTANCE/transitions")
  done
  node bench/profile.mjs --inspector "127.0.0.1:$INSPECTOR" --worker buildly-gateway \
    "${URLS[@]}" --body '{"transition":"tick"}' --header "authorization: Bearer $TOKEN" \
    --seconds "${PROFILE_SECONDS:-10}" --connections "${PROFILE_CONNECTIONS:-4}" --out "bench/results/$PROFILE_ROW-gateway.cpuprofile" \
    --bundle workers/gateway/dist/index.js |
    tee "bench/results/profile-$PROFILE_ROW.md"
  exit 0
fi
ID="$(curl -fsS -H "authorization: Bearer $TOKEN" -H 'content-type: application/json' \
  -d '{"first_name":"Profile","last_name":"Read","email":"profile@example.com"}' "http://127.0.0.1:$PORT/v1/crm/contacts" | json_field id)"
if [ "${PROFILE_ROW:-c}" = e ]; then
  read -r -a WORKERS <<<"${PROFILE_WORKERS:-buildly-crm buildly-bench-forwarder}"
  : >bench/results/profile-e.md
  for w in "${WORKERS[@]}"; do
    case "$w" in buildly-bench-forwarder) bundle=bench/workers/forwarder/dist/index.js ;; *) bundle="workers/${w#buildly-}/dist/index.js" ;; esac
    echo "== $w while loading row (e)" | tee -a bench/results/profile-e.md
    node bench/profile.mjs --inspector "127.0.0.1:$INSPECTOR" --worker "$w" --url "http://127.0.0.1:$P_FORWARD/v1/crm/contacts/$ID" \
      --seconds "${PROFILE_SECONDS:-10}" --connections "${PROFILE_CONNECTIONS:-4}" --out "bench/results/e-$w.cpuprofile" \
      --bundle "$bundle" | tee -a bench/results/profile-e.md
  done
  exit 0
fi
node bench/profile.mjs --inspector "127.0.0.1:$INSPECTOR" --worker buildly-gateway \
  --url "http://127.0.0.1:$PORT/v1/crm/contacts/$ID" --header "authorization: Bearer $TOKEN" \
  --seconds "${PROFILE_SECONDS:-10}" --connections "${PROFILE_CONNECTIONS:-4}" --out bench/results/gateway.cpuprofile \
  --bundle workers/gateway/dist/index.js |
  tee bench/results/profile.md
