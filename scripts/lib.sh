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

# Servers the benches start each run in a session of their own (setsid), so a server's pid is also
# the id of a process group holding it and its workerd children.
free_ports() { # count: distinct free ports on 127.0.0.1 (all held open until every one is chosen)
  node -e '
    const net = require("node:net");
    const n = Number(process.argv[1]); const servers = [];
    (function next() {
      if (servers.length === n) { console.log(servers.map((s) => s.address().port).join(" ")); servers.forEach((s) => s.close()); return; }
      const s = net.createServer().listen(0, "127.0.0.1", () => { servers.push(s); next(); });
    })();' "$1"
}
stop_groups() { # pgid...: TERM every process group, wait up to 10 s for them to end, KILL what is left
  local g alive
  for g in "$@"; do kill -TERM -- "-$g" 2>/dev/null || true; done
  for _ in $(seq 1 50); do
    alive=0
    for g in "$@"; do kill -0 -- "-$g" 2>/dev/null && alive=1; done
    [ "$alive" = 0 ] && break
    sleep 0.2
  done
  for g in "$@"; do kill -KILL -- "-$g" 2>/dev/null || true; done
}
