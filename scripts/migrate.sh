#!/usr/bin/env bash
# Applies every logic service's D1 migrations to the local state, then the demo data.
source "$(dirname "$0")/lib.sh"
[ "${SKIP_INSTALL:-}" = "1" ] && export PATH="$ROOT/node_modules/.bin:$PATH" || ensure_deps

# Safe while `npm run dev` runs on the same state: the platform's workerd holds the same SQLite
# files, and a write of ours that meets one of its writes fails with SQLITE_BUSY ("database is
# locked"). Each step is idempotent (migrations not yet applied, INSERT OR IGNORE, puts of the same
# keys), so a busy step is run again, at most MIGRATE_BUSY_ATTEMPTS times (12), waiting a little
# longer each time (1 s, 2 s, ... at most 5 s); any other failure stops at once.
BUSY_ATTEMPTS="${MIGRATE_BUSY_ATTEMPTS:-12}"
retry_busy() {
  local attempt=1 out
  while true; do
    if out="$("$@" 2>&1)"; then return 0; fi
    if ! grep -qE 'SQLITE_BUSY|database is locked' <<<"$out" || ((attempt >= BUSY_ATTEMPTS)); then
      echo "$out" >&2
      ((attempt > 1)) && echo "migrate: still busy after $attempt attempts: $*" >&2
      return 1
    fi
    local wait=$((attempt < 5 ? attempt : 5))
    echo "migrate: the state is busy (the running platform is writing to it); trying again in $wait s ($attempt/$BUSY_ATTEMPTS): ${*:1:4}" >&2
    sleep "$wait"
    attempt=$((attempt + 1))
  done
}

# Every Worker with a D1 database bound as DB (found on disk: scripts/lib/workers.mjs).
read_workers DATABASES databases
for s in "${DATABASES[@]}"; do
  echo "migrating $s"
  retry_busy wrangler d1 migrations apply DB --local -c "workers/$s/wrangler.toml" --persist-to "$STATE_DIR"
  if [ -f "workers/$s/seed/demo.sql" ]; then
    retry_busy wrangler d1 execute DB --local -c "workers/$s/wrangler.toml" --persist-to "$STATE_DIR" --file "workers/$s/seed/demo.sql"
  fi
done
# File bodies for the seeded documents rows, listed in workers/documents/seed/bodies.json (key ->
# file). One bulk put; a put of the same key replaces it, so this is idempotent. The media type
# a download carries comes from D1, not from the object's metadata.
retry_busy wrangler r2 bulk put buildly-documents --local -c workers/documents/wrangler.toml --persist-to "$STATE_DIR" \
  --filename workers/documents/seed/bodies.json
echo "local D1 migrated and demo data seeded in $STATE_DIR"
