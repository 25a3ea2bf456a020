#!/usr/bin/env node
// Write-to-webhook latency (npm run bench:webhooks): starts the platform as `npm run dev` does
// (scripts/dev.sh, on a free port with temporary state), subscribes a receiver on a local port to
// crm.contact.created, creates contacts one after another through the gateway and measures, for
// each, the time from the write's answer (and from its request) to the signed delivery's arrival:
// outbox -> relay -> buildly-events queue -> event consumer -> fan-out -> buildly-webhook-deliveries
// queue -> POST. Prints a markdown table (also bench/results/webhooks.md) and stops what it started.
// Settings: BENCH_WEBHOOK_WRITES (100), BENCH_WEBHOOK_GAP_MS (50, pause between writes).
import { spawn } from "node:child_process";
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:http";
import { createServer as netServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { Webhook } from "standardwebhooks";

const ROOT = new URL("../..", import.meta.url).pathname;
const WRITES = Number(process.env.BENCH_WEBHOOK_WRITES) || 100;
const GAP_MS = Number(process.env.BENCH_WEBHOOK_GAP_MS ?? 50);
const WARMUP = 5;
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

const freePort = () =>
  new Promise((resolve, reject) => {
    const s = netServer();
    s.on("error", reject);
    s.listen(0, "127.0.0.1", () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });

const arrivals = new Map(); // contact id -> { at, verified }
let secret;
const receiver = createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const at = performance.now();
    const body = Buffer.concat(chunks).toString("utf8");
    try {
      const event = new Webhook(secret).verify(body, Object.fromEntries(Object.entries(req.headers).map(([k, v]) => [k, String(v)])));
      if (!arrivals.has(event.subject)) arrivals.set(event.subject, at);
      res.writeHead(204).end();
    } catch {
      res.writeHead(400).end("bad signature");
    }
  });
});

const port = await freePort();
const base = `http://127.0.0.1:${port}`;
const state = mkdtempSync(join(tmpdir(), "buildly-bench-hooks-"));
const platform = spawn("bash", ["scripts/dev.sh"], {
  cwd: ROOT,
  env: { ...process.env, PORT: String(port), BUILDLY_STATE_DIR: state, FORCE_COLOR: "0", NO_COLOR: "1" },
  detached: true,
  stdio: ["ignore", "ignore", "ignore"],
});
const stop = () => {
  try {
    process.kill(-platform.pid, "SIGTERM");
  } catch {}
};
process.on("exit", () => {
  stop();
  rmSync(state, { recursive: true, force: true });
});
process.on("SIGINT", () => process.exit(130));

async function json(path, init = {}, token) {
  const res = await fetch(base + path, {
    ...init,
    headers: { ...(init.body ? { "content-type": "application/json" } : {}), ...(token ? { authorization: `Bearer ${token}` } : {}), ...init.headers },
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${init.method ?? "GET"} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

try {
  console.log(`starting the platform on ${base}`);
  const deadline = Date.now() + 600_000;
  for (;;) {
    if (platform.exitCode !== null) throw new Error("the platform exited before it was ready");
    if (
      await fetch(`${base}/health`).then(
        (r) => r.ok,
        () => false,
      )
    )
      break;
    if (Date.now() > deadline) throw new Error("the platform was not ready after 600 s");
    await sleep(500);
  }
  await new Promise((r) => receiver.listen(0, "127.0.0.1", r));
  const hookUrl = `http://127.0.0.1:${receiver.address().port}/hook`;
  const email = `bench-${crypto.randomUUID().slice(0, 8)}@bench.example`;
  const password = "bench webhooks password 1";
  await json("/v1/auth/register", { method: "POST", body: JSON.stringify({ email, password, name: "Bench", organization_name: "Bench Hooks" }) });
  const { access_token: token } = await json("/v1/auth/token", {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "password", username: email, password }).toString(),
  });
  ({ secret } = await json("/v1/webhooks", { method: "POST", body: JSON.stringify({ url: hookUrl, events: ["crm.contact.created"] }) }, token));

  const writes = [];
  for (let i = 0; i < WARMUP + WRITES; i++) {
    const sent = performance.now();
    const c = await json(
      "/v1/crm/contacts",
      { method: "POST", body: JSON.stringify({ first_name: "Bench", last_name: `N${i}`, email: `b${i}-${email}` }) },
      token,
    );
    if (i >= WARMUP) writes.push({ id: c.id, sent, answered: performance.now() });
    if (GAP_MS) await sleep(GAP_MS);
  }
  const waitUntil = Date.now() + 180_000;
  while (writes.some((w) => !arrivals.has(w.id)) && Date.now() < waitUntil) await sleep(100);
  const missing = writes.filter((w) => !arrivals.has(w.id)).length;
  const q = (xs, p) => xs[Math.min(xs.length - 1, Math.ceil((p / 100) * xs.length) - 1)];
  const fmt = (ms) => `${ms.toFixed(0)} ms`;
  const fromAnswer = writes
    .filter((w) => arrivals.has(w.id))
    .map((w) => arrivals.get(w.id) - w.answered)
    .sort((a, b) => a - b);
  const fromRequest = writes
    .filter((w) => arrivals.has(w.id))
    .map((w) => arrivals.get(w.id) - w.sent)
    .sort((a, b) => a - b);
  const writeMs = writes.map((w) => w.answered - w.sent).sort((a, b) => a - b);
  const rows = [
    ["(k1) write answered -> webhook received", fromAnswer],
    ["(k2) write sent -> webhook received", fromRequest],
    ["(k0) the write itself (POST /v1/crm/contacts)", writeMs],
  ];
  const table = [
    `## Write to webhook delivery (${WRITES} contacts, one at a time, ${GAP_MS} ms apart; ${missing} not delivered within 180 s)`,
    "",
    "| row | p50 | p90 | p99 | max |",
    "| --- | --- | --- | --- | --- |",
    ...rows.map(([label, xs]) =>
      xs.length ? `| ${label} | ${fmt(q(xs, 50))} | ${fmt(q(xs, 90))} | ${fmt(q(xs, 99))} | ${fmt(xs.at(-1))} |` : `| ${label} | - | - | - | - |`,
    ),
    "",
    "Under `npm run dev` (wrangler dev, local Queues): each queue waits up to max_batch_timeout (1 s) to fill a batch.",
  ].join("\n");
  console.log(`\n${table}\n`);
  mkdirSync(join(ROOT, "bench", "results"), { recursive: true });
  writeFileSync(join(ROOT, "bench", "results", "webhooks.md"), `${table}\n`);
  if (missing) process.exitCode = 1;
} finally {
  receiver.close();
  stop();
}
