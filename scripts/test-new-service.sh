#!/usr/bin/env bash
# Proves `npm run new-service` end to end, in a throwaway copy of the repository (run by
# scripts/test.sh; alone: bash scripts/test-new-service.sh). In the copy it
#   1. scaffolds a service (`npm run new-service -- <name>`) and checks what it refuses;
#   2. type-checks and lints the new service, and runs its tests inside workerd;
#   3. runs `npm run deploy -- --dry-run`, which builds it and the gateway (with its new binding);
#   4. starts the platform as `npm run dev` does and, through the gateway over HTTP: logs in as
#      the demo admin and viewer, sees the service in /v1/services and /openapi.json, creates,
#      lists, reads, updates and deletes an item, checks the viewer may read but not write, and
#      that the new item's <name>.item.created event reaches GET /v1/events (within 15 s).
# The copy holds the tracked files as they are in the working tree (git ls-files) and no
# node_modules, as a fresh clone: the first `npm run new-service` installs them (from the pnpm store
# this machine already has, hard links, about a minute), which proves every npm script installs
# what it needs. Not a symlink to ours: pnpm refuses to work in a modules folder made for another
# path, and the command runs pnpm install. The copy is deleted afterwards, whatever happens.
source "$(dirname "$0")/lib.sh"
[ "${SKIP_INSTALL:-}" = "1" ] && export PATH="$ROOT/node_modules/.bin:$PATH" || ensure_deps

NAME="${NEW_SERVICE_NAME:-scaffold-check}"
COPY="$(mktemp -d "${TMPDIR:-/tmp}/buildly-new-service.XXXXXX")"
DEV_PID=""
cleanup() {
  local status=$?
  trap - EXIT INT TERM
  stop_groups $DEV_PID # unquoted: none started yet, nothing to stop
  if [ "$status" != 0 ] && [ -f "$COPY/dev.log" ]; then
    echo "--- the platform's log (last lines)" >&2
    tail -n 40 "$COPY/dev.log" >&2 || true
  fi
  rm -rf "$COPY"
  exit "$status"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

fail() { echo "test-new-service: $*" >&2; exit 1; }

echo "== copying the repository to $COPY"
git ls-files -z --cached --others --exclude-standard | while IFS= read -r -d '' f; do
  [ -e "$f" ] || continue
  mkdir -p "$COPY/$(dirname "$f")"
  cp -p "$f" "$COPY/$f"
done
[ -f "$ROOT/workers/gateway/.dev.vars" ] && cp "$ROOT/workers/gateway/.dev.vars" "$COPY/workers/gateway/.dev.vars"
cd "$COPY"
# The copy has no node_modules, as a fresh clone: each npm script must install what it needs.
unset SKIP_INSTALL
node -e '
  const scripts = JSON.parse(require("fs").readFileSync("package.json", "utf8")).scripts;
  const bad = Object.entries(scripts).filter(([, cmd]) => {
    const file = /^bash (\S+)/.exec(cmd)?.[1];
    const text = file && require("fs").existsSync(file) ? require("fs").readFileSync(file, "utf8") : "";
    return !text.includes("ensure_deps");
  });
  if (bad.length) { console.error("npm scripts that do not install what they need first:", bad); process.exit(1); }'
[ ! -e node_modules ] || fail "the copy has node_modules before any npm script ran"
echo "== npm run new-service -- webhooks, on the copy as cloned (no node_modules: the script installs them)"
out="$(npm run --silent new-service -- webhooks 2>&1)" && fail "new-service accepted \"webhooks\""
grep -q 'is a path the gateway serves itself' <<<"$out" || { echo "$out" >&2; fail "new-service on a fresh clone did not refuse \"webhooks\" for its name"; }
[ -x node_modules/.bin/wrangler ] || fail "npm run new-service did not install the dependencies"
export PATH="$COPY/node_modules/.bin:$PATH"

echo "== npm run new-service -- $NAME"
for bad in auth crm audit Bad-Name; do
  if npm run --silent new-service -- "$bad" >/dev/null 2>&1; then fail "new-service accepted \"$bad\""; fi
done
cmp -s workers/gateway/wrangler.toml "$ROOT/workers/gateway/wrangler.toml" || fail "a refused name changed the gateway's wrangler.toml"
npm run --silent new-service -- "$NAME"
if npm run --silent new-service -- "$NAME" >/dev/null 2>&1; then fail "new-service overwrote workers/$NAME"; fi
node -e '
  const { gatewayRegistry, logicServices } = await import(process.cwd() + "/scripts/lib/workers.mjs");
  const name = process.argv[1];
  const entry = gatewayRegistry().find((e) => e.name === name);
  const service = logicServices().find((s) => s.dir === name);
  if (!entry || !service || service.binding !== entry.binding || !service.entrypoint) {
    console.error("the gateway does not register and bind", name, JSON.stringify({ entry, service }));
    process.exit(1);
  }' --input-type=module "$NAME"
# The files' content, not only that they build: every placeholder filled, the names right.
if grep -rnE '__[A-Za-z]+__|\*\*[A-Z]+\*\*|TITLE' "workers/$NAME" --exclude-dir=node_modules; then fail "workers/$NAME still holds template placeholders (above)"; fi
TITLE="$(node -e 'const [w, ...r] = process.argv[1].split("-"); console.log([w[0].toUpperCase() + w.slice(1), ...r].join(" "))' "$NAME")"
[ "$(head -n1 "workers/$NAME/README.md")" = "# $TITLE service (\`workers/$NAME\`)" ] || fail "the README's title: $(head -n1 "workers/$NAME/README.md")"
grep -q "^name = \"buildly-$NAME\"" "workers/$NAME/wrangler.toml" || fail "the Worker's name in workers/$NAME/wrangler.toml"
grep -q "\"name\": \"@buildly/$NAME\"" "workers/$NAME/package.json" || fail "the package name in workers/$NAME/package.json"
grep -q 'title: "Buildly '"$TITLE"'"' "workers/$NAME/src/app.ts" || fail "the OpenAPI title in workers/$NAME/src/app.ts"
grep -q "entrypoint " "workers/gateway/worker-configuration.d.ts" || fail "the gateway's env types were not regenerated"
node scripts/event-triggers.mjs --check || fail "the new service's events migration is not what scripts/event-triggers.mjs writes for it"
grep -q "'$NAME.item.created'" "workers/$NAME/migrations/0002_events.sql" || fail "the events migration does not emit $NAME.item.created"

echo "== type check, lint and the service's own tests (inside workerd)"
tsc -p "workers/$NAME"
tsc -p workers/gateway
biome ci --colors=off "workers/$NAME" workers/gateway/wrangler.toml >/dev/null || { biome ci --colors=off "workers/$NAME"; fail "biome"; }
vitest run --project "$NAME"

echo "== npm run deploy -- --dry-run"
out="$(SKIP_INSTALL=1 bash scripts/deploy.sh --dry-run)" || { echo "$out"; fail "the deploy dry run failed"; }
echo "$out"
grep -q "^== $NAME " <<<"$out" || fail "the deploy dry run left $NAME out"
[ "$(grep '^== ' <<<"$out" | tail -n1 | cut -d' ' -f2)" = gateway ] || fail "the gateway is not deployed last"

echo "== the platform, as npm run dev serves it"
read -r PORT INSPECTOR <<<"$(free_ports 2)"
BUILDLY_STATE_DIR="$COPY/.state" PORT="$PORT" SKIP_INSTALL=1 setsid bash scripts/dev.sh --inspector-port "$INSPECTOR" >"$COPY/dev.log" 2>&1 </dev/null &
DEV_PID=$!
BASE="http://127.0.0.1:$PORT"
deadline=$((SECONDS + 300))
until curl -fsS -o /dev/null --max-time 3 "$BASE/health" 2>/dev/null; do
  kill -0 "$DEV_PID" 2>/dev/null || fail "the platform exited before it was ready"
  ((SECONDS < deadline)) || fail "the platform was not ready after 300 s"
  sleep 1
done
BASE="$BASE" NAME="$NAME" node --input-type=module -e '
  const { BASE, NAME } = process.env;
  const check = (ok, what) => { if (!ok) { console.error(`through the gateway: ${what}`); process.exit(1); } };
  async function token(user) {
    for (let i = 0; i < 6; i++) {
      const res = await fetch(`${BASE}/v1/auth/token`, { method: "POST", body: new URLSearchParams({ grant_type: "password", username: `${user}@demo.buildly.dev`, password: "buildly-demo-password" }) });
      if (res.ok) return (await res.json()).access_token;
      await new Promise((r) => setTimeout(r, 2000));
    }
    throw new Error(`no token for ${user}`);
  }
  const call = async (tok, method, path, body) => {
    const res = await fetch(`${BASE}${path}`, { method, headers: { authorization: `Bearer ${tok}`, ...(body ? { "content-type": "application/json" } : {}) }, body: body && JSON.stringify(body) });
    const text = await res.text();
    return { status: res.status, type: res.headers.get("content-type") ?? "", body: text ? JSON.parse(text) : null, ratelimit: res.headers.get("ratelimit") };
  };
  const admin = await token("admin");
  const viewer = await token("viewer");
  const services = await (await fetch(`${BASE}/v1/services`)).json();
  check(services.data.some((s) => s.name === NAME && s.health === "ok"), `/v1/services lists ${NAME} as healthy: ${JSON.stringify(services.data)}`);
  const doc = await (await fetch(`${BASE}/openapi.json`)).json();
  check(doc.paths[`/v1/${NAME}/items`]?.post && doc.paths[`/v1/${NAME}/items/{id}`]?.patch, "the aggregated OpenAPI document has the items routes");
  const anonymous = await fetch(`${BASE}/v1/${NAME}/items`);
  check(anonymous.status === 401, `no token: 401, got ${anonymous.status}`);
  const seeded = await call(admin, "GET", `/v1/${NAME}/items?limit=1`);
  check(seeded.status === 200 && seeded.body.data.length === 1 && seeded.body.next_cursor, `the demo items page: ${JSON.stringify(seeded)}`);
  check(seeded.ratelimit !== null, "rate limit headers on a service call");
  const created = await call(admin, "POST", `/v1/${NAME}/items`, { name: "Through the gateway", tags: ["e2e"] });
  check(created.status === 201 && created.body.name === "Through the gateway", `create: ${JSON.stringify(created)}`);
  const id = created.body.id;
  // Its event reaches the gateway: the outbox trigger, the relay, buildly-events, the consumer.
  const eventsPath = `/v1/events?type=${NAME}.item.created&subject=${id}`;
  let events;
  for (const until = Date.now() + 15_000; Date.now() < until; await new Promise((r) => setTimeout(r, 250))) {
    events = await call(admin, "GET", eventsPath);
    if (events.status !== 200 || events.body.data.length) break;
  }
  check(events.status === 200 && events.body.data.length === 1, `GET ${eventsPath} within 15 s: ${JSON.stringify(events)}`);
  const event = events.body.data[0];
  check(event.type === `${NAME}.item.created` && event.subject === id && event.source === `/buildly/${NAME}`, `the event: ${JSON.stringify(event)}`);
  check((await import("node:util")).isDeepStrictEqual(event.data, created.body) && event.actortype === "user", `the event carries the item and its actor: ${JSON.stringify(event)}`);
  const invalid = await call(admin, "POST", `/v1/${NAME}/items`, { name: "" });
  check(invalid.status === 422 && invalid.type.startsWith("application/problem+json"), `a bad body: ${JSON.stringify(invalid)}`);
  const read = await call(viewer, "GET", `/v1/${NAME}/items/${id}`);
  check(read.status === 200 && read.body.id === id, `the viewer reads: ${JSON.stringify(read)}`);
  const denied = await call(viewer, "POST", `/v1/${NAME}/items`, { name: "Viewer" });
  check(denied.status === 403 && denied.type.startsWith("application/problem+json"), `the viewer may not create: ${JSON.stringify(denied)}`);
  const updated = await call(admin, "PATCH", `/v1/${NAME}/items/${id}`, { status: "archived" });
  check(updated.status === 200 && updated.body.status === "archived", `update: ${JSON.stringify(updated)}`);
  const listed = await call(admin, "GET", `/v1/${NAME}/items?tag=e2e&status=archived`);
  check(listed.status === 200 && listed.body.data.map((x) => x.id).join() === id, `the filtered list: ${JSON.stringify(listed)}`);
  const me = await call(viewer, "GET", "/v1/auth/me");
  check(JSON.stringify(me.body.permissions?.[NAME]) === JSON.stringify(["read"]), `the viewer s permissions on ${NAME}: ${JSON.stringify(me.body.permissions)}`);
  const gone = await call(admin, "DELETE", `/v1/${NAME}/items/${id}`);
  check(gone.status === 204, `delete: ${gone.status}`);
  const missing = await call(admin, "GET", `/v1/${NAME}/items/${id}`);
  check(missing.status === 404 && missing.type.startsWith("application/problem+json"), `deleted: ${missing.status}`);
  console.log(`${NAME} through the gateway: registry, OpenAPI, auth, roles, rate limit headers, errors and every items route answer as they should; its events reach GET /v1/events`);
'
echo "new-service check passed"
