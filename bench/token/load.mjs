// The load for bench/token/run.sh: three rows against POST /v1/auth/token, written to a JSONL file
// in the shape bench/lib/table.mjs reads (the fields bench/wrk/report.lua prints, plus the server's
// CPU from bench/lib/cpu.mjs).
//   node load.mjs <base url> <server pgid> <connections> <warm-up s> <seconds> <results.jsonl>
// A Node generator with fixed concurrency, not wrk: every authorization-code request needs its own
// single-use code and verifier (minted here through the sign-in flow) and every refresh request the
// token the previous answer rotated, which is plain code here and a file protocol plus Lua in wrk;
// and at these rates (tens to hundreds of requests a second, PBKDF2 and signing on the server)
// Node's own cost per request is small next to the server's. Every answer must be 200: the others
// are counted (errors.status), the first few printed, and table.mjs fails the run on any.
import { createHash, randomBytes } from "node:crypto";
import { execFileSync } from "node:child_process";
import { appendFileSync, writeFileSync } from "node:fs";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const [base, pgid, connText, warmText, secsText, resultsFile] = process.argv.slice(2);
const CONNECTIONS = Number(connText);
const WARMUP = Number(warmText);
const SECONDS = Number(secsText);
const CPU = join(dirname(fileURLToPath(import.meta.url)), "..", "lib", "cpu.mjs");
const EMAIL = "admin@demo.buildly.dev";
const PASSWORD = "buildly-demo-password";
const REDIRECT = `${base}/console/callback`;
const b64url = (buf) => Buffer.from(buf).toString("base64url");

const form = (fields) => ({
  method: "POST",
  headers: { "content-type": "application/x-www-form-urlencoded" },
  body: new URLSearchParams(fields).toString(),
});
async function token(fields) {
  const res = await fetch(`${base}/v1/auth/token`, form(fields));
  const text = await res.text();
  if (res.status !== 200) throw new Error(`token ${fields.grant_type}: ${res.status} ${text}`);
  return JSON.parse(text);
}

// --- the console client's sign-in: once, keeping the session cookie -----------------------------
const admin = await token({ grant_type: "password", username: EMAIL, password: PASSWORD });
const consoleClient = JSON.parse(Buffer.from(admin.access_token.split(".")[1], "base64url")).client_id;
const jar = new Map();
const cookieHeader = () => [...jar].map(([k, v]) => `${k}=${v}`).join("; ");
function keep(res) {
  for (const sc of res.headers.getSetCookie()) {
    const pair = sc.split(";")[0];
    const i = pair.indexOf("=");
    if (/Max-Age=0/i.test(sc)) jar.delete(pair.slice(0, i));
    else jar.set(pair.slice(0, i), pair.slice(i + 1));
  }
  return res;
}
function pkce() {
  const verifier = b64url(randomBytes(32));
  return { verifier, challenge: b64url(createHash("sha256").update(verifier).digest()) };
}
function authorizeUrl(challenge) {
  const q = new URLSearchParams({
    response_type: "code",
    client_id: consoleClient,
    redirect_uri: REDIRECT,
    scope: "openid profile email offline_access read write",
    state: `st-${randomBytes(8).toString("hex")}`,
    nonce: `n-${randomBytes(8).toString("hex")}`,
    code_challenge: challenge,
    code_challenge_method: "S256",
  });
  return `${base}/v1/auth/authorize?${q}`;
}
const codeOf = (res) => {
  const location = res.headers.get("location");
  const code = location && new URL(location, base).searchParams.get("code");
  return code;
};
{
  const login = keep(await fetch(authorizeUrl(pkce().challenge), { redirect: "manual", headers: { cookie: cookieHeader() } }));
  const html = await login.text();
  const chosen = [...html.matchAll(/<form[^>]*>([\s\S]*?)<\/form>/g)].map((m) => m[1]).at(-1);
  if (login.status !== 200 || !chosen) throw new Error(`the login page: ${login.status} ${html.slice(0, 300)}`);
  const decode = (s) => s.replace(/&#(\d+);/g, (_, n) => String.fromCharCode(Number(n))).replace(/&amp;/g, "&");
  const fields = {};
  for (const m of chosen.matchAll(/<input type="hidden" name="([^"]+)" value="([^"]*)">/g)) fields[decode(m[1])] = decode(m[2]);
  const res = keep(
    await fetch(`${base}/v1/auth/authorize`, {
      ...form({ ...fields, email: EMAIL, password: PASSWORD }),
      headers: { "content-type": "application/x-www-form-urlencoded", cookie: cookieHeader() },
      redirect: "manual",
    }),
  );
  if (!codeOf(res)) throw new Error(`sign-in gave no code: ${res.status} ${res.headers.get("location")} ${(await res.text()).slice(0, 300)}`);
}

/** Codes for `seconds` (at least CONNECTIONS): the session cookie, a fresh PKCE pair each, in parallel. */
async function mint(seconds) {
  const out = [];
  const end = Date.now() + seconds * 1000;
  const started = Date.now();
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async () => {
      while (Date.now() < end || out.length < CONNECTIONS) {
        const { verifier, challenge } = pkce();
        const res = await fetch(authorizeUrl(challenge), { redirect: "manual", headers: { cookie: cookieHeader() } });
        const code = codeOf(res);
        if (!code) throw new Error(`authorize gave no code: ${res.status} ${(await res.text()).slice(0, 300)}`);
        await res.body?.cancel();
        out.push({ code, verifier });
      }
    }),
  );
  console.log(`  minted ${out.length} codes in ${((Date.now() - started) / 1000).toFixed(1)} s`);
  return out;
}

/** Fixed concurrency for `seconds`, or until next() has nothing left; latencies of every request. */
async function load(seconds, next, onOk = () => {}) {
  const latencies = [];
  const statuses = new Map();
  const samples = [];
  let network = 0;
  const started = performance.now();
  const end = started + seconds * 1000;
  await Promise.all(
    Array.from({ length: CONNECTIONS }, async (_, w) => {
      while (performance.now() < end) {
        const fields = next(w);
        if (!fields) return;
        const t0 = performance.now();
        try {
          const res = await fetch(`${base}/v1/auth/token`, form(fields));
          const text = await res.text();
          latencies.push(performance.now() - t0);
          if (res.status === 200) onOk(w, JSON.parse(text));
          else {
            statuses.set(res.status, (statuses.get(res.status) ?? 0) + 1);
            if (samples.length < 5) samples.push(`${res.status} ${text.slice(0, 200)}`);
            next.failed?.(w);
          }
        } catch (e) {
          network++;
          if (samples.length < 5) samples.push(String(e));
          next.failed?.(w);
        }
      }
    }),
  );
  const duration = (performance.now() - started) / 1000;
  const sorted = latencies.sort((a, b) => a - b);
  const pct = (p) => sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
  const status = [...statuses.values()].reduce((a, b) => a + b, 0);
  return {
    requests: latencies.length + network,
    duration_s: duration,
    rps: latencies.length / duration,
    p50_ms: pct(50),
    p90_ms: pct(90),
    p99_ms: pct(99),
    max_ms: sorted.at(-1) ?? NaN,
    errors: { status, network },
    non_200: Object.fromEntries(statuses),
    samples,
  };
}

const cpuSnapshot = (file) => writeFileSync(file, execFileSync("node", [CPU, "snapshot", pgid]));
async function row(id, letter, label, seconds, next, onOk) {
  const before = join(dirname(resultsFile), "cpu-before.json");
  const after = join(dirname(resultsFile), "cpu-after.json");
  cpuSnapshot(before);
  const r = await load(seconds, next, onOk);
  cpuSnapshot(after);
  const cpu = JSON.parse(execFileSync("node", [CPU, "diff", before, after, String(r.requests)], { encoding: "utf8" }));
  const bad = r.errors.status + r.errors.network;
  console.log(
    `(${letter}) ${r.requests} requests in ${r.duration_s.toFixed(1)} s, ${bad} not 200` +
      (bad ? `: ${JSON.stringify(r.non_200)} network ${r.errors.network}; first answers:\n    ${r.samples.join("\n    ")}` : ""),
  );
  const { samples: _s, non_200: _n, ...result } = r;
  appendFileSync(resultsFile, `${JSON.stringify({ id, letter, label, round: 1, cpu, ...result })}\n`);
}

writeFileSync(resultsFile, "");
const password = () => ({ grant_type: "password", username: EMAIL, password: PASSWORD });

console.log(`(t1) password grant: ${WARMUP}s warm-up, ${SECONDS}s measured`);
await load(WARMUP, password);
await row("password", "t1", "POST /v1/auth/token grant_type=password (PBKDF2)", SECONDS, password);

const exchange = (codes) => {
  let i = 0;
  return () => {
    const c = codes[i++];
    return c && { grant_type: "authorization_code", code: c.code, code_verifier: c.verifier, redirect_uri: REDIRECT, client_id: consoleClient };
  };
};
console.log(`(t2) authorization_code + PKCE: ${WARMUP}s of codes for the warm-up, then ${SECONDS}s of codes measured`);
const warm = await load(WARMUP * 10, exchange(await mint(WARMUP)));
if (warm.errors.status + warm.errors.network) throw new Error(`the code warm-up had non-200 answers: ${warm.samples.join("; ")}`);
const refresh = [];
await row(
  "code",
  "t2",
  "grant_type=authorization_code + PKCE, public console client (one fresh code each)",
  SECONDS,
  exchange(await mint(SECONDS)),
  (w, body) => {
    refresh[w] = body.refresh_token;
  },
);

// Each connection spends the refresh token its previous answer rotated (reuse would revoke the family).
const chain = (w) => refresh[w] && { grant_type: "refresh_token", refresh_token: refresh[w], client_id: consoleClient };
chain.failed = (w) => {
  refresh[w] = undefined; // a failed rotation leaves nothing safe to spend on this connection
};
const rotate = (w, body) => {
  refresh[w] = body.refresh_token;
};
console.log(`(t3) refresh_token: ${WARMUP}s warm-up, ${SECONDS}s measured`);
if (refresh.filter(Boolean).length < CONNECTIONS) throw new Error("fewer refresh tokens than connections from (t2)");
await load(WARMUP, chain, rotate);
await row("refresh", "t3", "grant_type=refresh_token, rotated on every use (console client)", SECONDS, chain, rotate);
