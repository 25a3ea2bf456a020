#!/usr/bin/env bash
# Puts the local platform back to its first state: deletes the local state (every Worker's D1, R2,
# Durable Objects and queues under .wrangler/state, or $BUILDLY_STATE_DIR), then migrates and seeds
# the demo data again, as the first `npm run dev` did. The platform must be stopped first.
source "$(dirname "$0")/lib.sh"
[ "${SKIP_INSTALL:-}" = "1" ] && export PATH="$ROOT/node_modules/.bin:$PATH" || ensure_deps
PORT="${PORT:-8787}"
if curl -s -o /dev/null --max-time 2 "http://127.0.0.1:$PORT/health"; then
  echo "the platform is running on http://127.0.0.1:$PORT: stop npm run dev (Ctrl-C) first, then run npm run reset again" >&2
  exit 1
fi
case "$STATE_DIR" in
  "" | "/") echo "refusing to delete the state directory '$STATE_DIR'" >&2; exit 1 ;;
esac
rm -rf "$STATE_DIR"
echo "deleted the local state in $STATE_DIR"
SKIP_INSTALL=1 bash scripts/migrate.sh
echo "demo data restored: npm run dev starts the platform again"
