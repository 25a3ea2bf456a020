import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { json, expectProblem, registerOrganization, type Account } from "./helpers";
import { as, created, nextSlot, timings, uploadedFile, userWith } from "./mesh-helpers";

let admin: Account;
let other: Account;
let calendar: any;
let ada: any;
let theirs: any;

const attendee = (contact_id: string | null, name = "Someone") => ({ contact_id, email: `${crypto.randomUUID()}@example.com`, name });
const appointment = (attendees: unknown[]) => ({ calendar_id: calendar.id, title: "Review", ...nextSlot(), attendees });

beforeAll(async () => {
  admin = await registerOrganization("Mesh integrity");
  other = await registerOrganization("Mesh integrity other");
  calendar = await created(admin.access_token, "/v1/appointments/calendars", { name: "Desk", time_zone: "UTC" });
  ada = await created(admin.access_token, "/v1/crm/contacts", { first_name: "Ada", last_name: "Lovelace", email: `${crypto.randomUUID()}@example.com` });
  theirs = await created(other.access_token, "/v1/crm/contacts", { first_name: "Not", last_name: "Yours", email: `${crypto.randomUUID()}@example.com` });
});

describe("referential integrity across services", () => {
  it("refuses an appointment naming a contact that does not exist in the organization, with 422 naming the field", async () => {
    const missing = crypto.randomUUID();
    const count = async () =>
      (await (await as(admin.access_token)(`/v1/appointments/appointments?calendar_id=${calendar.id}&limit=100`)).json<any>()).data.length;
    const before = await count();

    const res = await as(admin.access_token)(
      "/v1/appointments/appointments",
      json("POST", appointment([attendee(ada.id), attendee(null), attendee(missing), attendee(theirs.id)])),
    );
    expect(res.status).toBe(422);
    const body = await expectProblem(res);
    expect(body.errors).toEqual([
      { path: "attendees.2.contact_id", message: `No crm.contacts record with id ${missing} exists in this organization` },
      // Another organization's contact does not exist here either.
      { path: "attendees.3.contact_id", message: `No crm.contacts record with id ${theirs.id} exists in this organization` },
    ]);
    // Checked with one batched read of the CRM.
    expect(timings(res).filter(([, m]) => m === "getMany")).toEqual([["crm", "getMany"]]);
    expect(await count()).toBe(before);

    // The same appointment with existing contacts (or none named) goes through; the check's call is in Server-Timing.
    const ok = await as(admin.access_token)(
      "/v1/appointments/appointments",
      json("POST", appointment([attendee(ada.id), attendee(null), { email: "x@example.com", name: "X" }])),
    );
    expect(ok.status, await ok.clone().text()).toBe(201);
    expect(timings(ok)).toContainEqual(["crm", "getMany"]);
    const made = await ok.json<any>();
    expect(made.attendees.map((a: any) => a.contact_id)).toEqual([ada.id, null, null]);

    // PATCH and PUT are checked the same way.
    const patch = await as(admin.access_token)(`/v1/appointments/appointments/${made.id}`, json("PATCH", { attendees: [attendee(missing)] }));
    expect(patch.status).toBe(422);
    expect((await expectProblem(patch)).errors).toEqual([{ path: "attendees.0.contact_id", message: expect.stringContaining("No crm.contacts record") }]);
    const fine = await as(admin.access_token)(`/v1/appointments/appointments/${made.id}`, json("PATCH", { attendees: [attendee(ada.id)] }));
    expect(fine.status).toBe(200);
  });

  it("sends the body on exactly as read, and handles nulls, absent fields, arrays and non-UUIDs", async () => {
    const body = JSON.stringify({
      name: "thing",
      contact_id: ada.id,
      links: [{ contact_id: ada.id }, { contact_id: null }, {}, "x", null],
      pad: "é".repeat(1000),
    });
    const bytes = new TextEncoder().encode(body);
    const digest = [...new Uint8Array(await crypto.subtle.digest("SHA-256", bytes))].map((b) => b.toString(16).padStart(2, "0")).join("");
    const res = await as(admin.access_token)("/v1/fixture/things", { method: "POST", headers: { "content-type": "application/json; charset=utf-8" }, body });
    expect(res.status).toBe(200);
    const echo = await res.json<any>();
    expect(echo).toMatchObject({ method: "POST", bytes: bytes.byteLength, sha256: digest });
    expect(echo.url).toBe("https://fixture.internal/things");

    // A non-UUID is the service's to refuse (the fixture accepts anything), a missing one in a list is named by index.
    const loose = await as(admin.access_token)("/v1/fixture/things", json("PUT", { contact_id: "not-a-uuid" }));
    expect(loose.status).toBe(200);
    const nested = await as(admin.access_token)("/v1/fixture/things/abc", json("PATCH", { links: [{ contact_id: ada.id }, { contact_id: theirs.id }] }));
    expect(nested.status).toBe(422);
    expect((await expectProblem(nested)).errors.map((e: any) => e.path)).toEqual(["links.1.contact_id"]);
    // Paths that are not a model's collection or record are not checked.
    const elsewhere = await as(admin.access_token)("/v1/fixture/things/abc/notes", json("POST", { contact_id: theirs.id }));
    expect(elsewhere.status).toBe(200);
  });

  it("leaves bodies it does not need to read alone: uploads, and JSON to models without references elsewhere", async () => {
    const upload = await as(admin.access_token)("/v1/fixture/things", {
      method: "POST",
      headers: { "content-type": "application/octet-stream" },
      body: JSON.stringify({ contact_id: theirs.id }),
    });
    expect(upload.status).toBe(200);
    // Only the proxied call itself (Server-Timing names every call, the proxied handle included).
    expect(timings(upload)).toEqual([["fixture", "handle"]]);
    const company = await as(admin.access_token)("/v1/crm/companies", json("POST", { name: "No refs elsewhere" }));
    expect(company.status).toBe(201);
    expect(timings(company).filter(([, m]) => m === "getMany")).toEqual([]);
  });

  it("refuses a JSON body too large to check (over 1 MiB) with 413, while the service allows more", async () => {
    const big = JSON.stringify({ contact_id: ada.id, pad: "x".repeat(1024 * 1024) });
    const res = await as(admin.access_token)("/v1/fixture/things", { method: "POST", headers: { "content-type": "application/json" }, body: big });
    expect(res.status).toBe(413);
    await expectProblem(res);
    // Elsewhere on the same service (no model there) the same body goes through.
    const ok = await as(admin.access_token)("/v1/fixture/other", { method: "POST", headers: { "content-type": "application/json" }, body: big });
    expect(ok.status).toBe(200);
  });

  it("fails closed: 503 when the referenced service cannot be asked, or the target's models are unknown", async () => {
    const res = await as(admin.access_token)("/v1/mirror/gadgets", json("POST", { thing_id: crypto.randomUUID() }));
    expect(res.status).toBe(503);
    const body = await expectProblem(res);
    expect(body.detail).toContain("fixture.things");
    expect(JSON.stringify(body)).not.toContain("fixture records are unavailable");
    expect(timings(res)).toContainEqual(["fixture", "getMany"]);
    // Nothing to check: it goes through.
    expect((await as(admin.access_token)("/v1/mirror/gadgets", json("POST", { thing_id: null }))).status).toBe(200);

    const unknown = await as(admin.access_token)("/v1/broken/things", json("POST", { contact_id: ada.id }));
    expect(unknown.status).toBe(503);
    expect(JSON.stringify(await expectProblem(unknown))).not.toContain("secret");
    // A body that is not JSON streams through untouched.
    expect((await as(admin.access_token)("/v1/broken/things", { method: "POST", headers: { "content-type": "text/plain" }, body: "hi" })).status).toBe(200);
  });

  it("answers a caller who may not write with 403 before any check; one who may not read the CRM is still checked", async () => {
    const reader = await userWith(admin.access_token, { appointments: ["read"], crm: ["read"] });
    const denied = await as(reader)("/v1/appointments/appointments", json("POST", appointment([attendee(crypto.randomUUID())])));
    expect(denied.status).toBe(403);
    expect(timings(denied)).toEqual([]);

    const writer = await userWith(admin.access_token, { appointments: ["create", "read"] });
    const refused = await as(writer)("/v1/appointments/appointments", json("POST", appointment([attendee(crypto.randomUUID())])));
    expect(refused.status).toBe(422);
    const allowed = await as(writer)("/v1/appointments/appointments", json("POST", appointment([attendee(ada.id)])));
    expect(allowed.status).toBe(201);
  });

  it("checks keyed (idempotent) writes too, and replays them", async () => {
    const key = crypto.randomUUID();
    const body = appointment([attendee(ada.id)]);
    const first = await as(admin.access_token)("/v1/appointments/appointments", json("POST", body, { "idempotency-key": key }));
    expect(first.status).toBe(201);
    const again = await as(admin.access_token)("/v1/appointments/appointments", json("POST", body, { "idempotency-key": key }));
    expect(again.status).toBe(201);
    expect((await again.json<any>()).id).toBe((await first.json<any>()).id);
    const bad = await as(admin.access_token)(
      "/v1/appointments/appointments",
      json("POST", appointment([attendee(crypto.randomUUID())]), { "idempotency-key": crypto.randomUUID() }),
    );
    expect(bad.status).toBe(422);
  });
});

describe("one path to every write: the same check whatever the spelling or the route", () => {
  /** "appointments" with its i-th letter percent-encoded, in lower- or upper-case hex. */
  const encodedAt = (word: string, i: number, upper: boolean) => {
    const hex = word.charCodeAt(i).toString(16);
    return `${word.slice(0, i)}%${upper ? hex.toUpperCase() : hex}${word.slice(i + 1)}`;
  };
  const spellings = (word: string) => {
    const out = new Set<string>();
    for (let i = 0; i < word.length; i++) for (const upper of [false, true]) out.add(encodedAt(word, i, upper));
    out.add([...word].map((ch) => `%${ch.charCodeAt(0).toString(16)}`).join(""));
    return [...out];
  };

  it("checks a POST to every percent-encoded spelling of the collection, the service and the version", async () => {
    const paths = [
      ...spellings("appointments").map((s) => `/v1/appointments/${s}`),
      ...spellings("appointments").map((s) => `/v1/${s}/appointments`),
      "/%76%31/appointments/appointments",
      "/v1//appointments//appointments",
      "/v1/appointments/x/%2e%2e/appointments",
      "/v1/appointments/x/%2E%2E/%61ppointments",
    ];
    for (const path of paths) {
      const res = await as(admin.access_token)(path, json("POST", appointment([attendee(theirs.id)])));
      expect(res.status, path).toBe(422);
      expect((await expectProblem(res)).errors, path).toEqual([
        { path: "attendees.0.contact_id", message: `No crm.contacts record with id ${theirs.id} exists in this organization` },
      ]);
    }
    // Encoded once more, it is the text "%61", which names no route.
    const twice = await as(admin.access_token)("/v1/appointments/%2561ppointments", json("POST", appointment([attendee(theirs.id)])));
    expect(twice.status).toBe(404);
    // An encoded / names nothing either.
    const slash = await as(admin.access_token)("/v1/appointments%2Fappointments", json("POST", appointment([attendee(theirs.id)])));
    expect(slash.status).toBe(400);
  });

  it("checks a PATCH of a record through an encoded path", async () => {
    const made = await created(admin.access_token, "/v1/appointments/appointments", appointment([attendee(ada.id)]));
    for (const s of [
      "%61ppointments",
      "appointment%73",
      "%41ppointments".replace("%41", "%61"),
      "APPOINTMENTS".toLowerCase().replace("p", "%70"),
      "a%50pointments",
    ]) {
      const res = await as(admin.access_token)(`/v1/appointments/${s}/${made.id}`, json("PATCH", { attendees: [attendee(theirs.id)] }));
      // %50 is "P": another path, which the service does not have.
      expect(res.status, s).toBe(s === "a%50pointments" ? 404 : 422);
    }
    const after = await (await as(admin.access_token)(`/v1/appointments/appointments/${made.id}`)).json<any>();
    expect(after.attendees.map((a: any) => a.contact_id)).toEqual([ada.id]);
  });

  it("removes a deleted contact's join records whatever the spelling of the DELETE", async () => {
    for (const s of ["contacts", "%63ontacts", "contact%73", "%63%6F%6e%74%61%63%74%73"]) {
      const contact = await created(admin.access_token, "/v1/crm/contacts", { first_name: "Del", last_name: s, email: `${crypto.randomUUID()}@example.com` });
      const file = await uploadedFile(admin.access_token, `${crypto.randomUUID()}.txt`);
      const link = await as(admin.access_token)("/v1/mesh/joins", json("POST", { relationship: "documents", origin_id: contact.id, related_id: file.id }));
      expect(link.status).toBe(201);
      const res = await as(admin.access_token)(`/v1/crm/${s}/${contact.id}`, { method: "DELETE" });
      expect(res.status, s).toBe(204);
      const left = await env.DB.prepare("SELECT count(*) AS n FROM mesh_joins WHERE origin_id = ?1").bind(contact.id).first<{ n: number }>();
      expect(left?.n, s).toBe(0);
    }
  });

  it("checks the new records of a joined write through an organization's own relationship, before writing anything", async () => {
    const key = `m${crypto.randomUUID().replace(/-/g, "").slice(0, 12)}`;
    const rel = await as(admin.access_token)(
      "/v1/mesh/relationships",
      json("POST", {
        key,
        reverse_key: `r${key}`,
        origin: { service: "crm", model: "contacts" },
        related: { service: "appointments", model: "appointments" },
        kind: "join_records",
      }),
    );
    expect(rel.status, await rel.clone().text()).toBe(201);
    const email = `${crypto.randomUUID()}@example.com`;
    const res = await as(admin.access_token)(
      `/v1/crm/contacts?join=${key}`,
      json("POST", {
        first_name: "Joined",
        last_name: "Write",
        email,
        _embedded: { [key]: [appointment([attendee(ada.id)]), appointment([attendee(theirs.id)])] },
      }),
    );
    expect(res.status).toBe(422);
    expect((await expectProblem(res)).errors).toEqual([
      { path: `_embedded.${key}.1.attendees.0.contact_id`, message: `No crm.contacts record with id ${theirs.id} exists in this organization` },
    ]);
    // Nothing was written (not even for a moment): no contact with that email.
    const contacts = await (await as(admin.access_token)("/v1/crm/contacts?limit=100")).json<any>();
    expect(contacts.next_cursor).toBeNull();
    expect(contacts.data.filter((c: any) => c.email === email)).toEqual([]);
    expect(timings(res).filter(([, m]) => m === "handle")).toEqual([]);

    const fine = await as(admin.access_token)(
      `/v1/crm/contacts?join=${key}`,
      json("POST", { first_name: "Joined", last_name: "Write", email, _embedded: { [key]: [appointment([attendee(ada.id)])] } }),
    );
    expect(fine.status, await fine.clone().text()).toBe(201);
  });

  it("checks a workflow's create and update actions like a direct write", async () => {
    const body = { calendar_id: calendar.id, title: "From a workflow", ...nextSlot(), attendees: [attendee(theirs.id)] };
    const made = await created(admin.access_token, "/v1/appointments/appointments", appointment([attendee(ada.id)]));
    const template = await as(admin.access_token)(
      "/v1/workflows/templates",
      json("POST", {
        name: "Books a meeting",
        initial_state: "open",
        states: [
          { key: "open", name: "Open" },
          { key: "done", name: "Done", terminal: true },
        ],
        transitions: [
          { key: "book", name: "Book", from: ["open"], to: "done", actions: [{ type: "create", service: "appointments", model: "appointments", body }] },
          {
            key: "move",
            name: "Move",
            from: ["open"],
            to: "done",
            actions: [{ type: "update", service: "appointments", model: "appointments", id: made.id, body: { attendees: [attendee(theirs.id)] } }],
          },
        ],
      }),
    );
    expect(template.status, await template.clone().text()).toBe(201);
    const t = await template.json<any>();
    const instance = await as(admin.access_token)("/v1/workflows/instances", json("POST", { template_id: t.id }));
    expect(instance.status).toBe(201);
    const i = await instance.json<any>();
    for (const transition of ["book", "move"]) {
      const res = await as(admin.access_token)(`/v1/workflows/instances/${i.id}/transitions`, json("POST", { transition }));
      expect(res.status, transition).toBe(424);
      expect(await expectProblem(res)).toMatchObject({
        action: { index: 0, service: "appointments", model: "appointments", status: 422 },
        cause: {
          status: 422,
          errors: [{ path: "attendees.0.contact_id", message: `No crm.contacts record with id ${theirs.id} exists in this organization` }],
        },
      });
    }
    const list = await (await as(admin.access_token)(`/v1/appointments/appointments?calendar_id=${calendar.id}&limit=100`)).json<any>();
    expect(list.data.filter((a: any) => a.title === "From a workflow")).toEqual([]);
  });
});
