#!/usr/bin/env bash
# Write throughput with events on and off (npm run bench:events):
#   (e0) POST /contacts served by the CRM's code with EVENTS_OUTBOX = "off" (no outbox rows),
#   (e1) the same with events on: the outbox triggers, the context statements around each write
#        and the relay window after it (bench/workers/crm-events; its own queue consumer acks),
#   (e1w) a breakdown, not a goal line: events on with no queue bound to the wrapper, the outbox
#        rows written by the triggers with their context statements but no relay, queue broker or
#        consumer (the write path's own share; (e1) - (e1w) is the relay's, the broker's and the
#        consumer's).
# One bench Worker serves the three rows, as `npm run bench` serves the platform, on Miniflare
# directly (bench/lib/serve.mjs: the config's bundle, no dev proxy, log lines dropped), on a free
# port with temporary state; a request's x-bench-row header picks its row, and each row writes to
# a database of its own. The rows are measured interleaved in short segments (see the loop below),
# so each (e0)/(e1) pair is measured back to back; the cost is the median over the pairs, printed
# with its range, and the table shows each row's medians over its segments with the server's CPU
# per request (bench/lib/cpu.mjs: its workerd and Miniflare's Node process). Afterwards it checks
# that every write the events-on row accepted has its event in the outbox, relayed and consumed,
# and that the off row's database has none.
# Goal: events cost at most 10% of write throughput. Settings: BENCH_CONNECTIONS (20),
# BENCH_DURATION (12 s measured per row and round), BENCH_SEGMENT (3 s: a round has
# DURATION/SEGMENT blocks), BENCH_WARMUP (1 s before each segment), BENCH_THREADS (1),
# BENCH_ROUNDS (1).
source "$(dirname "$0")/../../scripts/lib.sh"

CONNECTIONS="${BENCH_CONNECTIONS:-20}"
DURATION="${BENCH_DURATION:-12}"
SEGMENT="${BENCH_SEGMENT:-3}"
WARMUP="${BENCH_WARMUP:-1}"
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

read -r PORT <<<"$(free_ports 1)"
echo "building the bench Worker's bundle (wrangler deploy --dry-run --outdir dist)"
(cd "$(dirname "$CONFIG")" && wrangler deploy --dry-run --outdir dist -c "$(basename "$CONFIG")" >/dev/null)
# One instance serves the three rows (the x-bench-row header picks one), each with its own database:
# the rows share one workerd process and one isolate, so nothing about a process (where its
# memory landed, its JIT's state, its scheduling) can favour one row.
for db in DB DB_OFF DB_WRITE; do
  wrangler d1 migrations apply "$db" --local -c "$CONFIG" --persist-to "$WORK/state" >/dev/null
done
setsid node "$BENCH/lib/serve.mjs" --persist "$WORK/state" --port "$PORT" "$CONFIG" >"$WORK/server.log" 2>&1 </dev/null &
SERVER=$!
PGIDS+=("$SERVER")
deadline=$((SECONDS + 300))
until curl -fsS -o /dev/null --max-time 3 "http://127.0.0.1:$PORT/__outbox" 2>/dev/null; do
  ((SECONDS < deadline)) || { echo "the bench Worker on port $PORT is not ready after 300 s" >&2; exit 1; }
  sleep 0.5
done
echo "  the bench Worker: http://127.0.0.1:$PORT (rows by the x-bench-row header: off, on, write)"

export BENCH_REPORT="$BENCH/wrk/report.lua"
run_wrk() { # seconds, row
  BENCH_ROW=$2 timeout --kill-after=5 $(($1 + 15)) wrk -t"$THREADS" -c"$CONNECTIONS" -d"${1}s" --timeout 10s -s "$BENCH/events/contacts.lua" "http://127.0.0.1:$PORT" | sed -n 's/^BENCH_RESULT //p'
}
# The rows are measured interleaved, not one after another: each round is BLOCKS blocks, a block
# one segment of each row (WARMUP s, then SEGMENT s measured), in the order (e0) (e1) (e1w) and
# in the next block reversed, (e1w) (e1) (e0). So (e0) and (e1) are always measured back to back,
# each first as often as second, and a drift of the machine (load, the databases growing, a
# WAL checkpoint) lands on both rows of a pair about equally; the cost is the median over the
# pairs, shown with its range. The warm-up also lets the previous segment's relay tail (its last
# window, its marks, the queue's batch timeout of 1 s) end, mostly, before the next measurement of
# the shared process starts.
BLOCKS=$(((DURATION + SEGMENT - 1) / SEGMENT))
RESULTS="$WORK/results.jsonl"
: >"$RESULTS"
n=0
for round in $(seq 1 "$ROUNDS"); do
  echo "round $round/$ROUNDS: $BLOCKS blocks, each (e0) (e1) (e1w) or reversed, ${WARMUP}s warm-up + ${SEGMENT}s measured per segment"
  for block in $(seq 1 "$BLOCKS"); do
    b=$(((round - 1) * BLOCKS + block))
    if ((b % 2)); then order="off on write"; else order="write on off"; fi
    line="  block $b:"
    for id in $order; do
      case $id in off) letter=e0 ;; on) letter=e1 ;; write) letter=e1w ;; esac
      n=$((n + 1))
      warm="$(run_wrk "$WARMUP" "$id")"
      node "$BENCH/lib/cpu.mjs" snapshot "$SERVER" >"$WORK/cpu-$n-before.json"
      result="$(run_wrk "$SEGMENT" "$id")"
      node "$BENCH/lib/cpu.mjs" snapshot "$SERVER" >"$WORK/cpu-$n-after.json"
      [ -n "$result" ] && [ -n "$warm" ] || { echo "($letter) wrk reported nothing" >&2; exit 1; }
      printf '{"n":%s,"id":"%s","letter":"%s","round":%s,"block":%s,"warm":%s,"result":%s}\n' "$n" "$id" "$letter" "$round" "$b" "$warm" "$result" >>"$RESULTS"
      line+=" ($letter) $(node -e 'console.log(JSON.parse(process.argv[1]).rps.toFixed(0))' "$result")/s"
    done
    echo "$line"
  done
done
# Server CPU per request of each segment, from the snapshots around its measured part.
while IFS= read -r row; do
  read -r n requests < <(node -e 'const r = JSON.parse(process.argv[1]); console.log(r.n, r.result.requests)' "$row")
  cpu="$(node "$BENCH/lib/cpu.mjs" diff "$WORK/cpu-$n-before.json" "$WORK/cpu-$n-after.json" "$requests")"
  echo "${row%\}},\"cpu\":$cpu}"
done <"$RESULTS" >"$RESULTS.cpu"
mv "$RESULTS.cpu" "$RESULTS"
sleep 3 # the last relays and the queue's batch timeout
ON_OUTBOX="$(curl -fsS "http://127.0.0.1:$PORT/__outbox?row=on")"
OFF_OUTBOX="$(curl -fsS "http://127.0.0.1:$PORT/__outbox?row=off")"
WRITE_OUTBOX="$(curl -fsS "http://127.0.0.1:$PORT/__outbox?row=write")"

SETTINGS="wrk, $THREADS thread(s), $CONNECTIONS connections; $ROUNDS round(s) of $BLOCKS blocks, each block one segment per row (${WARMUP} s warm-up + ${SEGMENT} s measured) in the order (e0) (e1) (e1w), reversed every other block; \
wrk, workerd (Miniflare directly, no dev proxy) and local D1 share this machine's $(nproc) cores (and whatever else runs on it): local numbers, to compare the rows. $(date -u +%Y-%m-%dT%H:%M:%SZ)."
mkdir -p "$BENCH/results"
# The pairs' statistics are npm run bench's (bench/lib/paired.mjs).
PAIRED_LIB="$BENCH/lib/paired.mjs" node --input-type=module -e '
  const fs = await import("node:fs");
  const { describe, median, spread } = await import(process.env.PAIRED_LIB);
  const [file, goal, settings, onOutbox, offOutbox, writeOutbox] = process.argv.slice(1);
  const rows = fs.readFileSync(file, "utf8").split("\n").filter(Boolean).map(JSON.parse);
  const of = (id) => rows.filter((r) => r.id === id);
  const line = (id, letter, label) => {
    const rs = of(id).map((r) => r.result);
    const cpu = median(of(id).map((r) => r.cpu?.cpu_ms_per_req).filter(Number.isFinite));
    return `| (${letter}) | ${label} | ${median(rs.map((r) => r.rps)).toFixed(0)} | ${median(rs.map((r) => r.p50_ms)).toFixed(1)} | ${median(rs.map((r) => r.p99_ms)).toFixed(1)} | ${Number.isFinite(cpu) ? cpu.toFixed(3) : "-"} | ${rs.reduce((n, r) => n + r.errors.status + r.errors.timeout, 0)} |`;
  };
  console.log("| row | scenario | writes/s | p50 ms | p99 ms | server CPU ms/req | errors |");
  console.log("| --- | --- | ---: | ---: | ---: | ---: | ---: |");
  console.log(line("off", "e0", "POST /contacts, events off (EVENTS_OUTBOX=off)"));
  console.log(line("on", "e1", "POST /contacts, events on (outbox in the same batch, relay to a queue)"));
  console.log(line("write", "e1w", "breakdown: events on, no relay (outbox rows and context only; no queue or consumer)"));
  console.log("");
  console.log(settings);
  // One pair per block: (e0) and (e1) measured back to back; the cost is the median of the pairs.
  const blocks = [...new Set(rows.map((r) => r.block))].map((b) => Object.fromEntries(rows.filter((r) => r.block === b).map((r) => [r.id, r])));
  const costs = blocks.map((b) => (1 - b.on.result.rps / b.off.result.rps) * 100);
  const writeCosts = blocks.map((b) => (1 - b.write.result.rps / b.off.result.rps) * 100);
  const pct = (n) => `${n.toFixed(1)}%`;
  const cost = median(costs);
  console.log("");
  console.log(`events cost ${cost.toFixed(1)}% of write throughput, ${describe(spread(costs), pct)} (goal <= ${goal}%: ${cost <= Number(goal) ? "met" : "NOT met"})`);
  console.log(`the write path alone ((e1w) against (e0)): ${median(writeCosts).toFixed(1)}%, ${describe(spread(writeCosts), pct)}`);
  const cpuDiff = (a, b) => median(blocks.map((k) => k[a].cpu?.cpu_ms_per_req - k[b].cpu?.cpu_ms_per_req).filter(Number.isFinite));
  const [d1, dw, dr] = [cpuDiff("on", "off"), cpuDiff("write", "off"), cpuDiff("on", "write")];
  const signed = (n) => (n >= 0 ? "+" : "") + n.toFixed(3);
  if ([d1, dw, dr].every(Number.isFinite))
    console.log(`server CPU per write the outbox adds (medians of the blocks): ${signed(d1)} ms, of which the write path (triggers, context statements) ${signed(dw)} ms and the relay (claim, send, mark), queue broker and consumer ${signed(dr)} ms`);
  const acceptedOf = (id) => of(id).reduce((n, r) => n + (r.warm.requests - r.warm.errors.status) + (r.result.requests - r.result.errors.status), 0);
  const accepted = acceptedOf("on");
  const o = JSON.parse(onOutbox);
  const f = JSON.parse(offOutbox);
  const w = JSON.parse(writeOutbox);
  // wrk does not count requests in flight when it stops, which the server may still have taken.
  const fine = o.rows >= accepted && o.relayed === o.rows && o.consumed === o.rows && f.rows === 0 && w.rows >= acceptedOf("write") && w.relayed === 0;
  console.log(`check: events on: ${accepted} writes answered 2xx (warm-ups included), ${o.rows} outbox rows, ${o.relayed} relayed, ${o.consumed} consumed from the queue; events off: ${f.rows} rows; no relay: ${w.rows} rows, ${w.relayed} relayed: ${fine ? "ok" : "MISMATCH"}`);
  if (!fine) process.exitCode = 4;
' "$RESULTS" "$GOAL" "$SETTINGS" "$ON_OUTBOX" "$OFF_OUTBOX" "$WRITE_OUTBOX" | tee "$WORK/table.md"
cp "$WORK/table.md" "$BENCH/results/events.md"
echo "(written to bench/results/events.md)"
