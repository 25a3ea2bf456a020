#!/usr/bin/env bash
# Applies every logic service's D1 migrations to the local state, then the demo data.
source "$(dirname "$0")/lib.sh"
[ "${SKIP_INSTALL:-}" = "1" ] && export PATH="$ROOT/node_modules/.bin:$PATH" || ensure_deps
# Every Worker with a D1 database bound as DB (found on disk: scripts/lib/workers.mjs).
read_workers DATABASES databases
for s in "${DATABASES[@]}"; do
  echo "migrating $s"
  wrangler d1 migrations apply DB --local -c "workers/$s/wrangler.toml" --persist-to "$STATE_DIR" >/dev/null
  if [ -f "workers/$s/seed/demo.sql" ]; then
    wrangler d1 execute DB --local -c "workers/$s/wrangler.toml" --persist-to "$STATE_DIR" --file "workers/$s/seed/demo.sql" >/dev/null
  fi
done
# File bodies for the seeded documents rows, listed in workers/documents/seed/bodies.json (key ->
# file). One bulk put; a put of the same key replaces it, so this is idempotent. The media type
# a download carries comes from D1, not from the object's metadata.
wrangler r2 bulk put buildly-documents --local -c workers/documents/wrangler.toml --persist-to "$STATE_DIR" \
  --filename workers/documents/seed/bodies.json >/dev/null
echo "local D1 migrated and demo data seeded in $STATE_DIR"
