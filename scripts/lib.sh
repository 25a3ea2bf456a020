# Shared by the scripts: install what the repo needs and put Node 22 (from node_modules) first on PATH.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
export WRANGLER_SEND_METRICS=false
export PNPM_VERSION=10.34.9
STATE_DIR="${BUILDLY_STATE_DIR:-$ROOT/.wrangler/state}"

# The Workers are found on disk (every workers/*/wrangler.toml, see scripts/lib/workers.mjs), so a
# service added by `npm run new-service` needs no edit here. Needs the install (smol-toml) first.
#   workers_list dirs|services|internal|databases|configs  (one a line; all but configs in deploy order)
workers_list() { node "$ROOT/scripts/lib/workers.mjs" "$1"; }
# read_workers ARRAY WHAT: the list into a bash array (fails, with set -e, when discovery fails).
read_workers() {
  local out
  out="$(workers_list "$2")"
  mapfile -t "$1" <<<"$out"
}

pnpm_() { npx -y "pnpm@$PNPM_VERSION" "$@"; }

ensure_deps() {
  # Fast when node_modules is already in step with the lockfile.
  if [ "${CI:-}" = "true" ]; then pnpm_ install --frozen-lockfile; else pnpm_ install --frozen-lockfile --prefer-offline; fi
  export PATH="$ROOT/node_modules/.bin:$PATH"
  node workers/gateway/scripts/copy-docs-assets.mjs >/dev/null
}

# Env types come from each wrangler.toml (`wrangler types`); regenerate after changing bindings.
regen_types() {
  # Vars are typed as strings rather than literals, so code reads them without casts.
  for w in workers/*/; do (cd "$w" && wrangler types --include-runtime=false --strict-vars=false >/dev/null); done
}

# Local secrets live in workers/<name>/.dev.vars (git-ignored); make the gateway's once.
ensure_dev_vars() {
  local f="$ROOT/workers/gateway/.dev.vars"
  if [ ! -f "$f" ] || ! grep -q '^SIGNING_KEYS_SECRET=' "$f"; then
    echo "SIGNING_KEYS_SECRET=$(node -e 'console.log(require("crypto").randomBytes(36).toString("base64url"))')" >> "$f"
    echo "wrote a new local SIGNING_KEYS_SECRET to $f"
  fi
}

# The console's files (apps/console, Vite) into workers/console/public, which its Worker serves;
# fails when the first page's JavaScript is over its size budget (apps/console/scripts/size.mjs).
build_console() {
  node "$ROOT/apps/console/scripts/build.mjs"
}
