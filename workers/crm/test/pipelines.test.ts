import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { defaultPipelineId, provisionDefaultPipeline } from "../src/lib/default-pipeline";
import { a, b, create, freshOrg, ids, json, listAll } from "./helpers";

const DB = (env as unknown as { DB: D1Database }).DB;

describe("pipelines", () => {
  it("derives default pipeline ids as RFC 9562 UUID v5 of the organization id, the same ids as before", async () => {
    // Pinned: ids in D1 were derived this way, so the namespace and the argument order may never change.
    expect(defaultPipelineId("00000000-0000-4000-8000-000000000001")).toBe("5ce69a22-6b10-57d8-912d-61145853291f");
    expect(defaultPipelineId("11111111-1111-4111-8111-111111111111")).not.toBe(defaultPipelineId("00000000-0000-4000-8000-000000000001"));
  });

  it("gives an organization its default pipeline the first time it touches pipelines", async () => {
    const { client: c, org: cOrg } = freshOrg();
    const before = await DB.prepare("SELECT count(*) AS n FROM pipelines WHERE organization_id = ?").bind(cOrg).first<{ n: number }>();
    expect(before?.n).toBe(0);
    const list = await json(c.get("/pipelines"));
    expect(list.data).toHaveLength(1);
    const p = list.data[0];
    expect(p).toMatchObject({ id: await defaultPipelineId(cOrg), name: "Sales", is_default: true });
    expect(p.stages.map((s: any) => s.id)).toEqual(["lead", "qualified", "proposal", "negotiation", "won", "lost"]);
    expect(await json(c.get(`/pipelines/${p.id}`))).toEqual(p);
    // Another organization gets its own, different id.
    const { client: d, org: dOrg } = freshOrg();
    const other = await json(d.get("/pipelines"));
    expect(other.data[0].id).not.toBe(p.id);
    expect(other.data[0].id).toBe(await defaultPipelineId(dOrg));
  });

  it("creates the default exactly once under concurrent first requests", async () => {
    const { client: c, org: cOrg } = freshOrg();
    await Promise.all([
      ...Array.from({ length: 8 }, () => c.get("/pipelines")),
      ...Array.from({ length: 4 }, () => c.get("/deals")),
      ...Array.from({ length: 4 }, (_, i) => c.post("/deals", { title: `Race ${i}`, amount: 1, currency: "EUR" })),
    ]);
    const rows = await DB.prepare("SELECT id FROM pipelines WHERE organization_id = ?").bind(cOrg).all();
    expect(rows.results).toEqual([{ id: await defaultPipelineId(cOrg) }]);
    const deals = await json(c.get("/deals"));
    expect(deals.data).toHaveLength(4);
    expect(new Set(deals.data.map((d: any) => d.pipeline_id))).toEqual(new Set([await defaultPipelineId(cOrg)]));
  });

  it("creates, reads, renames and deletes a pipeline with generated stage ids", async () => {
    const { client: c } = freshOrg();
    const res = await c.post("/pipelines", { name: "Partnerships", stages: [{ id: "intro", name: "Intro" }, { name: "Pilot" }] });
    expect(res.status).toBe(201);
    const p = await res.json<any>();
    expect(res.headers.get("location")).toBe(`/pipelines/${p.id}`);
    expect(p).toMatchObject({ name: "Partnerships", is_default: false });
    expect(p.stages[0]).toEqual({ id: "intro", name: "Intro" });
    expect(p.stages[1].id).toMatch(/^[0-9a-f-]{36}$/);
    expect(p.stages[1].name).toBe("Pilot");
    expect(await json(c.get(`/pipelines/${p.id}`))).toEqual(p);
    const renamed = await json(c.patch(`/pipelines/${p.id}`, { name: "Alliances" }));
    expect(renamed).toMatchObject({ name: "Alliances", stages: p.stages });
    expect((await listAll(c, "/pipelines?sort=name", 1)).map((x) => x.name)).toEqual(["Alliances", "Sales"]);
    expect((await c.delete(`/pipelines/${p.id}`)).status).toBe(204);
    expect((await c.get(`/pipelines/${p.id}`)).status).toBe(404);
    expect((await c.delete(`/pipelines/${p.id}`)).status).toBe(404);
  });

  it("validates stages", async () => {
    const bad = [
      { name: "No stages", stages: [] },
      {
        name: "Dup",
        stages: [
          { id: "a", name: "A" },
          { id: "a", name: "Again" },
        ],
      },
      { name: "Bad id", stages: [{ id: "Has Space", name: "A" }] },
      { name: "No name", stages: [{ id: "a" }] },
      { name: "Extra", stages: [{ id: "a", name: "A", colour: "red" }] },
      { name: "Too many", stages: Array.from({ length: 31 }, (_, i) => ({ name: `S${i}` })) },
      { stages: [{ name: "A" }] },
    ];
    for (const body of bad) {
      const res = await a.post("/pipelines", body);
      expect(res.status, JSON.stringify(body).slice(0, 60)).toBe(422);
    }
    const dup = await json(a.post("/pipelines", bad[1]));
    expect(dup.errors).toEqual([{ path: "stages.1.id", message: "Stage ids must be unique within a pipeline" }]);
  });

  it("reorders, renames and adds stages; removing a stage with deals is a 409", async () => {
    const { client: c } = freshOrg();
    const p = await create(c, "/pipelines", {
      name: "Hiring",
      stages: [
        { id: "applied", name: "Applied" },
        { id: "interview", name: "Interview" },
        { id: "offer", name: "Offer" },
      ],
    });
    const deal = await create(c, "/deals", { title: "Candidate", amount: 0, currency: "EUR", pipeline_id: p.id, stage: "interview" });

    const reordered = await json(
      c.patch(`/pipelines/${p.id}`, {
        stages: [
          { id: "offer", name: "Offer made" },
          { id: "interview", name: "Interview" },
          { id: "applied", name: "Applied" },
          { id: "hired", name: "Hired" },
        ],
      }),
    );
    expect(reordered.stages.map((s: any) => s.id)).toEqual(["offer", "interview", "applied", "hired"]);
    expect(reordered.stages[0].name).toBe("Offer made");

    // Removing "applied" (no deals) is fine; removing "interview" (one deal) is not.
    const removeUnused = await c.patch(`/pipelines/${p.id}`, {
      stages: [
        { id: "interview", name: "Interview" },
        { id: "offer", name: "Offer" },
      ],
    });
    expect(removeUnused.status).toBe(200);
    const removeUsed = await c.patch(`/pipelines/${p.id}`, { name: "Renamed too", stages: [{ id: "offer", name: "Offer" }] });
    expect(removeUsed.status).toBe(409);
    expect((await removeUsed.json<any>()).errors).toEqual([{ path: "stages", message: "Stage interview still has deals" }]);
    const unchanged = await json(c.get(`/pipelines/${p.id}`));
    expect(unchanged.name).toBe("Hiring");
    expect(unchanged.stages.map((s: any) => s.id)).toEqual(["interview", "offer"]);

    expect((await c.patch(`/deals/${deal.id}`, { stage: "offer" })).status).toBe(200);
    expect((await c.patch(`/pipelines/${p.id}`, { stages: [{ id: "offer", name: "Offer" }] })).status).toBe(200);
  });

  it("deletes a pipeline only when no deal uses it; a deleted default is not created again", async () => {
    const { client: c, org: cOrg } = freshOrg();
    const defaultId = await defaultPipelineId(cOrg);
    const deal = await create(c, "/deals", { title: "On default", amount: 10, currency: "USD" });
    expect(deal).toMatchObject({ pipeline_id: defaultId, stage: "lead" });
    const refused = await c.delete(`/pipelines/${defaultId}`);
    expect(refused.status).toBe(409);
    expect(await refused.json<any>()).toMatchObject({ deals: 1 });

    const other = await create(c, "/pipelines", { name: "Other", stages: [{ id: "open", name: "Open" }] });
    expect((await c.patch(`/deals/${deal.id}`, { pipeline_id: other.id, stage: "open" })).status).toBe(200);
    expect((await c.delete(`/pipelines/${defaultId}`)).status).toBe(204);

    expect(ids((await json(c.get("/pipelines"))).data)).toEqual([other.id]);
    // A request that found the organization unprovisioned but wrote after all this does not bring it back.
    await provisionDefaultPipeline(DB, cOrg);
    expect(ids((await json(c.get("/pipelines"))).data)).toEqual([other.id]);
    expect((await c.get(`/pipelines/${defaultId}`)).status).toBe(404);
    const noDefault = await c.post("/deals", { title: "Where to?", amount: 1, currency: "USD" });
    expect(noDefault.status).toBe(422);
    expect((await noDefault.json<any>()).errors[0]).toMatchObject({ path: "pipeline_id" });
    expect((await c.post("/deals", { title: "Here", amount: 1, currency: "USD", pipeline_id: other.id })).status).toBe(201);
  });

  it("keeps organizations apart", async () => {
    const p = await create(a, "/pipelines", { name: "Secret", stages: [{ id: "s", name: "S" }] });
    expect((await b.get(`/pipelines/${p.id}`)).status).toBe(404);
    expect((await b.patch(`/pipelines/${p.id}`, { name: "Mine now" })).status).toBe(404);
    expect((await b.delete(`/pipelines/${p.id}`)).status).toBe(404);
    expect(ids(await listAll(b, "/pipelines", 100))).not.toContain(p.id);
    // B cannot put a deal in A's pipeline either.
    const res = await b.post("/deals", { title: "Sneaky", amount: 1, currency: "EUR", pipeline_id: p.id, stage: "s" });
    expect(res.status).toBe(422);
    expect((await res.json<any>()).errors[0].path).toBe("pipeline_id");
    expect((await json(a.get(`/pipelines/${p.id}`))).name).toBe("Secret");
  });
});
