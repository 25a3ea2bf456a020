# Shared by the scripts: install what the repo needs and put Node 22 (from node_modules) first on PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export WRANGLER_SEND_METRICS=false
export PNPM_VERSION=10.34.9
STATE_DIR="${BUILDLY_STATE_DIR:-$ROOT/.wrangler/state}"
SERVICES=(crm documents appointments)

pnpm_() { npx -y "pnpm@$PNPM_VERSION" "$@"; }

ensure_deps() {
  # Fast when node_modules is already in step with the lockfile.
  if [ "${CI:-}" = "true" ]; then pnpm_ install --frozen-lockfile; else pnpm_ install --frozen-lockfile --prefer-offline; fi
  export PATH="$ROOT/node_modules/.bin:$PATH"
  node workers/gateway/scripts/copy-docs-assets.mjs >/dev/null
}

# Env types come from each wrangler.toml (`wrangler types`); regenerate after changing bindings.
regen_types() {
  for w in workers/*/; do (cd "$w" && wrangler types --include-runtime=false >/dev/null); done
}
