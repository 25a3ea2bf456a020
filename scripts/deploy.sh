#!/usr/bin/env bash
# npm run deploy [-- --dry-run]: every Worker, logic services first, then the gateway, each
# after its D1 migrations (scripts/deploy.mjs says what it does; docs/deploying.md is the guide).
source "$(dirname "$0")/lib.sh"
if [ "${SKIP_INSTALL:-}" = "1" ]; then export PATH="$ROOT/node_modules/.bin:$PATH"; else ensure_deps; fi
build_console
exec node scripts/deploy.mjs "$@"
