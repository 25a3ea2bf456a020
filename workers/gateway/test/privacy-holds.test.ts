// Legal holds (issue 23): POST/GET /v1/privacy/holds, release; erasure keeps a held record and reports it.
import { describe, expect, it } from "vitest";
import { bearer, call, expectProblem, json, registerOrganization } from "./helpers";
import { created, userWith } from "./mesh-helpers";
import { untilDone } from "./privacy-helpers";

const post = (token: string, path: string, body?: unknown) => call(path, bearer(token, body === undefined ? { method: "POST" } : json("POST", body)));

describe("legal holds", () => {
  it("are placed on existing records, listed, released; erasure keeps a held record until the hold is released", async () => {
    const admin = await registerOrganization("Holds");
    const t = admin.access_token;
    const email = `hold.${crypto.randomUUID().slice(0, 8)}@example.com`;
    const contact = await created(t, "/v1/crm/contacts", { first_name: "Held", last_name: "Person", email });
    const note = await created(t, "/v1/crm/activities", { type: "note", contact_id: contact.id, body: "Evidence" });

    const res = await post(t, "/v1/privacy/holds", { service: "crm", model: "activities", record_id: note.id, reason: " Litigation 114 " });
    expect(res.status).toBe(201);
    const hold = await res.json<any>();
    expect(hold).toMatchObject({
      service: "crm",
      model: "activities",
      record_id: note.id,
      reason: "Litigation 114",
      created_by: admin.user_id,
      released_at: null,
      released_by: null,
    });
    // One hold in force per record.
    await expectProblem(await post(t, "/v1/privacy/holds", { service: "crm", model: "activities", record_id: note.id, reason: "again" }), 409);
    expect((await (await call(`/v1/privacy/holds/${hold.id}`, bearer(t))).json<any>()).id).toBe(hold.id);
    const listed = await (await call("/v1/privacy/holds?service=crm", bearer(t))).json<any>();
    expect(listed).toEqual({ data: [hold], next_cursor: null });

    // Erasure keeps the held activity, and the contact it names, and says so.
    const run = await (await post(t, "/v1/privacy/requests", { type: "erasure", subject: { email } })).json<any>();
    const done = await untilDone(admin, run.id);
    const line = (r: any, model: string) => r.steps.find((s: any) => s.service === "crm" && s.model === model);
    expect(line(done, "activities")).toMatchObject({ held: [note.id], ids: [] });
    expect(line(done, "contacts").held).toEqual([contact.id]);
    expect((await call(`/v1/crm/activities/${note.id}`, bearer(t))).status).toBe(200);

    // Released (without a body, then again: 409): the next erasure removes them.
    const released = await post(t, `/v1/privacy/holds/${hold.id}/release`);
    expect(released.status).toBe(200);
    expect(await released.json<any>()).toMatchObject({ id: hold.id, released_by: admin.user_id, release_reason: null });
    await expectProblem(await post(t, `/v1/privacy/holds/${hold.id}/release`, { reason: "twice" }), 409);
    expect((await (await call("/v1/privacy/holds", bearer(t))).json<any>()).data).toEqual([]);
    expect((await (await call("/v1/privacy/holds?status=released", bearer(t))).json<any>()).data).toHaveLength(1);
    const again = await untilDone(
      admin,
      (await (await post(t, "/v1/privacy/requests", { type: "erasure", subject: { contact_id: contact.id } })).json<any>()).id,
    );
    expect(line(again, "activities")).toMatchObject({ held: [], ids: [note.id] });
    expect((await call(`/v1/crm/activities/${note.id}`, bearer(t))).status).toBe(404);
    expect((await call(`/v1/crm/contacts/${contact.id}`, bearer(t))).status).toBe(404);
    // A record can be held again after a release (here: it is gone, so 404).
    await expectProblem(await post(t, "/v1/privacy/holds", { service: "crm", model: "activities", record_id: note.id, reason: "late" }), 404);
  });

  it("checks the record, the caller and the organization; validates its input", async () => {
    const admin = await registerOrganization("Holds access");
    const t = admin.access_token;
    const contact = await created(t, "/v1/crm/contacts", { first_name: "A", last_name: "B", email: "a@b.example" });
    const stranger = await registerOrganization("Holds stranger");
    const body = { service: "crm", model: "contacts", record_id: contact.id, reason: "audit" };
    // Another organization's record is not found; neither is its hold.
    await expectProblem(await post(stranger.access_token, "/v1/privacy/holds", body), 404);
    const hold = await (await post(t, "/v1/privacy/holds", body)).json<any>();
    await expectProblem(await call(`/v1/privacy/holds/${hold.id}`, bearer(stranger.access_token)), 404);
    await expectProblem(await post(stranger.access_token, `/v1/privacy/holds/${hold.id}/release`), 404);
    expect((await (await call("/v1/privacy/holds", bearer(stranger.access_token))).json<any>()).data).toEqual([]);
    // Only admins and roles naming privacy; "*" is not enough.
    const editor = await userWith(t, { "*": ["create", "read", "update", "delete"] });
    await expectProblem(await post(editor, "/v1/privacy/holds", body), 403);
    await expectProblem(await call("/v1/privacy/holds", bearer(editor)), 403);
    const officer = await userWith(t, { privacy: ["read"] });
    expect((await call("/v1/privacy/holds", bearer(officer))).status).toBe(200);
    await expectProblem(await post(officer, `/v1/privacy/holds/${hold.id}/release`), 403);
    // Unknown services and models, bad ids and reasons, unknown fields: 422.
    for (const bad of [
      { ...body, service: "nope" },
      { ...body, model: "nope" },
      { ...body, record_id: "nope" },
      { ...body, reason: "   " },
      { ...body, reason: "x".repeat(501) },
      { ...body, extra: 1 },
      { service: "crm", model: "contacts", record_id: contact.id },
    ]) {
      await expectProblem(await post(t, "/v1/privacy/holds", bad), 422);
    }
    await expectProblem(await call("/v1/privacy/holds?status=gone", bearer(t)), 422);
    await expectProblem(await call("/v1/privacy/holds?cursor=nope", bearer(t)), 422);
    await expectProblem(await call("/v1/privacy/holds/nope", bearer(t)), 422);
    // Pagination: newest first, a cursor to the next page.
    const other = await created(t, "/v1/crm/contacts", { first_name: "C", last_name: "D", email: "c@d.example" });
    const second = await (await post(t, "/v1/privacy/holds", { ...body, record_id: other.id })).json<any>();
    const first = await (await call("/v1/privacy/holds?limit=1", bearer(t))).json<any>();
    expect(first.data.map((h: any) => h.id)).toEqual([second.id]);
    const next = await (await call(`/v1/privacy/holds?limit=1&cursor=${first.next_cursor}`, bearer(t))).json<any>();
    expect(next).toEqual({ data: [hold], next_cursor: null });
  });
});
