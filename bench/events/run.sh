#!/usr/bin/env bash
# Write throughput with events on and off (npm run bench:events):
#   (e0) POST /contacts served by the CRM's code with EVENTS_OUTBOX = "off" (no outbox rows),
#   (e1) the same with events on: the outbox triggers, the context statements around each write
#        and the relay window after it (bench/workers/crm-events; its own queue consumer acks),
#   (e1w) a breakdown, not a goal line: events on with EVENTS_RELAY = "off", the outbox rows
#        written by the triggers with their context statements but no relay, queue broker or consumer
#        (the write path's own share; (e1) - (e1w) is the relay's, the broker's and the consumer's).
# Each instance is served as `npm run bench` serves the platform, on Miniflare directly
# (bench/lib/serve.mjs: the config's bundle, no dev proxy, log lines dropped), on a free port with
# temporary state; rows alternate when BENCH_ROUNDS > 1 and the table shows medians, with the
# server's CPU per request (bench/lib/cpu.mjs: its workerd and Miniflare's Node process). Afterwards it checks that every write the events-on
# instance accepted has its event in the outbox, relayed, and that the off instance has none.
# Goal: events cost at most 10% of write throughput. Settings: BENCH_CONNECTIONS (20),
# BENCH_DURATION (10 s), BENCH_WARMUP (2 s), BENCH_THREADS (1), BENCH_ROUNDS (1).
source "$(dirname "$0")/../../scripts/lib.sh"

CONNECTIONS="${BENCH_CONNECTIONS:-20}"
DURATION="${BENCH_DURATION:-10}"
WARMUP="${BENCH_WARMUP:-2}"
THREADS="${BENCH_THREADS:-1}"
ROUNDS="${BENCH_ROUNDS:-1}"
GOAL=10
BENCH="$ROOT/bench"
CONFIG="$BENCH/workers/crm-events/wrangler.bench.toml"

WORK="$(mktemp -d "${TMPDIR:-/tmp}/buildly-bench-events.XXXXXX")"
PGIDS=()
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_groups "${PGIDS[@]}"
  if [ "$status" != 0 ]; then
    for f in "$WORK"/*.log; do
      [ -f "$f" ] || continue
      echo "bench failed (exit $status); the last lines of $(basename "$f"):" >&2
      tail -n 20 "$f" >&2 || true
    done
  fi
  rm -rf "$WORK"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

if [ "${SKIP_INSTALL:-}" = "1" ]; then export PATH="$ROOT/node_modules/.bin:$PATH"; else ensure_deps; fi
command -v wrk >/dev/null || { echo "wrk is needed (apt-get install wrk); scripts/bench.sh installs it" >&2; exit 1; }

read -r P_ON P_OFF P_WRITE <<<"$(free_ports 3)"
echo "building the bench Worker's bundle (wrangler deploy --dry-run --outdir dist)"
(cd "$(dirname "$CONFIG")" && wrangler deploy --dry-run --outdir dist -c "$(basename "$CONFIG")" >/dev/null)
declare -A PGID_OF
start() { # name, port, extra serve.mjs arguments...
  local name=$1 port=$2
  shift 2
  wrangler d1 migrations apply DB --local -c "$CONFIG" --persist-to "$WORK/$name" >/dev/null
  setsid node "$BENCH/lib/serve.mjs" --persist "$WORK/$name" --port "$port" "$@" "$CONFIG" >"$WORK/$name.log" 2>&1 </dev/null &
  PGIDS+=("$!")
  PGID_OF[$name]=$!
}
start on "$P_ON"
start off "$P_OFF" --var EVENTS_OUTBOX=off
start write "$P_WRITE" --var EVENTS_RELAY=off
for p in "$P_ON" "$P_OFF" "$P_WRITE"; do
  deadline=$((SECONDS + 300))
  until curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$p/__outbox" 2>/dev/null; do
    ((SECONDS < deadline)) || { echo "the bench Worker on port $p is not ready after 300 s" >&2; exit 1; }
    sleep 0.5
  done
done
echo "  events on: http://127.0.0.1:$P_ON, events off: http://127.0.0.1:$P_OFF, events on without the relay: http://127.0.0.1:$P_WRITE"

export BENCH_REPORT="$BENCH/wrk/report.lua"
run_wrk() { # seconds, base url
  timeout --kill-after=5 $(($1 + 15)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${1}s" --timeout 10s -s "$BENCH/events/contacts.lua" "$2" | sed -n 's/^BENCH_RESULT //p'
}
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
for round in $(seq 1 "$ROUNDS"); do
  for row in "off|e0|$P_OFF" "on|e1|$P_ON" "write|e1w|$P_WRITE"; do
    IFS='|' read -r id letter port <<<"$row"
    echo "($letter) POST /contacts, events $([ "$id" = write ] && echo "on, no relay" || echo "$id"): ${WARMUP}s warm-up, ${DURATION}s measured (round $round/$ROUNDS)"
    warm="$(run_wrk "$WARMUP" "http://127.0.0.1:$port")"
    node "$BENCH/lib/cpu.mjs" snapshot "${PGID_OF[$id]}" >"$WORK/cpu-before.json"
    result="$(run_wrk "$DURATION" "http://127.0.0.1:$port")"
    node "$BENCH/lib/cpu.mjs" snapshot "${PGID_OF[$id]}" >"$WORK/cpu-after.json"
    [ -n "$result" ] || { echo "($letter) wrk reported nothing" >&2; exit 1; }
    cpu="$(node "$BENCH/lib/cpu.mjs" diff "$WORK/cpu-before.json" "$WORK/cpu-after.json" "$(node -e 'console.log(JSON.parse(process.argv[1]).requests)' "$result")")"
    printf '{"id":"%s","letter":"%s","round":%s,"warm":%s,"result":%s,"cpu":%s}\n' "$id" "$letter" "$round" "$warm" "$result" "$cpu" >>"$RESULTS"
  done
done
sleep 3 # the last relays and the queue's batch timeout
ON_OUTBOX="$(curl -fsS "http://127.0.0.1:$P_ON/__outbox")"
OFF_OUTBOX="$(curl -fsS "http://127.0.0.1:$P_OFF/__outbox")"
WRITE_OUTBOX="$(curl -fsS "http://127.0.0.1:$P_WRITE/__outbox")"

SETTINGS="wrk, $THREADS thread(s), $CONNECTIONS connections, ${WARMUP} s warm-up + ${DURATION} s measured per row, $ROUNDS round(s); \
wrk, workerd (Miniflare directly, no dev proxy) and local D1 share this machine's $(nproc) cores (and whatever else runs on it): local numbers, to compare the two rows. $(date -u +%Y-%m-%dT%H:%M:%SZ)."
mkdir -p "$BENCH/results"
node -e '
  const fs = require("fs");
  const [file, goal, settings, onOutbox, offOutbox, writeOutbox] = process.argv.slice(1);
  const rows = fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map(JSON.parse);
  const median = (xs) => xs.sort((a, b) => a - b)[Math.floor(xs.length / 2)];
  const of = (id) => rows.filter((r) => r.id === id);
  const line = (id, letter, label) => {
    const rs = of(id).map((r) => r.result);
    const cpu = median(of(id).map((r) => r.cpu?.cpu_ms_per_req).filter(Number.isFinite));
    return `| (${letter}) | ${label} | ${median(rs.map((r) => r.rps)).toFixed(0)} | ${median(rs.map((r) => r.p50_ms)).toFixed(1)} | ${median(rs.map((r) => r.p99_ms)).toFixed(1)} | ${cpu === undefined ? "-" : cpu.toFixed(3)} | ${rs.reduce((n, r) => n + r.errors.status + r.errors.timeout, 0)} |`;
  };
  console.log("| row | scenario | writes/s | p50 ms | p99 ms | server CPU ms/req | errors |");
  console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
  console.log(line("off", "e0", "POST /contacts, events off (EVENTS_OUTBOX=off)"));
  console.log(line("on", "e1", "POST /contacts, events on (outbox in the same batch, relay to a queue)"));
  console.log(line("write", "e1w", "breakdown: events on, no relay (outbox rows and context only; no queue or consumer)"));
  console.log("");
  console.log(settings);
  const off = median(of("off").map((r) => r.result.rps));
  const on = median(of("on").map((r) => r.result.rps));
  const cost = (1 - on / off) * 100;
  console.log("");
  console.log(`events cost ${cost.toFixed(1)}% of write throughput (goal <= ${goal}%: ${cost <= Number(goal) ? "met" : "NOT met"})`);
  const cpuOf = (id) => median(of(id).map((r) => r.cpu?.cpu_ms_per_req).filter(Number.isFinite));
  const [c0, c1, cw] = [cpuOf("off"), cpuOf("on"), cpuOf("write")];
  if ([c0, c1, cw].every(Number.isFinite))
    console.log(`server CPU per write the outbox adds: +${(c1 - c0).toFixed(3)} ms, of which the write path (triggers, context statements) +${(cw - c0).toFixed(3)} ms and the relay (claim, send, mark), queue broker and consumer +${(c1 - cw).toFixed(3)} ms`);
  const acceptedOf = (id) => rows.filter((r) => r.id === id).reduce((n, r) => n + (r.warm.requests - r.warm.errors.status) + (r.result.requests - r.result.errors.status), 0);
  const accepted = acceptedOf("on");
  const o = JSON.parse(onOutbox);
  const f = JSON.parse(offOutbox);
  const w = JSON.parse(writeOutbox);
  // wrk does not count requests in flight when it stops, which the server may still have taken.
  const fine = o.rows >= accepted && o.relayed === o.rows && f.rows === 0 && w.rows >= acceptedOf("write") && w.relayed === 0;
  console.log(`check: events on: ${accepted} writes answered 2xx (warm-ups included), ${o.rows} outbox rows, ${o.relayed} relayed, ${o.consumed} consumed from the queue; events off: ${f.rows} rows; no relay: ${w.rows} rows, ${w.relayed} relayed: ${fine ? "ok" : "MISMATCH"}`);
  if (!fine) process.exitCode = 4;
' "$RESULTS" "$GOAL" "$SETTINGS" "$ON_OUTBOX" "$OFF_OUTBOX" "$WRITE_OUTBOX" | tee "$WORK/table.md"
cp "$WORK/table.md" "$BENCH/results/events.md"
echo "(written to bench/results/events.md)"
