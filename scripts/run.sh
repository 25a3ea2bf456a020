#!/usr/bin/env bash
# Runs a command after the install, for the npm scripts that are not bash scripts of their own
# (new-service, typecheck, lint, format, bench:webhooks): on a fresh clone they need node_modules
# (smol-toml, tsc, biome, ...) before they start. ensure_deps is fast when it is already in step.
# Usage: bash scripts/run.sh <command> [args...]
source "$(dirname "$0")/lib.sh"
[ "${SKIP_INSTALL:-}" = "1" ] && export PATH="$ROOT/node_modules/.bin:$PATH" || ensure_deps >&2
exec "$@"
