import { describe, expect, it } from "vitest";
import { matchExpression, searchTerms } from "../src/lib/search";
import { a, b, contactInput as contact, create, freshOrg, ids, json, listAll } from "./helpers";

describe("full-text search", () => {
  it("cuts the query into quoted prefix terms, never FTS5 syntax", () => {
    expect(searchTerms(`ada "love" NEAR( OR *x ^y col:z`)).toEqual(["ada", "love", "NEAR", "OR", "x", "y", "col", "z"]);
    expect(matchExpression(`"`, ["name"], "org")).toBeNull();
    expect(matchExpression(`ada NEAR(`, ["name", "domain"], "o-1")).toBe(`organization_id : "o-1" AND {name domain} : "ada"* AND {name domain} : "NEAR"*`);
    expect(matchExpression("x", ["name"], `evil" OR "1`)).toBe(`organization_id : "evil"" OR ""1" AND {name} : "x"*`);
  });

  it("finds contacts by name, email and phone prefixes; all words must match", async () => {
    const { client: c } = freshOrg();
    const ada = await create(c, "/contacts", contact({ first_name: "Ada", last_name: "Lovelace", email: "ada@analytical.example", phone: "+442079460001" }));
    const grace = await create(c, "/contacts", contact({ first_name: "Grace", last_name: "Hopper", email: "grace@cobol.example" }));
    const jose = await create(c, "/contacts", contact({ first_name: "José", last_name: "Núñez", email: "jose@example.org" }));
    const q = async (text: string, extra = "") => ids((await json(c.get(`/contacts?q=${encodeURIComponent(text)}${extra}`))).data);
    expect(await q("ada")).toEqual([ada.id]);
    expect(await q("love")).toEqual([ada.id]);
    expect(await q("Ada Love")).toEqual([ada.id]);
    expect(await q("ada hopper")).toEqual([]);
    expect(await q("cobol")).toEqual([grace.id]);
    expect(await q("44207946")).toEqual([ada.id]);
    expect(await q("nunez")).toEqual([jose.id]);
    expect(await q("JOSÉ")).toEqual([jose.id]);
    expect(await q("example", "&sort=-first_name")).toEqual([jose.id, grace.id, ada.id]);
  });

  it("follows writes: updates and deletes reach the index", async () => {
    const { client: c } = freshOrg();
    const p = await create(c, "/contacts", contact({ first_name: "Before" }));
    expect(ids((await json(c.get("/contacts?q=before"))).data)).toEqual([p.id]);
    await c.patch(`/contacts/${p.id}`, { first_name: "After" });
    expect(ids((await json(c.get("/contacts?q=before"))).data)).toEqual([]);
    expect(ids((await json(c.get("/contacts?q=after"))).data)).toEqual([p.id]);
    // A change to a field the index does not hold leaves it correct.
    await c.patch(`/contacts/${p.id}`, { tags: ["x"] });
    expect(ids((await json(c.get("/contacts?q=after"))).data)).toEqual([p.id]);
    await c.delete(`/contacts/${p.id}`);
    expect(ids((await json(c.get("/contacts?q=after"))).data)).toEqual([]);

    const co = await create(c, "/companies", { name: "Orbital Mechanics", domain: "orbits.example" });
    expect(ids((await json(c.get("/companies?q=orbit"))).data)).toEqual([co.id]);
    await c.patch(`/companies/${co.id}`, { domain: "rockets.example" });
    expect(ids((await json(c.get("/companies?q=orbits.example"))).data)).toEqual([]);
    expect(ids((await json(c.get("/companies?q=rockets"))).data)).toEqual([co.id]);

    const d = await create(c, "/deals", { title: "Trajectory pilot", amount: 1, currency: "USD" });
    expect(ids((await json(c.get("/deals?q=traj"))).data)).toEqual([d.id]);
    await c.patch(`/deals/${d.id}`, { title: "Orbit study" });
    expect(ids((await json(c.get("/deals?q=traj"))).data)).toEqual([]);
    expect(ids((await json(c.get("/deals?q=orbit study"))).data)).toEqual([d.id]);
    await c.delete(`/deals/${d.id}`);
    expect(ids((await json(c.get("/deals?q=orbit"))).data)).toEqual([]);
  });

  it("is safe against FTS5 syntax injection", async () => {
    const { client: c } = freshOrg();
    const near = await create(c, "/companies", { name: "Near Space Ltd" });
    const other = await create(c, "/companies", { name: "Far Out Inc" });
    const attempts = [
      `"`,
      `""`,
      `NEAR(`,
      `NEAR(far near, 5)`,
      `*`,
      `^`,
      `)`,
      `(`,
      `name:far`,
      `{name}: far`,
      `far OR near`,
      `far AND NOT near`,
      `-far`,
      `"far" OR "`,
      `'; DROP TABLE companies; --`,
      `\\`,
      `%`,
      `_`,
    ];
    for (const q of attempts) {
      for (const path of ["/contacts", "/companies", "/deals"]) {
        const res = await c.get(`${path}?q=${encodeURIComponent(q)}`);
        expect(res.status, `${path}?q=${q}`).toBe(200);
        expect(Array.isArray((await res.json<any>()).data)).toBe(true);
      }
    }
    const q = async (text: string) => ids((await json(c.get(`/companies?q=${encodeURIComponent(text)}`))).data);
    expect(await q(`"`)).toEqual([]);
    expect(await q(`NEAR(`)).toEqual([near.id]); // the word "near", as a literal prefix
    expect(await q(`far OR near`)).toEqual([]); // OR is a word too: nothing has far, or and near
    expect(await q(`name:far`)).toEqual([]); // "name" is a word, not a column filter
    expect(await q(`far out`)).toEqual([other.id]);
    expect((await json(c.get("/companies"))).data).toHaveLength(2);
    expect((await c.get(`/companies?q=${"x".repeat(201)}`)).status).toBe(422);
    expect((await c.get("/companies?q=")).status).toBe(422);
  });

  it("never shows another organization's records", async () => {
    const tag = `zq${crypto.randomUUID().slice(0, 8)}`;
    const mine = await create(a, "/companies", { name: `${tag} Holdings` });
    await create(b, "/companies", { name: `${tag} Holdings` });
    await create(b, "/contacts", contact({ first_name: tag }));
    expect(ids((await json(a.get(`/companies?q=${tag}`))).data)).toEqual([mine.id]);
    expect((await json(a.get(`/contacts?q=${tag}`))).data).toEqual([]);
  });

  it("sorts and pages search results like any list", async () => {
    const { client: c } = freshOrg();
    const made = [];
    for (const [title, amount] of [
      ["Alpha renewal", 300],
      ["Beta renewal", 100],
      ["Gamma upsell", 200],
      ["Delta renewal", 200],
      ["Epsilon renewal", 50],
    ] as const) {
      made.push(await create(c, "/deals", { title, amount, currency: "EUR" }));
    }
    const renewals = await listAll(c, "/deals?q=renewal&sort=-amount", 1);
    expect(renewals.map((d) => d.title)).toEqual(["Alpha renewal", "Delta renewal", "Beta renewal", "Epsilon renewal"]);
    const byTitle = await listAll(c, "/deals?q=renew&sort=title", 3);
    expect(byTitle.map((d) => d.title)).toEqual(["Alpha renewal", "Beta renewal", "Delta renewal", "Epsilon renewal"]);
  });
});
