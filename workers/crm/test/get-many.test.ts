import { describe, expect, it } from "vitest";
import { ORG_A, ORG_B, a, b, contactInput as contact, create, identity, json, rpc } from "./helpers";

describe("getMany (the data mesh's batched read)", () => {
  it("reads each model by ids within the caller's organization only", async () => {
    const co = await create(a, "/companies", { name: "Mesh Co" });
    const person = await create(a, "/contacts", contact({ company_id: co.id }));
    const pipeline = (await json(a.get("/pipelines"))).data[0];
    const deal = await create(a, "/deals", { title: "Mesh deal", amount: 1, currency: "EUR", contact_id: person.id });
    const act = await create(a, "/activities", { type: "note", deal_id: deal.id, body: "mesh" });
    const foreign = {
      contacts: (await create(b, "/contacts", contact())).id,
      companies: (await create(b, "/companies", { name: "B" })).id,
      deals: (await create(b, "/deals", { title: "B", amount: 1, currency: "EUR" })).id,
      pipelines: (await json(b.get("/pipelines"))).data[0].id,
      activities: (await create(b, "/activities", { type: "note", company_id: (await create(b, "/companies", { name: "B2" })).id, body: "b" })).id,
    };
    const mine = { contacts: person, companies: co, deals: deal, pipelines: pipeline, activities: act };

    for (const model of ["contacts", "companies", "deals", "pipelines", "activities"] as const) {
      const own = mine[model];
      const res = await rpc.getMany(model, [own.id, foreign[model], crypto.randomUUID(), own.id], identity(ORG_A));
      expect(res, model).toEqual({ ok: true, data: [await json(a.get(`/${model}/${own.id}`))] });
      // The other organization sees its own record and not ours.
      const theirs = await rpc.getMany(model, [own.id, foreign[model]], identity(ORG_B));
      expect(theirs.ok && theirs.data.map((r: any) => r.id)).toEqual([foreign[model]]);
      expect(await rpc.getMany(model, [], identity(ORG_A))).toEqual({ ok: true, data: [] });
    }
  });

  it("answers an unknown model with 404, too many or malformed ids with 422, no context with 401", async () => {
    const unknown = await rpc.getMany("invoices", [crypto.randomUUID()], identity(ORG_A));
    expect(unknown).toMatchObject({ ok: false, error: { status: 404 } });
    const proto = await rpc.getMany("__proto__", [], identity(ORG_A));
    expect(proto).toMatchObject({ ok: false, error: { status: 404 } });
    const many = await rpc.getMany(
      "contacts",
      Array.from({ length: 101 }, () => crypto.randomUUID()),
      identity(ORG_A),
    );
    expect(many).toMatchObject({ ok: false, error: { status: 422 } });
    const hundred = await rpc.getMany(
      "contacts",
      Array.from({ length: 100 }, () => crypto.randomUUID()),
      identity(ORG_A),
    );
    expect(hundred).toEqual({ ok: true, data: [] });
    expect(await rpc.getMany("deals", ["not-a-uuid"], identity(ORG_A))).toMatchObject({ ok: false, error: { status: 422 } });
    expect(await rpc.getMany("deals", [], { request_id: "x" })).toMatchObject({ ok: false, error: { status: 401 } });
  });
});
