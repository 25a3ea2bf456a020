import path from "node:path";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";
import { gatewayRegistry, internalWorkers, logicServices } from "../../scripts/lib/workers.mjs";

/**
 * The gateway under test talks to the real logic services: their Workers, built by
 * `wrangler deploy --dry-run --outdir dist` (the test script does that first), run as
 * auxiliary Workers with their own D1. The runner gets the same D1 databases only so
 * the setup file can apply each service's migrations to them. The services are every
 * workers/<name>/wrangler.toml but the gateway's (scripts/lib/workers.mjs), with the bindings
 * those files declare and the entrypoint the gateway's own [[services]] binding names, so a
 * service added by `npm run new-service` runs here without an edit.
 */
const SERVICES = logicServices().map((w) => {
  if (!w.entrypoint) throw new Error(`workers/${w.dir} is not bound in workers/gateway/wrangler.toml ([[services]] with service = "${w.name}")`);
  const d1 = w.d1.find((d) => d.binding === "DB");
  if (!d1) throw new Error(`workers/${w.dir}/wrangler.toml has no D1 database bound as DB`);
  const vars = Object.fromEntries(Object.entries(w.vars).map(([k, v]) => [k, typeof v === "string" ? v : JSON.stringify(v)]));
  return {
    name: w.dir,
    script: w.name,
    entrypoint: w.entrypoint,
    // The prefix of the runner's bindings for this service's database: CRM_DB, CRM_MIGRATIONS.
    key: w.dir.toUpperCase().replaceAll("-", "_"),
    d1: `${w.dir}-db`,
    migrationsDir: path.join(w.path, d1.migrations_dir ?? "migrations"),
    r2: Object.fromEntries(w.r2.map((b) => [b.binding, `${w.dir}-${b.binding.toLowerCase()}`])),
    durableObjects: Object.fromEntries(w.durableObjects.map((o) => [o.name, { className: o.class_name, useSQLite: w.sqliteClasses.includes(o.class_name) }])),
    vars,
    // Their outbox relays to the gateway's consumer, as in production ([[queues.producers]]).
    queueProducers: Object.fromEntries(((w.config.queues?.producers ?? []) as { binding: string; queue: string }[]).map((q) => [q.binding, q.queue])),
  };
});

/**
 * The internal Workers (workers/credentials: the passkey verification stack), run the same way from
 * their bundles: the gateway's own [[services]] bindings reach them, as in production.
 */
const INTERNAL = internalWorkers().map((w) => {
  if (!w.binding) throw new Error(`workers/${w.dir} is not bound in workers/gateway/wrangler.toml ([[services]] with service = "${w.name}")`);
  return { name: w.dir, script: w.name };
});

/** The registry as the gateway's wrangler.toml declares it, with shorter deadlines where a test needs them. */
const TEST_TIMEOUTS: Record<string, number> = { documents: 60000 };
const REGISTRY = gatewayRegistry().map((e) => (e.name in TEST_TIMEOUTS ? { ...e, timeout_ms: TEST_TIMEOUTS[e.name] } : e));

/**
 * A Worker that stands for a service that echoes, hangs or breaks: it lets the tests see
 * exactly what the gateway forwards, and check deadlines and 502s. Not a stand-in for a
 * real logic service (those run from their own bundles above).
 */
const FIXTURE_SERVICE = `
import { DurableObject, WorkerEntrypoint } from "cloudflare:workers";
let brokenDescribes = 0;
export class FixtureService extends WorkerEntrypoint {
  // The gateway's call (callService): as the services' shared entrypoint, the context from its header, the header taken off.
  async fetch(request) {
    const raw = request.headers.get("x-buildly-identity-context");
    const headers = new Headers(request.headers);
    headers.delete("x-buildly-identity-context");
    return this.handle(new Request(request, { headers }), raw === null ? undefined : JSON.parse(raw));
  }
  async handle(request, context) {
    const url = new URL(request.url);
    if (url.pathname === "/describe-count") return Response.json({ describes: brokenDescribes });
    if (url.pathname.startsWith("/hang")) await new Promise((r) => setTimeout(r, 5000));
    if (url.pathname.startsWith("/slow")) await new Promise((r) => setTimeout(r, 250));
    if (url.pathname.startsWith("/throw")) throw new Error("secret internal detail: db password is hunter2");
    if (url.pathname === "/openapi.json") return new Response("nope", { status: 500 });
    if (url.pathname.startsWith("/cacheable")) {
      return Response.json({ ok: true }, { headers: { "cache-control": url.searchParams.get("cc"), vary: "Accept-Encoding" } });
    }
    if (url.pathname.startsWith("/big")) {
      await request.arrayBuffer();
      const body = new Uint8Array(200000).map((_, i) => (i * 31 + Date.now()) % 251);
      return new Response(body, { status: 201, headers: { "content-type": "application/octet-stream" } });
    }
    let bytes = 0;
    const digest = new crypto.DigestStream("SHA-256");
    const w = digest.getWriter();
    if (request.body) {
      const reader = request.body.getReader();
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        bytes += value.byteLength;
        await w.write(value);
      }
    }
    await w.close();
    const sha256 = [...new Uint8Array(await digest.digest)].map((b) => b.toString(16).padStart(2, "0")).join("");
    return Response.json(
      { method: request.method, url: request.url, headers: Object.fromEntries(request.headers), bytes, sha256, context },
      { headers: { "set-cookie": "leak=1", "x-fixture": "yes", location: "/things/1" } },
    );
  }
  async health() { throw new Error("down"); }
  // The data mesh's view: one searchable model whose contact_id references crm.contacts.
  async describe() {
    return { service: "fixture", models: [{ name: "things", path: "/things", title: "Thing", searchable: true, personal_data: { fields: [], found_by: {}, erasure: { action: "keep", legal_basis: "test fixture" } }, fields: [
      { name: "id", type: "uuid" },
      { name: "name", type: "string" },
      { name: "contact_id", type: "uuid", nullable: true, references: { service: "crm", model: "contacts" } },
      { name: "links", type: "array" },
      { name: "links[].contact_id", type: "uuid", nullable: true, references: { service: "crm", model: "contacts" } },
    ] }] };
  }
  // Answers only queries about "fixture"; "boom" throws, "slowpoke" outlives the 500 ms deadline.
  async search(query, models, limit, context) {
    if (query.includes("boom")) throw new Error("secret internal detail: search index corrupted");
    if (query.includes("slowpoke")) await new Promise((r) => setTimeout(r, 5000));
    if (!query.includes("fixture")) return { ok: true, data: [] };
    return { ok: true, data: [{ id: "00000000-0000-4000-8000-00000000f001", model: "things", name: query, type: "thing", description: context.organization_id, score: 1 }] };
  }
  // Down: a write referencing a fixture record cannot be checked.
  async getMany() { throw new Error("fixture records are unavailable"); }
}
/** A second service on the same code, whose gadgets reference the fixture's things (to see a check fail closed). */
export class FixtureMirror extends FixtureService {
  async describe() {
    return { service: "mirror", models: [{ name: "gadgets", path: "/gadgets", title: "Gadget", searchable: false, personal_data: { fields: [], found_by: {}, erasure: { action: "keep", legal_basis: "test fixture" } }, fields: [
      { name: "id", type: "uuid" },
      { name: "thing_id", type: "uuid", nullable: true, references: { service: "fixture", model: "things" } },
    ] }] };
  }
}
/** A service that cannot describe itself (it counts the attempts, at GET /describe-count). */
export class FixtureBroken extends FixtureService {
  async describe() {
    brokenDescribes++;
    throw new Error("secret internal detail: catalog lost");
  }
}
/** A rate limiter that cannot be reached: every call fails. */
export class DownLimiter extends DurableObject {
  admit() { throw new Error("limiter down"); }
  consume() { throw new Error("limiter down"); }
  peek() { throw new Error("limiter down"); }
  release() { throw new Error("limiter down"); }
  overrides() { throw new Error("limiter down"); }
  setOverrides() { throw new Error("limiter down"); }
}
/**
 * The credentials Worker down for passkeys (bound as CREDENTIALS in the gateway-mesh-faults
 * project): every passkey call fails. Password checks go on to the real Worker, so the project's
 * accounts can be created, except for a password holding "credentials-down" (that call fails too).
 */
export class DownCredentials extends WorkerEntrypoint {
  registrationOptions() { throw new Error("secret internal detail: credentials store on fire"); }
  authenticationOptions() { throw new Error("secret internal detail: credentials store on fire"); }
  verifyRegistration() { throw new Error("secret internal detail: credentials store on fire"); }
  verifyAuthentication() { throw new Error("secret internal detail: credentials store on fire"); }
  isCommonPassword(input) {
    if (String(input?.password).includes("credentials-down")) throw new Error("secret internal detail: credentials store on fire");
    return this.env.CREDENTIALS.isCommonPassword(input);
  }
}
/**
 * A logic service whose data mesh calls fail: getMany throws, findBy never answers. Registered
 * only in the gateway-mesh-faults project (as "faulty"), to check that a joined read still
 * answers with everything else.
 */
export class FaultyMeshService extends WorkerEntrypoint {
  async describe() {
    return { service: "faulty", models: [{ name: "things", path: "/things", title: "Thing", searchable: false, personal_data: { fields: [], found_by: {}, erasure: { action: "keep", legal_basis: "test fixture" } }, fields: [
      { name: "id", type: "uuid" },
      { name: "contact_id", type: "uuid", nullable: true, references: { service: "crm", model: "contacts" }, lookup: true },
    ] }] };
  }
  async getMany() { throw new Error("secret internal detail: the things table is on fire"); }
  async findBy() { await new Promise((r) => setTimeout(r, 5000)); return { ok: true, data: [] }; }
  async search() { throw new Error("down"); }
  async fetch() { return new Response("broken", { status: 500 }); }
  async handle() { return new Response("broken", { status: 500 }); }
  async health() { return { service: "faulty", status: "ok", checks: {} }; }
}
export default { fetch() { return new Response("no", { status: 404 }); } };
`;

/**
 * An external identity provider (bring your own IdP): it publishes a JWKS and counts how
 * often it is asked, so the tests can check the gateway's refetch discipline.
 */
function idpFixture(publicJwk: object) {
  return `
let fetches = 0;
// Single sign-on (test/sso.test.ts): an organization's OpenID provider at https://sso.example. Its
// token endpoint answers what the test queued (POST /_next) and records the request (GET /_last).
let nextToken = null;
let lastToken = null;
const SSO_DISCOVERY = (issuer) => ({
  issuer,
  authorization_endpoint: "https://sso.example/authorize",
  token_endpoint: "https://sso.example/token",
  jwks_uri: "https://sso.example/jwks",
  code_challenge_methods_supported: ["S256"],
});
async function sso(request, url) {
  if (url.hostname === "mixup.example") return Response.json(SSO_DISCOVERY("https://sso.example"));
  if (url.hostname === "huge.example") return Response.json({ ...SSO_DISCOVERY("https://huge.example"), padding: "x".repeat(200000) });
  if (url.pathname === "/.well-known/openid-configuration") return Response.json(SSO_DISCOVERY("https://sso.example"));
  if (url.pathname === "/jwks") return Response.json({ keys: [${JSON.stringify(publicJwk)}] });
  if (url.pathname === "/_next") { nextToken = await request.json(); return new Response(null, { status: 204 }); }
  if (url.pathname === "/_last") return Response.json(lastToken);
  if (url.pathname === "/token" && request.method === "POST") {
    lastToken = { authorization: request.headers.get("authorization"), form: Object.fromEntries(new URLSearchParams(await request.text())) };
    const answer = nextToken ?? { status: 400, body: { error: "invalid_grant" } };
    nextToken = null;
    return Response.json(answer.body, { status: answer.status });
  }
  return new Response("not found", { status: 404 });
}
export default {
  async fetch(request, env) {
    const url = new URL(request.url);
    if (["sso.example", "mixup.example", "huge.example"].includes(url.hostname)) return sso(request, url);
    // Every other host is a webhook receiver (the gateway's webhook deliveries go out here too).
    if (url.hostname !== "idp.example") return env.RECEIVER.fetch(request);
    if (url.pathname === "/jwks") { fetches++; return Response.json({ keys: [${JSON.stringify(publicJwk)}] }); }
    // Its discovery, so an organization can also connect it for single sign-on (test/sso.test.ts).
    if (url.pathname === "/.well-known/openid-configuration") return Response.json({ ...SSO_DISCOVERY("https://idp.example"), jwks_uri: "https://idp.example/jwks" });
    if (url.pathname === "/fetches") return Response.json({ fetches });
    return new Response("not found", { status: 404 });
  },
};`;
}

/**
 * Webhook receivers, one per path: https://<any host>/<key>/<mode>. It records every request
 * (GET /_log/<key> lists them: method, url, headers, body) and answers by mode: ok (204), fail
 * (500), fail-twice (500 twice per webhook-id, then 200), hang (answers after 5 s), redirect
 * (307 to ?to=), big (200 with a 16 MiB body, counting what the reader pulled: GET /_pulled/<key>).
 */
const WEBHOOK_RECEIVER = `
const log = new Map();
const failures = new Map();
const pulled = new Map();
export default {
  async fetch(request) {
    const url = new URL(request.url);
    const [, key, mode] = url.pathname.split("/");
    if (key === "_log") return Response.json(log.get(mode) ?? []);
    if (key === "_pulled") return Response.json({ bytes: pulled.get(mode) ?? 0 });
    const entry = { method: request.method, url: request.url, headers: Object.fromEntries(request.headers), body: await request.text(), at: Date.now() };
    log.set(key, [...(log.get(key) ?? []), entry]);
    if (mode === "ok") return new Response(null, { status: 204 });
    if (mode === "fail") return new Response("nope", { status: 500 });
    if (mode === "fail-twice") {
      const id = request.headers.get("webhook-id");
      const n = (failures.get(id) ?? 0) + 1;
      failures.set(id, n);
      return n <= 2 ? new Response("not yet", { status: 500 }) : new Response("ok", { status: 200 });
    }
    if (mode === "hang") { await new Promise((r) => setTimeout(r, 5000)); return new Response("late"); }
    if (mode === "redirect") return new Response(null, { status: 307, headers: { location: url.searchParams.get("to") } });
    if (mode === "big") {
      const chunk = new Uint8Array(64 * 1024).fill(97);
      let sent = 0;
      const body = new ReadableStream({
        pull(controller) {
          if (sent >= 16 * 1024 * 1024) return controller.close();
          sent += chunk.length;
          pulled.set(key, sent);
          controller.enqueue(chunk.slice());
        },
      }, { highWaterMark: 0 });
      return new Response(body, { status: 200 });
    }
    return new Response("unknown mode", { status: 404 });
  },
};`;

/**
 * The gateway's test project. `limiterDown` binds RATE_LIMITER to a Durable Object that always
 * fails, to test each policy's on_error (vitest.limiter-down.config.ts).
 */
export async function gatewayTestConfig(opts: { name: string; include: string[]; exclude?: string[]; limiterDown?: boolean; meshFaults?: boolean }) {
  const idpKeys = await crypto.subtle.generateKey({ name: "ECDSA", namedCurve: "P-256" }, true, ["sign", "verify"]);
  const idpPublic = { ...(await crypto.subtle.exportKey("jwk", idpKeys.publicKey)), kid: "idp-key-1", alg: "ES256", use: "sig" };
  const idpPrivate = { ...(await crypto.subtle.exportKey("jwk", idpKeys.privateKey)), kid: "idp-key-1", alg: "ES256" };
  const migrations = Object.fromEntries(
    await Promise.all(SERVICES.map(async (s) => [`${s.key}_MIGRATIONS`, await readD1Migrations(s.migrationsDir)] as const)),
  );
  migrations.GATEWAY_MIGRATIONS = await readD1Migrations(path.join(import.meta.dirname, "migrations"));
  const registry = [
    ...REGISTRY,
    { name: "fixture", binding: "FIXTURE", version: "v1", title: "Fixture", openapi: "/openapi.json", timeout_ms: 500, max_body_bytes: 8 * 1024 * 1024 },
    { name: "mirror", binding: "MIRROR", version: "v1", title: "Mirror", openapi: "/openapi.json", timeout_ms: 500, max_body_bytes: 1024 * 1024 },
    { name: "broken", binding: "BROKEN", version: "v1", title: "Broken", openapi: "/openapi.json", timeout_ms: 500, max_body_bytes: 1024 * 1024 },
    ...(opts.meshFaults
      ? [{ name: "faulty", binding: "FAULTY", version: "v1", title: "Faulty", openapi: "/openapi.json", timeout_ms: 300, max_body_bytes: 1048576 }]
      : []),
  ];
  return {
    plugins: [
      cloudflareTest({
        wrangler: { configPath: "./wrangler.toml" },
        miniflare: {
          bindings: {
            ...migrations,
            SERVICES: registry,
            // The logic services found on disk (their _DB / _MIGRATIONS keys, for test/setup.ts) and their names.
            TEST_SERVICE_KEYS: SERVICES.map((s) => s.key),
            TEST_LOGIC_SERVICES: SERVICES.map((s) => s.name),
            CORS_ORIGINS: "https://app.example",
            // The public origin the tests call; the issuer of every token (never taken from Host).
            ISSUER: "https://gateway.example",
            // Not loopback, so email verification would default to on; the tests that need it turn it on per request.
            EMAIL_VERIFICATION: "off",
            // A test-only secret; real ones come from `wrangler secret put` / .dev.vars.
            SIGNING_KEYS_SECRET: "test-only-signing-keys-secret-0123456789abcdef",
            LOGIN_FAILURES_LIMIT: "3",
            LOGIN_FAILURES_WINDOW_SECONDS: "600",
            RATE_LIMITS: {
              user: { limit: 1000, window_seconds: 60 },
              client: { limit: 1000, window_seconds: 60 },
              organization: { limit: 5000, window_seconds: 60 },
              ip: { limit: 1000, window_seconds: 60, on_error: "open" },
              max: {
                user: { limit: 2000, window_seconds: 60 },
                client: { limit: 2000, window_seconds: 60 },
                organization: { limit: 10000, window_seconds: 60 },
              },
              routes: [
                { name: "probe", path: "/v1/services", scope: "ip", limit: 5, window_seconds: 60 },
                { name: "calendar-writes", method: "POST", path: "/v1/appointments/calendars", scope: "user", limit: 3, window_seconds: 60 },
                { name: "secret-me", path: "/v1/auth/me", scope: "user", limit: 1000, window_seconds: 60, hidden: true },
                { name: "strict-reads", method: "GET", path: "/v1/fixture/strict", scope: "organization", limit: 1000, window_seconds: 60, on_error: "closed" },
                // As in wrangler.toml (the data mesh tests upload a few dozen files per user).
                {
                  name: "uploads",
                  method: ["POST", "PUT"],
                  path: ["/v1/documents/files", "/v1/documents/files/{id}/content"],
                  scope: "user",
                  limit: 60,
                  // An hour, not wrangler.toml's minute: a minute refills one upload a second, so
                  // on a loaded machine the exactness test's 65 concurrent uploads saw one more.
                  window_seconds: 3600,
                },
                // As in wrangler.toml.
                { name: "calendar-feeds", method: "GET", path: "/v1/appointments/feeds/{token}", scope: "ip", limit: 30, window_seconds: 60 },
                {
                  name: "organization-settings",
                  method: ["GET", "PATCH"],
                  path: "/v1/organizations/current",
                  scope: "caller",
                  exclusive: true,
                  limit: 20,
                  window_seconds: 60,
                },
              ],
            },
            TRUSTED_ISSUERS: JSON.stringify([
              { issuer: "https://idp.example", jwks_uri: "https://idp.example/jwks", audience: "buildly", claims: { organization: "tenant", roles: "groups" } },
            ]),
            IDP_PRIVATE_JWK: JSON.stringify(idpPrivate),
            // Webhook deliveries, shortened so retries, dead letters and disabling fit in a test.
            WEBHOOK_TIMEOUT_MS: "1000",
            WEBHOOK_MAX_ATTEMPTS: "3",
            WEBHOOK_RETRY_BASE_SECONDS: "1",
            WEBHOOK_DISABLE_AFTER_FAILURES: "2",
            // Workflow quotas (src/workflows/quotas.ts) low enough that the tests can fill each one.
            WORKFLOW_QUOTAS: { templates: 60, versions_per_template: 20, template_bytes_total: 1048576, running_instances: 150 },
          },
          ...(opts.limiterDown ? { durableObjects: { RATE_LIMITER: { className: "DownLimiter", scriptName: "fixture" } } } : {}),
          // The gateway's outbound fetches (the IdP's JWKS, webhook deliveries) go to the IdP fixture,
          // which hands every host but idp.example to the webhook receiver.
          outboundService: "idp-fixture",
          d1Databases: Object.fromEntries(SERVICES.map((s) => [`${s.key}_DB`, s.d1])),
          serviceBindings: {
            FIXTURE: { name: "fixture", entrypoint: "FixtureService" },
            MIRROR: { name: "fixture", entrypoint: "FixtureMirror" },
            BROKEN: { name: "fixture", entrypoint: "FixtureBroken" },
            // Faults: a service whose mesh calls fail, and the credentials Worker unreachable.
            ...(opts.meshFaults
              ? { FAULTY: { name: "fixture", entrypoint: "FaultyMeshService" }, CREDENTIALS: { name: "fixture", entrypoint: "DownCredentials" } }
              : {}),
          },
          workers: [
            ...SERVICES.map((s) => ({
              name: s.script,
              modules: true,
              scriptPath: path.join(import.meta.dirname, "..", s.name, "dist", "index.js"),
              modulesRoot: path.join(import.meta.dirname, "..", s.name, "dist"),
              compatibilityDate: "2026-11-01",
              d1Databases: { DB: s.d1 },
              r2Buckets: s.r2,
              bindings: s.vars,
              durableObjects: s.durableObjects,
              queueProducers: s.queueProducers,
            })),
            ...INTERNAL.map((w) => ({
              name: w.script,
              modules: true,
              scriptPath: path.join(import.meta.dirname, "..", w.name, "dist", "index.js"),
              modulesRoot: path.join(import.meta.dirname, "..", w.name, "dist"),
              compatibilityDate: "2026-11-01",
            })),
            {
              name: "fixture",
              modules: true,
              script: FIXTURE_SERVICE,
              compatibilityDate: "2026-11-01",
              // Declares the failing limiter's namespace, which limiterDown binds the gateway to.
              durableObjects: { DOWN_LIMITER: "DownLimiter" },
              // The real credentials Worker, behind DownCredentials.
              serviceBindings: Object.fromEntries(
                INTERNAL.filter((w) => w.name === "credentials").map((w) => ["CREDENTIALS", { name: w.script, entrypoint: "CredentialsService" }]),
              ),
            },
            {
              name: "idp-fixture",
              modules: true,
              script: idpFixture(idpPublic),
              compatibilityDate: "2026-11-01",
              serviceBindings: { RECEIVER: "webhook-receiver" },
            },
            { name: "webhook-receiver", modules: true, script: WEBHOOK_RECEIVER, compatibilityDate: "2026-11-01" },
            // The console (workers/console): its bundle and built files, as the deploy dry run and its build leave them.
            {
              name: "buildly-console",
              modules: true,
              scriptPath: path.join(import.meta.dirname, "..", "console", "dist", "index.js"),
              modulesRoot: path.join(import.meta.dirname, "..", "console", "dist"),
              compatibilityDate: "2026-11-01",
              assets: {
                directory: path.join(import.meta.dirname, "..", "console", "public"),
                binding: "ASSETS",
                routerConfig: { has_user_worker: true, invoke_user_worker_ahead_of_assets: true },
                assetConfig: { not_found_handling: "single-page-application" as const },
              },
            },
          ],
        },
      }),
    ],
    test: {
      name: opts.name,
      silent: "passed-only" as const,
      testTimeout: 30_000,
      setupFiles: ["./test/setup.ts"],
      include: opts.include,
      exclude: opts.exclude ?? [],
    },
  };
}

export default defineConfig(() =>
  gatewayTestConfig({ name: "gateway", include: ["test/**/*.test.ts"], exclude: ["test/limiter-down/**", "test/mesh-faults/**"] }),
);
