import { describe, expect, it } from "vitest";
import { expectExactActorsUnderConcurrency, outboxOf, relayedOutbox } from "@buildly/shared/test";
import { DB, folder, freshOrg, randomBytes, rpc, uploaded } from "./helpers";

describe("events: the documents outbox", () => {
  it("requests by different actors writing at once: each event names its own request's actor and request id", async () => {
    await expectExactActorsUnderConcurrency(rpc, DB, "/folders", (i) => ({ name: `Folder ${i}`, parent_id: null }));
  });

  it("writes one event per change of a folder or a file, with the record after it, and never a file body", async () => {
    const { org, client } = freshOrg();
    const plans = await folder(client, "Plans");
    const renamed = await (await client.patch(`/folders/${plans.id}`, { name: "Roadmaps" })).json<any>();
    const body = new TextEncoder().encode("the secret body of the file, which no event may carry");
    const file = await uploaded(client, "notes.txt", body, `&folder_id=${plans.id}`);
    const patched = await (await client.patch(`/files/${file.id}`, { tags: ["q3"] })).json<any>();
    const replaced = await client.raw("PUT", `/files/${file.id}/content`, { body: randomBytes(64), headers: { "content-type": "application/octet-stream" } });
    expect(replaced.status, await replaced.clone().text()).toBe(200);
    const v2 = await replaced.json<any>();
    expect((await client.delete(`/files/${file.id}`)).status).toBe(204);
    expect((await client.delete(`/folders/${plans.id}`)).status).toBe(204);

    const events = (await relayedOutbox(DB, org, 7)).map((r) => r.event);
    expect(events.map((e) => `${e.type} ${e.subject}`)).toEqual([
      `documents.folder.created ${plans.id}`,
      `documents.folder.updated ${plans.id}`,
      `documents.file.created ${file.id}`,
      `documents.file.updated ${file.id}`,
      `documents.file.updated ${file.id}`,
      `documents.file.deleted ${file.id}`,
      `documents.folder.deleted ${plans.id}`,
    ]);
    expect(events[0]!.data).toEqual(plans);
    expect(events[1]!.data).toEqual(renamed);
    expect(events[2]!.data).toEqual(file);
    expect(events[3]!.data).toEqual(patched);
    expect(events[4]!.data).toMatchObject({ id: file.id, version: 2, sha256: v2.sha256 });
    expect(events[5]!.data).toEqual({ id: file.id });
    for (const e of events) expect(e).toMatchObject({ source: "/buildly/documents", organizationid: org, actortype: "user" });
    const text = JSON.stringify(events);
    expect(text).not.toContain("the secret body");
    expect(text).not.toContain("object_key");
  });

  it("a refused write leaves no event (a sibling with the same name)", async () => {
    const { org, client } = freshOrg();
    await folder(client, "Same");
    expect((await client.post("/folders", { name: "Same", parent_id: null })).status).toBe(409);
    expect((await outboxOf(DB, org)).map((r) => r.event.type)).toEqual(["documents.folder.created"]);
  });
});
