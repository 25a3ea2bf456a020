import { spawn } from "node:child_process";
import { createServer } from "node:net";
import { REPO_ROOT } from "./paths";
import { groupAlive, registerGroup, signalGroup } from "./process-group";

/**
 * A platform of its own, started like `npm run dev` on free ports and a given state directory,
 * for tests that stop and restart it (the shared one from global-setup must stay up).
 */
export interface Platform {
  baseUrl: string;
  /** Stops the whole process group (bash, wrangler, workerd), as Ctrl-C would. */
  stop(): Promise<void>;
}

export function freePort(): Promise<number> {
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

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export async function startPlatform(stateDir: string, readyMs = 300_000): Promise<Platform> {
  const [port, inspector] = [await freePort(), await freePort()];
  const child = spawn("bash", ["scripts/dev.sh", "--inspector-port", String(inspector)], {
    cwd: REPO_ROOT,
    env: { ...process.env, PORT: String(port), BUILDLY_STATE_DIR: stateDir, SKIP_INSTALL: "1", FORCE_COLOR: "0", NO_COLOR: "1" },
    detached: true,
    stdio: ["ignore", "pipe", "pipe"],
  });
  const pgid = child.pid!;
  registerGroup(pgid);
  let output = "";
  const keep = (b: Buffer) => (output = (output + b.toString("utf8")).slice(-8000));
  child.stdout!.on("data", keep);
  child.stderr!.on("data", keep);
  let exited = false;
  child.on("exit", () => (exited = true));
  const onExit = () => signalGroup(pgid, "SIGKILL");
  process.on("exit", onExit);

  const stop = async () => {
    signalGroup(pgid, "SIGTERM");
    const deadline = Date.now() + 5_000;
    while (groupAlive(pgid) && Date.now() < deadline) await sleep(100);
    if (groupAlive(pgid)) signalGroup(pgid, "SIGKILL");
    while (groupAlive(pgid)) await sleep(50);
    process.off("exit", onExit);
  };

  const baseUrl = `http://127.0.0.1:${port}`;
  const started = Date.now();
  for (;;) {
    if (exited || Date.now() - started > readyMs) {
      await stop();
      throw new Error(`The second platform did not become healthy.\n${output}`);
    }
    try {
      const res = await fetch(`${baseUrl}/health`, { signal: AbortSignal.timeout(2_000) });
      await res.arrayBuffer();
      if (res.status === 200) return { baseUrl, stop };
    } catch {
      // Not listening yet.
    }
    await sleep(250);
  }
}
