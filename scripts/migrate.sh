#!/usr/bin/env bash
# Applies every logic service's D1 migrations to the local state, then the demo data.
source "$(dirname "$0")/lib.sh"
[ "${SKIP_INSTALL:-}" = "1" ] && export PATH="$ROOT/node_modules/.bin:$PATH" || ensure_deps
for s in "${DATABASES[@]}"; do
  echo "migrating $s"
  wrangler d1 migrations apply DB --local -c "workers/$s/wrangler.toml" --persist-to "$STATE_DIR" >/dev/null
  wrangler d1 execute DB --local -c "workers/$s/wrangler.toml" --persist-to "$STATE_DIR" --file "workers/$s/seed/demo.sql" >/dev/null
done
# File bodies for the seeded documents rows (a put of the same key replaces it: idempotent).
wrangler r2 object put "buildly-documents/00000000-0000-4000-8000-000000000001/d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d01/v1" \
  --local -c workers/documents/wrangler.toml --persist-to "$STATE_DIR" \
  --file workers/documents/seed/statement-of-work.txt --content-type "text/plain; charset=utf-8" >/dev/null
echo "local D1 migrated and demo data seeded in $STATE_DIR"
