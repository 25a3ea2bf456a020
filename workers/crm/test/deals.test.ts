import { describe, expect, it } from "vitest";
import { defaultPipelineId } from "../src/lib/default-pipeline";
import { a, b, contactInput as contact, create, freshOrg, ids, json, listAll } from "./helpers";

const deal = (overrides: Record<string, unknown> = {}) => ({ title: "Deal", amount: 1000, currency: "EUR", ...overrides });

describe("deals", () => {
  it("creates, reads, updates and deletes a deal", async () => {
    const { client: c, org: cOrg } = freshOrg();
    const person = await create(c, "/contacts", contact());
    const co = await create(c, "/companies", { name: "Buyer Co" });
    const res = await c.post(
      "/deals",
      deal({
        title: "Maintenance contract",
        amount: 1250000,
        currency: "GBP",
        stage: "proposal",
        contact_id: person.id,
        company_id: co.id,
        expected_close_date: "2026-12-15",
      }),
    );
    expect(res.status).toBe(201);
    const d = await res.json<any>();
    expect(res.headers.get("location")).toBe(`/deals/${d.id}`);
    expect(d).toMatchObject({
      title: "Maintenance contract",
      amount: 1250000,
      currency: "GBP",
      pipeline_id: await defaultPipelineId(cOrg),
      stage: "proposal",
      contact_id: person.id,
      company_id: co.id,
      expected_close_date: "2026-12-15",
    });
    expect(Object.keys(d)).not.toContain("organization_id");
    expect(await json(c.get(`/deals/${d.id}`))).toEqual(d);

    const moved = await json(c.patch(`/deals/${d.id}`, { stage: "won", amount: 1300000, expected_close_date: null, contact_id: null }));
    expect(moved).toMatchObject({ id: d.id, stage: "won", amount: 1300000, expected_close_date: null, contact_id: null, company_id: co.id });
    expect(await json(c.get(`/deals/${d.id}`))).toEqual(moved);

    expect((await c.delete(`/deals/${d.id}`)).status).toBe(204);
    expect((await c.get(`/deals/${d.id}`)).status).toBe(404);
    expect((await c.patch(`/deals/${d.id}`, { title: "again" })).status).toBe(404);
    expect((await c.delete(`/deals/${d.id}`)).status).toBe(404);
  });

  it("validates amount, currency and dates", async () => {
    const bad: Record<string, unknown>[] = [
      { amount: 10.5 },
      { amount: -1 },
      { amount: "100" },
      { amount: 2 ** 60 },
      { currency: "eur" },
      { currency: "ABC" },
      { currency: "EURO" },
      { currency: "XXX" },
      { expected_close_date: "2026-02-30" },
      { expected_close_date: "2026-13-01" },
      { expected_close_date: "15/12/2026" },
      { expected_close_date: "2026-12-15T00:00:00Z" },
      { title: "" },
      { stage: "Not An Id" },
      { pipeline_id: "nope" },
      { unknown: 1 },
    ];
    for (const patch of bad) {
      const res = await a.post("/deals", deal(patch));
      expect(res.status, JSON.stringify(patch)).toBe(422);
      const field = Object.keys(patch)[0]!;
      if (field !== "unknown") expect((await res.json<any>()).errors.map((e: any) => e.path)).toContain(field);
    }
    const { amount: _a, ...noAmount } = deal();
    expect((await a.post("/deals", noAmount)).status).toBe(422);
    for (const currency of ["EUR", "USD", "JPY", "CHF", "GBP"]) expect((await a.post("/deals", deal({ currency }))).status).toBe(201);
    expect((await a.post("/deals", deal({ expected_close_date: "2028-02-29" }))).status).toBe(201);
    const d = await create(a, "/deals", deal());
    expect((await a.patch(`/deals/${d.id}`, { currency: "ZZZ" })).status).toBe(422);
    expect((await a.patch(`/deals/${d.id}`, {})).status).toBe(422);
  });

  it("requires the stage to belong to the pipeline, on create and on every move", async () => {
    const { client: c, org: cOrg } = freshOrg();
    const other = await create(c, "/pipelines", {
      name: "Other",
      stages: [
        { id: "open", name: "Open" },
        { id: "closed", name: "Closed" },
      ],
    });
    const wrong = await c.post("/deals", deal({ pipeline_id: other.id, stage: "lead" }));
    expect(wrong.status).toBe(422);
    expect((await wrong.json<any>()).errors).toEqual([{ path: "stage", message: `Not a stage of pipeline ${other.id}` }]);
    const first = await create(c, "/deals", deal({ pipeline_id: other.id }));
    expect(first.stage).toBe("open");

    const d = await create(c, "/deals", deal());
    expect(d.stage).toBe("lead");
    const badStage = await c.patch(`/deals/${d.id}`, { stage: "open" });
    expect(badStage.status).toBe(422);
    expect((await badStage.json<any>()).errors[0].path).toBe("stage");
    // Moving pipeline while the current stage ("lead") is not in it: 422; with a stage of it: fine.
    const badMove = await c.patch(`/deals/${d.id}`, { pipeline_id: other.id });
    expect(badMove.status).toBe(422);
    expect((await badMove.json<any>()).errors[0].path).toBe("stage");
    expect((await json(c.get(`/deals/${d.id}`))).pipeline_id).toBe(await defaultPipelineId(cOrg));
    expect(await json(c.patch(`/deals/${d.id}`, { pipeline_id: other.id, stage: "closed" }))).toMatchObject({ pipeline_id: other.id, stage: "closed" });
    const missingPipeline = await c.patch(`/deals/${d.id}`, { pipeline_id: crypto.randomUUID(), stage: "open" });
    expect(missingPipeline.status).toBe(422);
    expect((await missingPipeline.json<any>()).errors).toEqual([{ path: "pipeline_id", message: "No pipeline with this id exists in this organization" }]);
  });

  it("checks every reference within the organization", async () => {
    const theirContact = await create(b, "/contacts", contact());
    const theirCompany = await create(b, "/companies", { name: "Their Co" });
    const theirPipeline = (await json(b.get("/pipelines"))).data[0];
    const res = await a.post("/deals", deal({ contact_id: theirContact.id, company_id: theirCompany.id }));
    expect(res.status).toBe(422);
    const problem = await res.json<any>();
    expect(problem.errors).toEqual([
      { path: "company_id", message: "No company with this id exists in this organization" },
      { path: "contact_id", message: "No contact with this id exists in this organization" },
    ]);
    expect(JSON.stringify(problem)).not.toContain("Their Co");
    expect((await a.post("/deals", deal({ pipeline_id: theirPipeline.id, stage: "lead" }))).status).toBe(422);

    const mine = await create(a, "/deals", deal());
    for (const change of [{ contact_id: theirContact.id }, { company_id: theirCompany.id }, { pipeline_id: theirPipeline.id }]) {
      const r = await a.patch(`/deals/${mine.id}`, change);
      expect(r.status).toBe(422);
      expect((await r.json<any>()).errors.map((e: any) => e.path)).toContain(Object.keys(change)[0]);
    }
    expect(await json(a.get(`/deals/${mine.id}`))).toEqual(mine);
  });

  it("keeps organizations apart", async () => {
    const d = await create(a, "/deals", deal({ title: "A's deal" }));
    expect((await b.get(`/deals/${d.id}`)).status).toBe(404);
    expect((await b.patch(`/deals/${d.id}`, { amount: 1 })).status).toBe(404);
    expect((await b.delete(`/deals/${d.id}`)).status).toBe(404);
    expect(ids(await listAll(b, "/deals", 100))).not.toContain(d.id);
    expect((await json(a.get(`/deals/${d.id}`))).amount).toBe(1000);
  });

  it("filters by pipeline, stage, contact and company", async () => {
    const { client: c, org: cOrg } = freshOrg();
    const p = await create(c, "/contacts", contact());
    const co = await create(c, "/companies", { name: "Filter Co" });
    const other = await create(c, "/pipelines", { name: "Other", stages: [{ id: "lead", name: "Lead" }] });
    const d1 = await create(c, "/deals", deal({ contact_id: p.id }));
    const d2 = await create(c, "/deals", deal({ company_id: co.id, stage: "won" }));
    const d3 = await create(c, "/deals", deal({ pipeline_id: other.id, contact_id: p.id, company_id: co.id }));
    const q = async (query: string) => ids((await json(c.get(`/deals?${query}`))).data);
    expect(await q(`pipeline_id=${other.id}`)).toEqual([d3.id]);
    expect(await q(`pipeline_id=${await defaultPipelineId(cOrg)}`)).toEqual([d1.id, d2.id]);
    expect(await q("stage=lead")).toEqual([d1.id, d3.id]);
    expect(await q("stage=won")).toEqual([d2.id]);
    expect(await q(`contact_id=${p.id}`)).toEqual([d1.id, d3.id]);
    expect(await q(`company_id=${co.id}`)).toEqual([d2.id, d3.id]);
    expect(await q(`company_id=${co.id}&contact_id=${p.id}&stage=lead`)).toEqual([d3.id]);
    expect((await c.get("/deals?stage=NOT VALID")).status).toBe(422);
  });

  it("sorts on every allowed field and pages through without gaps or repeats", async () => {
    const { client: c } = freshOrg();
    const rows: any[] = [];
    const titles = ["delta", "Alpha", "charlie", "Bravo", "alpha", "echo", "Delta", "foxtrot"];
    for (let i = 0; i < titles.length; i++) {
      rows.push(
        await create(
          c,
          "/deals",
          deal({
            title: titles[i],
            amount: [500, 100, 500, 0, 100, 500, 2500, 100][i],
            expected_close_date: [null, "2026-03-01", "2026-01-15", null, "2026-03-01", null, "2026-02-01", "2027-01-01"][i],
          }),
        ),
      );
    }
    // Give updated_at its own order.
    for (const i of [3, 0, 6]) rows[i] = await json(c.patch(`/deals/${rows[i].id}`, { amount: rows[i].amount }));

    const key = (field: string, v: any) => (field === "title" ? String(v).toLowerCase() : v);
    function expected(field: string, desc: boolean): string[] {
      const sorted = [...rows].sort((x, y) => {
        const [vx, vy] = [key(field, x[field]), key(field, y[field])];
        let cmp: number;
        if (vx === vy) cmp = 0;
        else if (vx === null)
          cmp = -1; // SQLite: NULLs sort first ascending
        else if (vy === null) cmp = 1;
        else cmp = vx < vy ? -1 : 1;
        if (cmp === 0) cmp = x.id < y.id ? -1 : 1;
        return desc ? -cmp : cmp;
      });
      return ids(sorted);
    }

    for (const field of ["created_at", "updated_at", "title", "amount", "expected_close_date"]) {
      for (const desc of [false, true]) {
        const want = expected(field, desc);
        for (const limit of [1, 3, 100]) {
          const got = await listAll(c, `/deals?sort=${desc ? "-" : ""}${field}`, limit);
          expect(ids(got), `${desc ? "-" : ""}${field} limit ${limit}`).toEqual(want);
        }
      }
    }
    expect((await json(c.get("/deals?sort=-amount&limit=2"))).data.map((d: any) => d.amount)).toEqual([2500, 500]);
    for (const bad of ["stage", "amount,title", "-", "AMOUNT", "pipeline_id"]) expect((await c.get(`/deals?sort=${bad}`)).status).toBe(422);
  });

  it("keeps a page boundary stable when rows are written between pages", async () => {
    const { client: c } = freshOrg();
    for (const amount of [10, 20, 30, 40]) await create(c, "/deals", deal({ amount }));
    const first = await json(c.get("/deals?sort=amount&limit=2"));
    expect(first.data.map((d: any) => d.amount)).toEqual([10, 20]);
    await create(c, "/deals", deal({ amount: 15 })); // lands before the cursor: not seen
    await create(c, "/deals", deal({ amount: 35 })); // lands after it: seen
    const second = await json(c.get(`/deals?sort=amount&limit=10&cursor=${first.next_cursor}`));
    expect(second.data.map((d: any) => d.amount)).toEqual([30, 35, 40]);
  });
});
