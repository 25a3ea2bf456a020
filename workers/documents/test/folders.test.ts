import { describe, expect, it } from "vitest";
import { ORG_A, ORG_B } from "@buildly/shared/test";
import { count, folder, freshOrg, identity, listAll, objectsWith, putContent, randomBytes, row, rpc, serviceClient, text, uploaded } from "./helpers";

const b = serviceClient(rpc, ORG_B);

describe("folders", () => {
  it("creates folders at the top level and inside others, and reads them back", async () => {
    const { org } = freshOrg();
    const ctx = identity(org, { user_id: "creator-1" });
    const res = await rpc.handle(
      new Request("https://service.internal/folders", {
        method: "POST",
        body: JSON.stringify({ name: "Clients" }),
        headers: { "content-type": "application/json" },
      }),
      ctx,
    );
    expect(res.status).toBe(201);
    const top = await res.json<any>();
    expect(top).toMatchObject({ name: "Clients", parent_id: null, created_by: "creator-1" });
    expect(top.created_at).toMatch(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d{3}Z$/);
    expect(top.updated_at).toBe(top.created_at);
    expect(res.headers.get("location")).toBe(`/folders/${top.id}`);
    expect(top).not.toHaveProperty("organization_id");

    const client = serviceClient(rpc, org);
    const child = await folder(client, "Analytical Engines Ltd", top.id);
    expect(child.parent_id).toBe(top.id);
    expect(await (await client.get(`/folders/${child.id}`)).json()).toEqual(child);
  });

  it("lists all folders, the top level, or one folder's children, a page at a time", async () => {
    const { client } = freshOrg();
    const x = await folder(client, "X");
    const y = await folder(client, "Y");
    const x1 = await folder(client, "X1", x.id);
    const x2 = await folder(client, "X2", x.id);
    const x1a = await folder(client, "X1a", x1.id);
    const ids = async (q: string) => (await listAll(client, `/folders${q}`)).map((f) => f.id);
    expect(await ids("")).toEqual([x.id, y.id, x1.id, x2.id, x1a.id]);
    expect(await ids("?parent_id=root")).toEqual([x.id, y.id]);
    expect(await ids(`?parent_id=${x.id}`)).toEqual([x1.id, x2.id]);
    expect(await ids(`?parent_id=${x1a.id}`)).toEqual([]);
    const page = await (await client.get("/folders?limit=2")).json<any>();
    expect(page.data.map((f: any) => f.id)).toEqual([x.id, y.id]);
    expect(page.next_cursor).toEqual(expect.any(String));
    expect((await client.get("/folders?parent_id=nope")).status).toBe(422);
    expect((await client.get("/folders?cursor=nope")).status).toBe(422);
  });

  it("keeps names unique among siblings (409), the top level included, but not across parents", async () => {
    const { client } = freshOrg();
    const one = await folder(client, "Reports");
    const dup = await client.post("/folders", { name: "Reports" });
    expect(dup.status).toBe(409);
    expect(await dup.json()).toMatchObject({ status: 409, errors: [{ path: "name" }] });
    expect((await client.post("/folders", { name: "Reports", parent_id: null })).status).toBe(409);
    // Elsewhere the same name is fine, and names are case-sensitive.
    await folder(client, "Reports", one.id);
    expect((await client.post("/folders", { name: "Reports", parent_id: one.id })).status).toBe(409);
    await folder(client, "reports");
    // Another organization has its own namespace.
    expect((await serviceClient(rpc, crypto.randomUUID()).post("/folders", { name: "Reports" })).status).toBe(201);

    // Renaming into a taken name, or moving next to a namesake, is a conflict too.
    const other = await folder(client, "Other");
    expect((await client.patch(`/folders/${other.id}`, { name: "Reports" })).status).toBe(409);
    const nested = await folder(client, "Other", one.id);
    expect((await client.patch(`/folders/${nested.id}`, { parent_id: null })).status).toBe(409);
  });

  it("rejects bad input (422), malformed JSON (400) and other media types (415)", async () => {
    const { client } = freshOrg();
    const foreign = await folder(b, `b-${crypto.randomUUID()}`);
    const cases: [unknown, string][] = [
      [{}, "name"],
      [{ name: "" }, "name"],
      [{ name: "a/b" }, "name"],
      [{ name: "a\\b" }, "name"],
      [{ name: "bell\u0007" }, "name"],
      [{ name: ".." }, "name"],
      [{ name: "x".repeat(256) }, "name"],
      [{ name: "ok", extra: 1 }, ""],
      [{ name: "ok", parent_id: "nope" }, "parent_id"],
      [{ name: "ok", parent_id: crypto.randomUUID() }, "parent_id"],
      [{ name: "ok", parent_id: foreign.id }, "parent_id"],
    ];
    for (const [body, path] of cases) {
      const res = await client.post("/folders", body);
      expect(res.status, JSON.stringify(body)).toBe(422);
      if (path)
        expect(
          (await res.json<any>()).errors.map((e: any) => e.path),
          JSON.stringify(body),
        ).toContain(path);
    }
    const foreignParent = await client.post("/folders", { name: "ok", parent_id: foreign.id });
    expect((await foreignParent.json<any>()).errors[0].message).toMatch(/does not exist/);
    expect((await client.raw("POST", "/folders", { body: "{", headers: { "content-type": "application/json" } })).status).toBe(400);
    expect((await client.raw("POST", "/folders", { body: "name=x", headers: { "content-type": "application/x-www-form-urlencoded" } })).status).toBe(415);
    expect(await listAll(client, "/folders")).toEqual([]);
  });

  it("renames and moves a folder with PATCH", async () => {
    const { client } = freshOrg();
    const a = await folder(client, "A");
    const bf = await folder(client, "B");
    const c = await folder(client, "C", a.id);
    const moved = await client.patch(`/folders/${c.id}`, { parent_id: bf.id, name: "C2" });
    expect(moved.status).toBe(200);
    const body = await moved.json<any>();
    expect(body).toMatchObject({ id: c.id, name: "C2", parent_id: bf.id });
    expect(body.updated_at >= body.created_at).toBe(true);
    expect((await listAll(client, `/folders?parent_id=${a.id}`)).map((f) => f.id)).toEqual([]);
    expect((await listAll(client, `/folders?parent_id=${bf.id}`)).map((f) => f.id)).toEqual([c.id]);
    const toRoot = await client.patch(`/folders/${c.id}`, { parent_id: null });
    expect(await toRoot.json()).toMatchObject({ parent_id: null, name: "C2" });

    for (const [body, status] of [
      [{}, 422],
      [{ name: "a/b" }, 422],
      [{ parent_id: crypto.randomUUID() }, 422],
      [{ owner: "x" }, 422],
    ] as const) {
      expect((await client.patch(`/folders/${c.id}`, body)).status, JSON.stringify(body)).toBe(status);
    }
    expect((await client.patch(`/folders/${crypto.randomUUID()}`, { name: "x" })).status).toBe(404);
  });

  it("refuses to move a folder into itself or below itself (409), at any depth", async () => {
    const { client } = freshOrg();
    const top = await folder(client, "top");
    const mid = await folder(client, "mid", top.id);
    const low = await folder(client, "low", mid.id);
    const deepest = await folder(client, "deepest", low.id);
    for (const target of [top, mid, low, deepest]) {
      const res = await client.patch(`/folders/${top.id}`, { parent_id: target.id });
      expect(res.status, target.name).toBe(409);
      expect(await res.json()).toMatchObject({ status: 409, errors: [{ path: "parent_id" }] });
    }
    expect((await client.patch(`/folders/${mid.id}`, { parent_id: deepest.id })).status).toBe(409);
    expect((await client.patch(`/folders/${low.id}`, { parent_id: low.id })).status).toBe(409);
    // The tree is unchanged.
    expect(await (await client.get(`/folders/${top.id}`)).json()).toEqual(top);
    // Sideways and upwards moves are fine.
    expect((await client.patch(`/folders/${deepest.id}`, { parent_id: top.id })).status).toBe(200);
    expect((await client.patch(`/folders/${low.id}`, { parent_id: deepest.id })).status).toBe(200);
  });

  it("deletes an empty folder; refuses a non-empty one with 409", async () => {
    const { client } = freshOrg();
    const empty = await folder(client, "empty");
    expect((await client.delete(`/folders/${empty.id}`)).status).toBe(204);
    expect((await client.get(`/folders/${empty.id}`)).status).toBe(404);
    expect((await client.delete(`/folders/${empty.id}`)).status).toBe(404);

    const withChild = await folder(client, "parent");
    await folder(client, "child", withChild.id);
    const refused = await client.delete(`/folders/${withChild.id}`);
    expect(refused.status).toBe(409);
    expect((await refused.json<any>()).detail).toMatch(/recursive=true/);
    expect((await client.delete(`/folders/${withChild.id}?recursive=false`)).status).toBe(409);

    const withFile = await folder(client, "holder");
    const file = await uploaded(client, "inside.txt", text("x"), `&folder_id=${withFile.id}`);
    expect((await client.delete(`/folders/${withFile.id}`)).status).toBe(409);
    expect((await client.get(`/files/${file.id}`)).status).toBe(200);
    expect((await client.delete(`/folders/${withFile.id}?recursive=maybe`)).status).toBe(422);
  });

  it("deletes a whole subtree with ?recursive=true: folders, files, every version and every R2 object", async () => {
    const { org, client } = freshOrg();
    const root = await folder(client, "root");
    const sub = await folder(client, "sub", root.id);
    const subsub = await folder(client, "subsub", sub.id);
    const sibling = await folder(client, "sibling");
    const doomed = [
      await uploaded(client, "r.txt", randomBytes(10), `&folder_id=${root.id}`),
      await uploaded(client, "s.txt", randomBytes(10), `&folder_id=${sub.id}`),
      await uploaded(client, "ss.txt", randomBytes(10), `&folder_id=${subsub.id}&tags=deep`),
    ];
    expect((await putContent(client, doomed[2]!.id, randomBytes(20))).status).toBe(200);
    const kept = await uploaded(client, "kept.txt", randomBytes(10), `&folder_id=${sibling.id}`);
    const keptAtRoot = await uploaded(client, "top.txt", randomBytes(10));
    expect(await objectsWith(org)).toHaveLength(6);

    const res = await client.delete(`/folders/${root.id}?recursive=true`);
    expect(res.status).toBe(204);
    for (const f of [root, sub, subsub]) expect((await client.get(`/folders/${f.id}`)).status).toBe(404);
    for (const f of doomed) {
      expect((await client.get(`/files/${f.id}`)).status).toBe(404);
      expect(await objectsWith(f.id)).toEqual([]);
    }
    expect((await listAll(client, "/files")).map((f) => f.id)).toEqual([kept.id, keptAtRoot.id]);
    expect((await listAll(client, "/folders")).map((f) => f.id)).toEqual([sibling.id]);
    expect(await listAll(client, "/files?tag=deep")).toEqual([]);
    // No orphaned object, version or tag row; nothing else touched.
    expect((await objectsWith(org)).map((o) => o.key.split("/")[1]).sort()).toEqual([kept.id, keptAtRoot.id].sort());
    expect(await count("SELECT count(*) AS n FROM file_versions WHERE organization_id = ?", org)).toBe(2);
    expect(await count("SELECT count(*) AS n FROM file_tags WHERE organization_id = ?", org)).toBe(0);
    expect(await count("SELECT count(*) AS n FROM files WHERE organization_id = ?", org)).toBe(2);
  });

  it("hides one organization's folders from another, and refuses references across organizations", async () => {
    const mine = await folder(serviceClient(rpc, ORG_A), `a-${crypto.randomUUID()}`);
    const inside = await uploaded(serviceClient(rpc, ORG_A), "a.txt", text("a"), `&folder_id=${mine.id}`);
    for (const res of [
      await b.get(`/folders/${mine.id}`),
      await b.patch(`/folders/${mine.id}`, { name: "stolen" }),
      await b.delete(`/folders/${mine.id}`),
      await b.delete(`/folders/${mine.id}?recursive=true`),
    ]) {
      expect(res.status).toBe(404);
      expect(await res.json()).toMatchObject({ detail: "No folder has this id." });
    }
    expect((await listAll(b, "/folders")).map((f) => f.id)).not.toContain(mine.id);
    expect(await listAll(b, `/folders?parent_id=${mine.id}`)).toEqual([]);
    expect(await listAll(b, `/files?folder_id=${mine.id}`)).toEqual([]);
    // References from B to A's folder: create under it, move under it, upload into it, move a file into it.
    const bFolder = await folder(b, `b-${crypto.randomUUID()}`);
    const bFile = await uploaded(b, "b.txt");
    for (const res of [
      await b.post("/folders", { name: "x", parent_id: mine.id }),
      await b.patch(`/folders/${bFolder.id}`, { parent_id: mine.id }),
      await b.raw("POST", `/files?name=x.txt&folder_id=${mine.id}`, { body: text("x"), headers: { "content-length": "1" } }),
      await b.patch(`/files/${bFile.id}`, { folder_id: mine.id }),
    ]) {
      expect(res.status).toBe(422);
      expect((await res.json<any>()).errors[0].message).toMatch(/does not exist/);
    }
    // A's folder and file are whole.
    expect(await (await serviceClient(rpc, ORG_A).get(`/folders/${mine.id}`)).json()).toEqual(mine);
    expect((await serviceClient(rpc, ORG_A).get(`/files/${inside.id}`)).status).toBe(200);
    expect(await row("SELECT parent_id FROM folders WHERE id = ?", bFolder.id)).toEqual({ parent_id: null });
  });
});
