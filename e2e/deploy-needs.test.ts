// `npm run deploy -- --dry-run` ends with what a real deploy still needs (scripts/deploy.mjs,
// stillNeeded): the dry run proves that every Worker builds, not that an account is ready.
import { describe, expect, it } from "vitest";

const modules = ["../scripts/deploy.mjs", "../scripts/lib/workers.mjs"];
// Resolved against this file, not left to the bundler: a bare relative specifier in a dynamic
// import resolved to /scripts/... on CI's checkout (a clean clone under another root).
const [{ stillNeeded }, { discoverWorkers }] = await Promise.all(modules.map((m) => import(/* @vite-ignore */ new URL(m, import.meta.url).href)));

describe("the deploy dry run's list of what a real deploy still needs", () => {
  it("names every D1 without a database_id, the R2 bucket, the gateway's secret, an empty ISSUER and the login", () => {
    const lines: string[] = stillNeeded(discoverWorkers());
    for (const w of ["gateway", "crm", "documents", "appointments"]) {
      expect(lines).toContain(`workers/${w}/wrangler.toml: a database_id for buildly-${w} (wrangler d1 create buildly-${w})`);
    }
    expect(lines).toContain("the R2 bucket buildly-documents of workers/documents (wrangler r2 bucket create buildly-documents, once)");
    expect(lines).toContain("the R2 bucket buildly-privacy-archives of workers/gateway (wrangler r2 bucket create buildly-privacy-archives, once)");
    expect(lines).toContain("the secret SIGNING_KEYS_SECRET of workers/gateway (cd workers/gateway && wrangler secret put SIGNING_KEYS_SECRET)");
    expect(lines).toContain("workers/gateway/wrangler.toml: ISSUER, the gateway's public origin (empty now)");
    expect(lines.at(-1)).toMatch(/^a Cloudflare login/);
  });

  it("leaves out what the configuration already has", () => {
    const ready = discoverWorkers().map((w: any) => ({
      ...w,
      d1: w.d1.map((d: any) => ({ ...d, database_id: "0b5c8f2e-7a41-4c55-9d0e-3b1f6f1e2a90" })),
      vars: "ISSUER" in w.vars ? { ...w.vars, ISSUER: "https://api.example.com" } : w.vars,
    }));
    const lines: string[] = stillNeeded(ready);
    expect(lines.filter((l) => l.includes("database_id") || l.includes("ISSUER"))).toEqual([]);
    expect(lines.some((l) => l.includes("SIGNING_KEYS_SECRET"))).toBe(true);
  });
});
