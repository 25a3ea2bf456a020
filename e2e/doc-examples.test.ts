import { spawn } from "node:child_process";
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anchors, type Example, extractExamples, ILLUSTRATIVE, jsonMismatch, outputMismatch, relativeLinks, slug } from "./doc-examples";
import { REPO_ROOT } from "./paths";
import { type Platform, startPlatform } from "./second-platform";

/**
 * Examples that cannot rot: every shell example of the guides runs against a platform of its
 * own (started like `npm run dev` on fresh state, so the guides see the demo data a reader
 * sees), and its output is compared with the output the guide shows (e2e/doc-examples.ts).
 * Guides run in the order of the README's map, each in a fresh bash in the repository's folder
 * (as a reader runs them), blocks in order.
 */
const GUIDES = [
  "README.md",
  "docs/getting-started.md",
  "docs/architecture.md",
  "docs/identity-and-sign-in.md",
  "docs/single-sign-on.md",
  "docs/roles-and-permissions.md",
  "docs/rate-limits-and-idempotency.md",
  "docs/data-mesh.md",
  "docs/workflows.md",
  "docs/events-and-audit.md",
  "docs/webhooks.md",
  "docs/observability.md",
  "docs/console.md",
  "docs/privacy.md",
  "docs/adding-a-service.md",
  "docs/deploying.md",
  "docs/security.md",
  "docs/benchmarks.md",
  "docs/benchmarks-history.md",
  "docs/sdk.md",
  "workers/crm/README.md",
  "workers/documents/README.md",
  "workers/appointments/README.md",
  "CONTRIBUTING.md",
];
const DOCUMENTED_PORT = "127.0.0.1:8787";
const GUIDE_TIMEOUT_MS = 180_000;

describe("the example runner", () => {
  const guide = [
    "Intro.",
    "```sh",
    "echo one",
    "```",
    "",
    "```json",
    '{"id":"6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01","state":"draft","time":"2026-12-01T12:00:00Z","...":"..."}',
    "```",
    ILLUSTRATIVE,
    "```sh",
    "rm -rf /",
    "```",
    "  ```bash",
    "  echo indented",
    "  ```",
    "A sentence, then JSON that is not an output:",
    "```json",
    "{}",
    "```",
  ].join("\n");

  it("runs every shell block but the illustrative ones, each with the output block that follows it", () => {
    const { run, illustrative } = extractExamples(guide);
    expect(illustrative).toBe(1);
    expect(run.map((e) => [e.line, e.code, e.expected])).toEqual([
      [2, "echo one", '{"id":"6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01","state":"draft","time":"2026-12-01T12:00:00Z","...":"..."}'],
      [13, "echo indented", undefined],
    ]);
  });

  it("compares the fields shown: ids and times may differ, values may not", () => {
    const shown = '{"id":"6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01","state":"draft","time":"2026-12-01T12:00:00Z","...":"..."}';
    const same = '{"id":"0b5c8f2e-7a41-4c55-9d0e-3b1f6f1e2a90","state":"draft","time":"2027-01-02T03:04:05.678Z","version":1}';
    expect(outputMismatch(shown, same)).toBeUndefined();
    expect(outputMismatch(shown, same.replace('"draft"', '"approved"'))).toMatch(/\$\.state: expected "draft", got "approved"/);
    expect(outputMismatch(shown, same.replace('"state":"draft",', ""))).toMatch(/\$\.state: missing/);
    expect(outputMismatch(shown, same.replace("0b5c8f2e-7a41-4c55-9d0e-3b1f6f1e2a90", "42"))).toMatch(/expected a UUID/);
    expect(outputMismatch(shown, "curl: (7) Failed to connect")).toMatch(/is not in the output/);
  });

  it('compares lists by length unless the last item shown is "...", and text lines in order with … as a wildcard', () => {
    expect(jsonMismatch({ data: [{ a: 1 }] }, { data: [{ a: 1 }, { a: 2 }] })).toMatch(/expected 1 items, got 2/);
    expect(jsonMismatch({ data: [{ a: 1 }, "..."] }, { data: [{ a: 1 }, { a: 2 }] })).toBeUndefined();
    expect(jsonMismatch({ data: [{ a: 1 }, "..."] }, { data: [] })).toMatch(/at least 1/);
    expect(jsonMismatch({ secret: "whsec_…" }, { secret: "whsec_abc" })).toBeUndefined();
    expect(jsonMismatch({ secret: "whsec_…" }, { secret: "sk_abc" })).toMatch(/expected "whsec_…"/);
    expect(jsonMismatch({ timeout_at: "<in 7 days>" }, { timeout_at: "2026-12-08T00:00:00Z" })).toBeUndefined();
    expect(outputMismatch("200\n403", "200\nnoise\n403\n")).toBeUndefined();
    expect(outputMismatch("403\n200", "200\n403\n")).toMatch(/the line "200"/);
    expect(outputMismatch("HTTP/1.1 201 …", "HTTP/1.1 201 Created\ncontent-type: application/json\n\n{}")).toBeUndefined();
  });
});

describe("links between the guides", () => {
  it("reads headings as GitHub anchors them", () => {
    expect(slug("The service kit (`packages/shared`)")).toBe("the-service-kit-packagesshared");
    expect(slug("Tamper evidence: `GET /v1/audit/verify`")).toBe("tamper-evidence-get-v1auditverify");
    expect([...anchors("# A\n```sh\n# not a heading\n```\n## B c")]).toEqual(["a", "b-c"]);
  });

  it("README.md stays about a page and links every guide and the project's files", () => {
    const readme = readFileSync(join(REPO_ROOT, "README.md"), "utf8");
    expect(readme.split("\n").length).toBeLessThanOrEqual(80);
    const linked = new Set(relativeLinks(readme).map((l) => l.path));
    const guides = readdirSync(join(REPO_ROOT, "docs"))
      .filter((f) => f.endsWith(".md"))
      .map((f) => `docs/${f}`);
    const files = ["CONTRIBUTING.md", "SECURITY.md", "CHANGELOG.md", "LICENSE"];
    expect([...guides, ...files].filter((f) => !linked.has(f))).toEqual([]);
  });

  for (const guide of [...GUIDES, "SECURITY.md", "CHANGELOG.md", "bench/README.md"]) {
    it(`${guide}: every relative link points at a file, and at a heading of it`, () => {
      const broken: string[] = [];
      for (const { path, anchor } of relativeLinks(readFileSync(join(REPO_ROOT, guide), "utf8"))) {
        const target = path ? join(REPO_ROOT, dirname(guide), path) : join(REPO_ROOT, guide);
        if (!existsSync(target)) broken.push(`${path}: no such file`);
        else if (anchor && target.endsWith(".md") && !anchors(readFileSync(target, "utf8")).has(anchor)) broken.push(`${path}#${anchor}: no such heading`);
      }
      expect(broken).toEqual([]);
    });
  }
});

/** Runs a guide's blocks in one bash; returns each block's output and exit status. */
function runGuide(examples: Example[], baseUrl: string, cwd: string): Promise<{ outputs: string[]; statuses: number[]; all: string }> {
  const host = new URL(baseUrl).host;
  const marker = (k: number) => `@@example ${k} done@@`;
  const script = ["exec 2>&1", ...examples.flatMap((e, k) => [e.code.replaceAll(DOCUMENTED_PORT, host), `printf '\\n${marker(k)} %s\\n' "$?"`])].join("\n");
  return new Promise((resolve, reject) => {
    // Its own process group, so a guide's background jobs (a webhook receiver) end with it.
    const child = spawn("bash", ["-c", script], {
      cwd,
      env: { ...process.env, FORCE_COLOR: "0", NO_COLOR: "1" },
      stdio: ["ignore", "pipe", "pipe"],
      detached: true,
    });
    const killGroup = () => {
      try {
        process.kill(-child.pid!, "SIGKILL");
      } catch {
        // Already gone.
      }
    };
    let all = "";
    child.stdout.on("data", (b: Buffer) => (all += b.toString("utf8")));
    child.stderr.on("data", (b: Buffer) => (all += b.toString("utf8")));
    const timer = setTimeout(killGroup, GUIDE_TIMEOUT_MS - 10_000);
    child.on("error", reject);
    child.on("close", () => {
      clearTimeout(timer);
      killGroup();
      const outputs: string[] = [];
      const statuses: number[] = [];
      let rest = all;
      examples.forEach((_, k) => {
        const m = new RegExp(`\\n${marker(k)} (\\d+)\\n`).exec(rest);
        if (!m) return;
        outputs.push(rest.slice(0, m.index));
        statuses.push(Number(m[1]));
        rest = rest.slice(m.index + m[0].length);
      });
      resolve({ outputs, statuses, all });
    });
  });
}

describe("the guides' examples, against a platform of their own", () => {
  let platform: Platform;
  const stateDir = mkdtempSync(join(tmpdir(), "buildly-docs-state-"));

  beforeAll(async () => {
    // BUILDLY_DOCS_BASE_URL: a platform already running (e.g. `npm run dev` after `npm run reset`), for writing guides.
    const given = process.env.BUILDLY_DOCS_BASE_URL;
    platform = given ? { baseUrl: given, stop: async () => {} } : await startPlatform(stateDir, 600_000);
  }, 660_000);
  afterAll(async () => {
    await platform?.stop();
    rmSync(stateDir, { recursive: true, force: true });
  }, 30_000);

  it("covers every guide in docs/", () => {
    const guides = readdirSync(join(REPO_ROOT, "docs")).filter((f) => f.endsWith(".md"));
    expect(guides.map((g) => `docs/${g}`).filter((g) => !GUIDES.includes(g))).toEqual([]);
  });

  for (const guide of GUIDES) {
    it(
      `${guide}: every example answers what the guide shows`,
      async () => {
        const { run } = extractExamples(readFileSync(join(REPO_ROOT, guide), "utf8"));
        if (run.length === 0) return;
        const { outputs, statuses, all } = await runGuide(run, platform.baseUrl, REPO_ROOT);
        const host = new URL(platform.baseUrl).host;
        run.forEach((e, k) => {
          const where = `${guide}:${e.line}\n--- example ---\n${e.code}\n--- output ---\n${outputs[k] ?? all.slice(-4000)}`;
          expect(outputs[k], `the example did not finish: ${where}`).toBeDefined();
          expect(statuses[k], `the example's last command failed: ${where}`).toBe(0);
          if (e.expected !== undefined) {
            expect(outputMismatch(e.expected.replaceAll(DOCUMENTED_PORT, host), outputs[k]!), where).toBeUndefined();
          }
        });
      },
      GUIDE_TIMEOUT_MS,
    );
  }
});
