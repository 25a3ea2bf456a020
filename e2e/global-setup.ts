import { spawn, type ChildProcess } from "node:child_process";
import { createWriteStream, mkdirSync, mkdtempSync, rmSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";
import type { TestProject } from "vitest/node";
import { ARTIFACTS_DIR, REPO_ROOT } from "./paths";
import { startOtlpReceiver } from "./otlp-receiver";
import { groupAlive, registerGroup, signalGroup } from "./process-group";

declare module "vitest" {
  export interface ProvidedContext {
    /** The gateway, e.g. http://127.0.0.1:41234 */
    baseUrl: string;
    /** The BUILDLY_STATE_DIR the platform runs on (a fresh temp dir, never the developer's). */
    stateDir: string;
    /** The OTLP receiver every Worker of the platform exports its traces and metrics to (e2e/otlp-receiver.ts). */
    otlpUrl: string;
  }
}

// Generous by default: migrating four databases and starting four Workers takes ~40 s alone, minutes
// on a busy machine; BUILDLY_E2E_READY_TIMEOUT_MS sets another limit.
const READY_TIMEOUT_MS = Number(process.env.BUILDLY_E2E_READY_TIMEOUT_MS) || 300_000;
const STOP_GRACE_MS = 5_000;
const OUTPUT_TAIL_CHARS = 20_000;

/** A port nobody listens on right now: the kernel picks one, we release it for wrangler. */
function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.unref();
    server.on("error", reject);
    server.listen(0, "127.0.0.1", () => {
      const address = server.address();
      server.close(() => (typeof address === "object" && address ? resolve(address.port) : reject(new Error("no port"))));
    });
  });
}

/** SIGTERM to the whole group (bash, wrangler, workerd), SIGKILL to whatever is left after the grace period. */
async function stopGroup(pgid: number): Promise<void> {
  signalGroup(pgid, "SIGTERM");
  const deadline = Date.now() + STOP_GRACE_MS;
  while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
  if (groupAlive(pgid)) {
    signalGroup(pgid, "SIGKILL");
    const killDeadline = Date.now() + 2_000;
    while (groupAlive(pgid) && Date.now() < killDeadline) await sleep(50);
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/**
 * Starts the platform the way a developer does (`bash scripts/dev.sh`, i.e. `npm run dev`)
 * on a free port and a fresh state directory, waits for /health, and stops the whole
 * process group afterwards so no workerd outlives the run.
 */
export default async function setup(project: TestProject) {
  const port = await freePort();
  const stateDir = mkdtempSync(join(tmpdir(), "buildly-e2e-state-"));
  const baseUrl = `http://127.0.0.1:${port}`;
  mkdirSync(ARTIFACTS_DIR, { recursive: true });
  const logPath = join(ARTIFACTS_DIR, "platform.log");
  const log = createWriteStream(logPath);

  let output = "";
  const capture = (chunk: Buffer) => {
    log.write(chunk);
    output = (output + chunk.toString("utf8")).slice(-OUTPUT_TAIL_CHARS);
  };

  // Telemetry on, as an operator would run it: every Worker exports to a receiver in this process
  // (after each answer, in waitUntil), metrics after every invocation so a test sees its counts.
  const otlp = await startOtlpReceiver();
  const child: ChildProcess = spawn("bash", ["scripts/dev.sh"], {
    cwd: REPO_ROOT,
    env: {
      ...process.env,
      PORT: String(port),
      BUILDLY_STATE_DIR: stateDir,
      FORCE_COLOR: "0",
      NO_COLOR: "1",
      OTEL_EXPORTER_OTLP_ENDPOINT: otlp.url,
      OTEL_TRACES_SAMPLER_ARG: "1",
      OTEL_METRIC_EXPORT_INTERVAL: "0",
    },
    // Its own process group, so one signal reaches bash, wrangler and every workerd it started.
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pgid = child.pid!;
  // A signal to vitest may end it before the teardown below: the test command stops it then.
  registerGroup(pgid);
  child.stdout!.on("data", capture);
  child.stderr!.on("data", capture);

  let exited: { code: number | null; signal: NodeJS.Signals | null } | undefined;
  child.on("exit", (code, signal) => (exited = { code, signal }));

  const removeState = () => {
    if (!process.env.BUILDLY_E2E_KEEP_STATE) rmSync(stateDir, { recursive: true, force: true });
  };
  // Last resort if vitest exits without running the teardown (Ctrl-C, an uncaught error): all synchronous.
  const onExit = () => {
    signalGroup(pgid, "SIGKILL");
    removeState();
  };
  process.on("exit", onExit);

  let stopped = false;
  const teardown = async () => {
    if (stopped) return;
    stopped = true;
    await stopGroup(pgid);
    otlp.server.close();
    process.off("exit", onExit);
    log.end();
    removeState();
  };

  const fail = async (why: string): Promise<never> => {
    await teardown();
    throw new Error(`${why}\n--- output of bash scripts/dev.sh (last ${OUTPUT_TAIL_CHARS} chars; full log in ${logPath}) ---\n${output}`);
  };

  const started = Date.now();
  for (;;) {
    if (exited) await fail(`The platform exited before it was healthy (code ${exited.code}, signal ${exited.signal}).`);
    if (Date.now() - started > READY_TIMEOUT_MS) await fail(`GET ${baseUrl}/health did not answer 200 within ${READY_TIMEOUT_MS / 1000} s.`);
    try {
      const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200 && !exited) break;
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
  console.log(`[e2e] platform healthy on ${baseUrl} after ${((Date.now() - started) / 1000).toFixed(1)} s (state: ${stateDir})`);

  project.provide("baseUrl", baseUrl);
  project.provide("stateDir", stateDir);
  project.provide("otlpUrl", otlp.url);
  return teardown;
}
