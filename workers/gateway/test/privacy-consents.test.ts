// Consent records (issue 23): /v1/privacy/consents, ?join=consents through the mesh, and erasure.
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { bearer, call, expectProblem, json, registerOrganization, type Account } from "./helpers";
import { created, userWith } from "./mesh-helpers";

const post = (token: string, path: string, body: unknown) => call(path, bearer(token, json("POST", body)));
const get = async (token: string, path: string) => {
  const res = await call(path, bearer(token));
  expect(res.status, `${path}: ${await res.clone().text()}`).toBe(200);
  return res.json<any>();
};

async function consent(a: Account, body: Record<string, unknown>) {
  const res = await post(a.access_token, "/v1/privacy/consents", body);
  expect(res.status, await res.clone().text()).toBe(201);
  return res.json<any>();
}

describe("consent records", () => {
  it("keep the whole history; the current state is each purpose's latest record; readable with the contact through the mesh", async () => {
    const admin = await registerOrganization("Consents");
    const t = admin.access_token;
    const ada = await created(t, "/v1/crm/contacts", { first_name: "Ada", last_name: "L", email: `ada.${crypto.randomUUID().slice(0, 8)}@example.com` });
    const bob = await created(t, "/v1/crm/contacts", { first_name: "Bob", last_name: "B", email: `bob.${crypto.randomUUID().slice(0, 8)}@example.com` });
    const given = await consent(admin, { contact_id: ada.id, purpose: "newsletter", status: "given", source: "web_form", at: "2026-01-02T10:00:00Z" });
    expect(given).toMatchObject({
      contact_id: ada.id,
      purpose: "newsletter",
      status: "given",
      source: "web_form",
      at: "2026-01-02T10:00:00.000Z",
      recorded_by: admin.user_id,
    });
    const withdrawn = await consent(admin, { contact_id: ada.id, purpose: "newsletter", status: "withdrawn", source: "unsubscribe_link" });
    // Recorded later but given earlier: the history has it, the current state does not change.
    const late = await consent(admin, { contact_id: ada.id, purpose: "newsletter", status: "given", source: "paper", at: "2025-12-01T00:00:00Z" });
    const calls = await consent(admin, { contact_id: ada.id, purpose: "sales.calls", status: "given", source: "phone" });
    await consent(admin, { contact_id: bob.id, purpose: "newsletter", status: "given", source: "import:2026-05" });

    const current = await get(t, `/v1/privacy/consents?contact_id=${ada.id}`);
    expect(current).toEqual({ contact_id: ada.id, data: [calls, withdrawn] });
    const history = await get(t, `/v1/privacy/consents/history?contact_id=${ada.id}&purpose=newsletter&limit=2`);
    expect(history.data).toEqual([withdrawn, given]);
    expect(await get(t, `/v1/privacy/consents/history?contact_id=${ada.id}&purpose=newsletter&limit=2&cursor=${history.next_cursor}`)).toEqual({
      data: [late],
      next_cursor: null,
    });
    // Append-only: the database refuses changes and deletes.
    await expect(env.DB.prepare("UPDATE privacy_consents SET status = 'given' WHERE id = ?1").bind(withdrawn.id).run()).rejects.toThrow(/append-only/);
    await expect(env.DB.prepare("DELETE FROM privacy_consents WHERE id = ?1").bind(withdrawn.id).run()).rejects.toThrow(/append-only/);

    // The mesh: the catalog lists the model with its personal data; ?join=consents embeds the current ones.
    const models = await get(t, "/v1/mesh/models");
    expect(models.data.find((m: any) => m.service === "privacy")).toMatchObject({
      name: "consents",
      path: "/consents",
      searchable: false,
      personal_data: { found_by: { contact_id: "contact_id" }, erasure: { action: "keep", legal_basis: expect.stringMatching(/^proof of consent/) } },
    });
    const one = await get(t, `/v1/crm/contacts/${ada.id}?join=consents,deals`);
    expect(one._embedded).toEqual({ consents: [calls, withdrawn], deals: [] });
    const list = await get(t, "/v1/crm/contacts?limit=100&join=consents");
    const byId = new Map(list.data.map((c: any) => [c.id, c._embedded.consents]));
    expect(byId.get(ada.id)).toEqual([calls, withdrawn]);
    expect((byId.get(bob.id) as any[]).map((c) => c.source)).toEqual(["import:2026-05"]);

    // Without the privacy permission the key is left out with a 403, like any service the caller may not read.
    const editor = await userWith(t, { "*": ["create", "read", "update", "delete"] });
    const asEditor = await get(editor, `/v1/crm/contacts/${ada.id}?join=consents`);
    expect(asEditor._embedded).toEqual({});
    expect(asEditor._embedded_errors.consents).toMatchObject({ status: 403 });
    // A plain delete of a contact with a consent history is refused (erase the person instead); a joined write cannot write consents.
    const del = await call(`/v1/crm/contacts/${bob.id}`, bearer(t, { method: "DELETE" }));
    expect(del.status).toBe(409);
    expect((await expectProblem(del)).referring).toEqual([{ relationship: "consents", service: "privacy", model: "consents", count: 1 }]);
    const write = await call(
      `/v1/crm/contacts/${bob.id}?join=consents`,
      bearer(t, json("PATCH", { last_name: "C", _embedded: { consents: [{ purpose: "x", status: "given", source: "y" }] } })),
    );
    expect((await expectProblem(write, 422)).errors).toEqual([{ path: "_embedded.consents", message: expect.stringMatching(/own routes/) }]);

    // Erasure keeps the records as proof of consent, appends a withdrawal for each purpose still given, and says so.
    const run = await (await post(t, "/v1/privacy/requests", { type: "erasure", subject: { contact_id: ada.id } })).json<any>();
    let done: any;
    for (let i = 0; i < 300 && !["completed", "failed"].includes(done?.status); i++) {
      await new Promise((r) => setTimeout(r, 100));
      done = await get(t, `/v1/privacy/requests/${run.id}`);
    }
    const step = done.steps.find((s: any) => s.service === "privacy");
    expect(step).toMatchObject({ model: "consents", action: "keep", ids: [], count: 1, legal_basis: expect.stringMatching(/^proof of consent/) });
    // The four records and the withdrawal the erasure appended.
    expect(step.kept).toHaveLength(5);
    expect(step.kept).toEqual(expect.arrayContaining([given.id, withdrawn.id, late.id, calls.id]));
    expect((await call(`/v1/crm/contacts/${ada.id}`, bearer(t))).status).toBe(404);
    const after = await get(t, `/v1/privacy/consents?contact_id=${ada.id}`);
    expect(after.data.map((c: any) => [c.purpose, c.status, c.source, c.recorded_by])).toEqual([
      ["sales.calls", "withdrawn", "erasure", null],
      ["newsletter", "withdrawn", "unsubscribe_link", admin.user_id],
    ]);
  });

  it("check the contact, the caller and the organization; validate their input", async () => {
    const admin = await registerOrganization("Consents access");
    const t = admin.access_token;
    const contact = await created(t, "/v1/crm/contacts", { first_name: "C", last_name: "D", email: "c@d.example" });
    const stranger = await registerOrganization("Consents stranger");
    const theirs = await created(stranger.access_token, "/v1/crm/contacts", { first_name: "E", last_name: "F", email: "e@f.example" });
    const body = { contact_id: contact.id, purpose: "newsletter", status: "given", source: "web_form" };
    // Another organization's contact is not one of yours.
    expect((await expectProblem(await post(t, "/v1/privacy/consents", { ...body, contact_id: theirs.id }), 422)).errors).toEqual([
      { path: "contact_id", message: "No contact with this id in your organization" },
    ]);
    const mine = await consent(admin, body);
    expect(await get(stranger.access_token, `/v1/privacy/consents?contact_id=${contact.id}`)).toEqual({ contact_id: contact.id, data: [] });
    expect((await get(stranger.access_token, `/v1/privacy/consents/history?contact_id=${contact.id}`)).data).toEqual([]);
    // Only admins and roles naming privacy.
    const editor = await userWith(t, { "*": ["create", "read", "update", "delete"] });
    await expectProblem(await post(editor, "/v1/privacy/consents", body), 403);
    await expectProblem(await call(`/v1/privacy/consents?contact_id=${contact.id}`, bearer(editor)), 403);
    const officer = await userWith(t, { privacy: ["read"] });
    expect((await get(officer, `/v1/privacy/consents?contact_id=${contact.id}`)).data).toEqual([mine]);
    await expectProblem(await post(officer, "/v1/privacy/consents", body), 403);
    for (const bad of [
      { ...body, purpose: "News Letter" },
      { ...body, purpose: "" },
      { ...body, source: "grace@navy.example" },
      { ...body, source: "a".repeat(65) },
      { ...body, status: "maybe" },
      { ...body, at: "2026-01-02" },
      { ...body, at: new Date(Date.now() + 86_400_000).toISOString() },
      { ...body, contact_id: "nope" },
      { ...body, extra: 1 },
      { contact_id: contact.id, purpose: "newsletter", status: "given" },
    ]) {
      await expectProblem(await post(t, "/v1/privacy/consents", bad), 422);
    }
    await expectProblem(await call("/v1/privacy/consents", bearer(t)), 422);
    await expectProblem(await call("/v1/privacy/consents?contact_id=nope", bearer(t)), 422);
    await expectProblem(await call(`/v1/privacy/consents/history?contact_id=${contact.id}&cursor=x`, bearer(t)), 422);
  });
});
