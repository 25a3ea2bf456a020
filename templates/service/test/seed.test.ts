import { env } from "cloudflare:workers";
import type { D1Migration } from "cloudflare:test";
import { describe, expect, it } from "vitest";
import { listAll, serviceClient } from "@buildly/shared/test";
import { rpc } from "./helpers";

const e = env as unknown as { DB: D1Database; TEST_SEED: D1Migration[] };
const DEMO_ORG = "00000000-0000-4000-8000-000000000001";

async function runSeed() {
  await e.DB.batch(e.TEST_SEED.flatMap((m) => m.queries).map((q) => e.DB.prepare(q)));
}

describe("demo seed", () => {
  it("loads against the migrations, twice without adding anything, and reads back through the API", async () => {
    await runSeed();
    const demo = serviceClient(rpc, DEMO_ORG);
    const once = await listAll(demo, "/items");
    await runSeed();
    expect(await listAll(demo, "/items")).toEqual(once);
    expect(once.map((x) => x.status)).toEqual(["active", "archived"]);
    const found = await listAll(demo, "/items?q=sample");
    expect(found.map((x) => x.id)).toEqual([once[0].id]);
  });
});
