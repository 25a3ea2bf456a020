import { describe, expect, it } from "vitest";
import { a, b, contactInput as contact, create, freshOrg, ids, json, listAll } from "./helpers";

describe("activities", () => {
  it("logs, reads, updates and deletes an activity", async () => {
    const { client: c } = freshOrg();
    const person = await create(c, "/contacts", contact());
    const res = await c.post("/activities", { type: "call", contact_id: person.id, occurred_at: "2026-01-12T15:30:00Z", body: " Discussed the spec. " });
    expect(res.status).toBe(201);
    const act = await res.json<any>();
    expect(res.headers.get("location")).toBe(`/activities/${act.id}`);
    expect(act).toMatchObject({
      type: "call",
      contact_id: person.id,
      company_id: null,
      deal_id: null,
      occurred_at: "2026-01-12T15:30:00.000Z",
      body: "Discussed the spec.",
    });
    expect(await json(c.get(`/activities/${act.id}`))).toEqual(act);

    const d = await create(c, "/deals", { title: "Spec deal", amount: 1, currency: "EUR" });
    const updated = await json(c.patch(`/activities/${act.id}`, { type: "meeting", deal_id: d.id, body: "Met instead." }));
    expect(updated).toMatchObject({ type: "meeting", contact_id: person.id, deal_id: d.id, body: "Met instead." });
    expect(await json(c.get(`/activities/${act.id}`))).toEqual(updated);

    expect((await c.delete(`/activities/${act.id}`)).status).toBe(204);
    expect((await c.get(`/activities/${act.id}`)).status).toBe(404);
    expect((await c.delete(`/activities/${act.id}`)).status).toBe(404);
    expect((await c.patch(`/activities/${act.id}`, { body: "x" })).status).toBe(404);
  });

  it("defaults occurred_at to now and validates its input", async () => {
    const { client: c } = freshOrg();
    const co = await create(c, "/companies", { name: "Co" });
    const before = new Date().toISOString();
    const act = await create(c, "/activities", { type: "note", company_id: co.id, body: "x" });
    expect(act.occurred_at >= before.slice(0, 19)).toBe(true);
    const bad: Record<string, unknown>[] = [
      { type: "note", body: "no link" },
      { type: "note", body: "null links", contact_id: null, company_id: null, deal_id: null },
      { type: "sms", company_id: co.id, body: "x" },
      { type: "note", company_id: co.id, body: "" },
      { type: "note", company_id: co.id, body: "x", occurred_at: "2026-01-12T15:30:00+02:00" },
      { type: "note", company_id: co.id, body: "x", occurred_at: "yesterday" },
      { type: "note", company_id: co.id, body: "x", extra: true },
      { type: "note", company_id: "not-a-uuid", body: "x" },
    ];
    for (const body of bad) expect((await c.post("/activities", body)).status, JSON.stringify(body)).toBe(422);
    const unlinked = await json(c.post("/activities", bad[0]));
    expect(unlinked.errors[0].message).toMatch(/at least one of contact_id, company_id or deal_id/);
    // An update may not leave it linked to nothing.
    const cleared = await c.patch(`/activities/${act.id}`, { company_id: null });
    expect(cleared.status).toBe(422);
    expect((await cleared.json<any>()).errors[0].message).toMatch(/at least one/);
    expect((await json(c.get(`/activities/${act.id}`))).company_id).toBe(co.id);
  });

  it("links only records of its own organization", async () => {
    const theirContact = await create(b, "/contacts", contact());
    const theirCompany = await create(b, "/companies", { name: "B Co" });
    const theirDeal = await create(b, "/deals", { title: "B deal", amount: 1, currency: "EUR" });
    const res = await a.post("/activities", { type: "note", contact_id: theirContact.id, company_id: theirCompany.id, deal_id: theirDeal.id, body: "x" });
    expect(res.status).toBe(422);
    expect((await res.json<any>()).errors.map((e: any) => e.path)).toEqual(["company_id", "contact_id", "deal_id"]);
    const mine = await create(a, "/contacts", contact());
    const act = await create(a, "/activities", { type: "note", contact_id: mine.id, body: "x" });
    const moved = await a.patch(`/activities/${act.id}`, { deal_id: theirDeal.id });
    expect(moved.status).toBe(422);
    expect((await moved.json<any>()).errors).toEqual([{ path: "deal_id", message: "No deal with this id exists in this organization" }]);

    expect((await b.get(`/activities/${act.id}`)).status).toBe(404);
    expect((await b.patch(`/activities/${act.id}`, { body: "y" })).status).toBe(404);
    expect((await b.delete(`/activities/${act.id}`)).status).toBe(404);
    expect(ids(await listAll(b, "/activities", 100))).not.toContain(act.id);
    expect((await json(a.get(`/activities/${act.id}`))).body).toBe("x");
  });

  it("lists newest first by default, filters by link and type, and sorts", async () => {
    const { client: c } = freshOrg();
    const p = await create(c, "/contacts", contact());
    const co = await create(c, "/companies", { name: "Co" });
    const d = await create(c, "/deals", { title: "D", amount: 1, currency: "EUR" });
    const mk = (type: string, occurred_at: string, links: Record<string, string>) => create(c, "/activities", { type, occurred_at, body: type, ...links });
    const a1 = await mk("call", "2026-01-01T10:00:00.000Z", { contact_id: p.id });
    const a2 = await mk("email", "2026-01-03T10:00:00.000Z", { contact_id: p.id, deal_id: d.id });
    const a3 = await mk("note", "2026-01-02T10:00:00.000Z", { company_id: co.id });
    const a4 = await mk("meeting", "2026-01-04T10:00:00.000Z", { company_id: co.id, deal_id: d.id });
    const q = async (query: string) => ids(await listAll(c, `/activities${query}`, 1));
    expect(await q("")).toEqual([a4.id, a2.id, a3.id, a1.id]);
    expect(await q("?sort=occurred_at")).toEqual([a1.id, a3.id, a2.id, a4.id]);
    expect(await q("?sort=created_at")).toEqual([a1.id, a2.id, a3.id, a4.id]);
    expect(await q(`?contact_id=${p.id}`)).toEqual([a2.id, a1.id]);
    expect(await q(`?company_id=${co.id}`)).toEqual([a4.id, a3.id]);
    expect(await q(`?deal_id=${d.id}`)).toEqual([a4.id, a2.id]);
    expect(await q(`?deal_id=${d.id}&type=email`)).toEqual([a2.id]);
    expect(await q("?type=note")).toEqual([a3.id]);
    expect((await c.get("/activities?type=sms")).status).toBe(422);
    expect((await c.get("/activities?sort=body")).status).toBe(422);
  });

  it("goes with the deal it was logged against alone; stays, unlinked, when linked elsewhere too", async () => {
    const { client: c } = freshOrg();
    const p = await create(c, "/contacts", contact());
    const d = await create(c, "/deals", { title: "D", amount: 1, currency: "EUR", contact_id: p.id });
    const alone = await create(c, "/activities", { type: "note", deal_id: d.id, body: "deal only" });
    const shared = await create(c, "/activities", { type: "call", deal_id: d.id, contact_id: p.id, body: "deal and contact" });
    expect((await c.delete(`/deals/${d.id}`)).status).toBe(204);
    expect((await c.get(`/activities/${alone.id}`)).status).toBe(404);
    expect(await json(c.get(`/activities/${shared.id}`))).toMatchObject({ deal_id: null, contact_id: p.id });
  });
});
