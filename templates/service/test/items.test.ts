import { describe, expect, it } from "vitest";
import { expectProblem, listAll, problemPaths } from "@buildly/shared/test";
import { a, b, createItem, fresh } from "./helpers";

describe("items: create, read, update, delete", () => {
  it("creates an item and reads it back; another organization cannot see, change or delete it", async () => {
    const res = await a.post("/items", { name: "  Widget  ", description: "Blue", tags: ["x"] });
    expect(res.status).toBe(201);
    const item = await res.json<any>();
    expect(res.headers.get("location")).toBe(`/items/${item.id}`);
    expect(item).toMatchObject({ name: "Widget", description: "Blue", status: "active", contact_id: null, tags: ["x"] });
    expect(item.created_at).toBe(item.updated_at);
    expect(Object.keys(item)).not.toContain("organization_id");
    expect(Object.keys(item)).not.toContain("rid");

    expect(await (await a.get(`/items/${item.id}`)).json()).toEqual(item);
    await expectProblem(await b.get(`/items/${item.id}`), 404);
    await expectProblem(await b.patch(`/items/${item.id}`, { name: "Stolen" }), 404);
    await expectProblem(await b.delete(`/items/${item.id}`), 404);
    expect((await (await a.get(`/items/${item.id}`)).json<any>()).name).toBe("Widget");
  });

  it("changes only the fields given, and needs at least one", async () => {
    const item = await createItem(a, { description: "keep me" });
    const res = await a.patch(`/items/${item.id}`, { status: "archived" });
    expect(res.status).toBe(200);
    const changed = await res.json<any>();
    expect(changed).toMatchObject({ id: item.id, name: item.name, description: "keep me", status: "archived" });
    expect(changed.updated_at >= item.updated_at).toBe(true);
    await expectProblem(await a.patch(`/items/${item.id}`, {}), 422);
    await expectProblem(await a.patch(`/items/${crypto.randomUUID()}`, { name: "x" }), 404);
  });

  it("deletes an item once: then it is gone", async () => {
    const item = await createItem(a);
    const res = await a.delete(`/items/${item.id}`);
    expect(res.status).toBe(204);
    await expectProblem(await a.get(`/items/${item.id}`), 404);
    await expectProblem(await a.delete(`/items/${item.id}`), 404);
  });

  it("answers bad input with a problem naming the fields", async () => {
    expect(await problemPaths(await a.post("/items", { name: "" }))).toEqual(["name"]);
    expect(await problemPaths(await a.post("/items", { name: "x", status: "lost" }))).toEqual(["status"]);
    expect(await problemPaths(await a.post("/items", { name: "x", contact_id: "not-a-uuid" }))).toEqual(["contact_id"]);
    expect((await problemPaths(await a.post("/items", { name: "x", surprise: 1 }))).length).toBe(1);
    expect(await problemPaths(await a.get("/items/not-a-uuid"))).toEqual(["param.id"]);
    expect(await problemPaths(await a.get("/items?limit=0"))).toEqual(["query.limit"]);
    expect(await problemPaths(await a.get("/items?sort=colour"))).toEqual(["query.sort"]);
    const notJson = await a.raw("POST", "/items", { body: "name=x", headers: { "content-type": "application/x-www-form-urlencoded" } });
    await expectProblem(notJson, 415);
    const broken = await a.raw("POST", "/items", { body: "{", headers: { "content-type": "application/json" } });
    await expectProblem(broken, 400);
    const huge = await a.post("/items", { name: "x", description: "y".repeat(70 * 1024) });
    await expectProblem(huge, 413);
  });
});

describe("items: the list", () => {
  it("pages with a cursor through every item exactly once, in each sort order", async () => {
    const { client } = fresh();
    const made = [];
    for (const name of ["delta", "alpha", "charlie", "bravo", "echo"]) made.push(await createItem(client, { name }));
    const all = await listAll(client, "/items", 2);
    expect(all.map((x) => x.id)).toEqual(made.map((x) => x.id));
    const byName = await listAll(client, "/items?sort=name", 2);
    expect(byName.map((x) => x.name)).toEqual(["alpha", "bravo", "charlie", "delta", "echo"]);
    const byNameDesc = await listAll(client, "/items?sort=-name", 3);
    expect(byNameDesc.map((x) => x.name)).toEqual(["echo", "delta", "charlie", "bravo", "alpha"]);
  });

  it("refuses a cursor it did not issue, or one issued for another sort", async () => {
    const { client } = fresh();
    for (let i = 0; i < 3; i++) await createItem(client);
    const page = await (await client.get("/items?limit=1")).json<any>();
    expect(page.next_cursor).toEqual(expect.any(String));
    expect(await problemPaths(await client.get(`/items?sort=name&cursor=${encodeURIComponent(page.next_cursor)}`))).toEqual(["cursor"]);
    expect(await problemPaths(await client.get("/items?cursor=bogus"))).toEqual(["cursor"]);
  });

  it("filters by status, tag, contact and full-text query, within the organization", async () => {
    const { client } = fresh();
    const contact = crypto.randomUUID();
    const lamp = await createItem(client, { name: "Brass lamp", tags: ["light"], contact_id: contact });
    const chair = await createItem(client, { name: "Oak chair", description: "Sturdy lamp-side seat", status: "archived" });
    await createItem(client, { name: "Table" });
    await createItem(b, { name: "Brass lamp", tags: ["light"], contact_id: contact });
    const ids = async (query: string) => (await listAll(client, `/items?${query}`)).map((x) => x.id);
    expect(await ids("status=archived")).toEqual([chair.id]);
    expect(await ids("tag=light")).toEqual([lamp.id]);
    expect(await ids(`contact_id=${contact}`)).toEqual([lamp.id]);
    expect(await ids("q=lam")).toEqual([lamp.id, chair.id]);
    expect(await ids("q=brass%20lamp")).toEqual([lamp.id]);
    expect(await ids('q="%20OR%20*')).toEqual([]);
    expect(await ids("q=lamp&status=active")).toEqual([lamp.id]);
  });
});
