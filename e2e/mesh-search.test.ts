// Calls go through the SDK (typed from /openapi.json); raw requests remain for the file upload
// (a file's body is its bytes) and for each hit's url (a path the platform hands back).
import { randomUUID } from "node:crypto";
import { type Client, createClient, type Schema } from "@buildly/sdk";
import { beforeAll, describe, expect, it } from "vitest";
import { api, baseUrl, checkedFetch, expectApiError, registerOrg, sdk, unique } from "./helpers";
import { SERVICE_NAMES } from "./registry";

const PASSWORD = "a long enough password";

const search = (client: Client, query: { q: string; models?: string; limit?: number; cursor?: string }) =>
  client.withResponse.GET("/v1/mesh/search", { params: { query } });

/** The body of a create that must answer 201. */
async function created<T>(call: Promise<{ data: T; response: Response }>): Promise<T> {
  const { data, response } = await call;
  expect(response.status, JSON.stringify(data)).toBe(201);
  return data;
}

describe("search across every service, over HTTP", () => {
  let one: { token: string; client: Client };
  let two: { token: string; client: Client };
  let word: string;
  const made: { company?: Schema<"Crm_Company">; contact?: Schema<"Crm_Contact">; file?: Schema<"Documents_File">; appointment?: { id: string } } = {};

  beforeAll(async () => {
    const org = async (name: string) => {
      const { token } = await registerOrg(name, PASSWORD, "mesh");
      return { token, client: sdk(token) };
    };
    one = await org("Mesh Search One");
    two = await org("Mesh Search Two");
    word = `Quokka${randomUUID().replace(/-/g, "").slice(0, 8)}`;
    made.company = await created(one.client.withResponse.POST("/v1/crm/companies", { body: { name: word } }));
    made.contact = await created(
      one.client.withResponse.POST("/v1/crm/contacts", { body: { first_name: "Ada", last_name: word, email: `${unique("ada")}@e2e.example` } }),
    );
    const upload = await api(`/v1/documents/files?name=${encodeURIComponent(`${word} minutes.txt`)}`, {
      method: "POST",
      headers: { "content-type": "text/plain", authorization: `Bearer ${one.token}` },
      body: "minutes",
    });
    expect(upload.status).toBe(201);
    made.file = (await upload.json()) as Schema<"Documents_File">;
    const calendar = await created(one.client.withResponse.POST("/v1/appointments/calendars", { body: { name: "Desk", time_zone: "Europe/London" } }));
    made.appointment = await created(
      one.client.withResponse.POST("/v1/appointments/appointments", {
        body: { calendar_id: calendar.id, title: `${word} kickoff`, start: "2027-03-01T10:00:00Z", end: "2027-03-01T11:00:00Z" },
      }),
    );
  });

  it("finds a company, a contact, a file and an appointment in one request, best first, each with its url", async () => {
    const { data: body, response: res } = await search(one.client, { q: word });
    expect(res.status, JSON.stringify(body)).toBe(200);
    expect(res.headers.get("mesh-complete")).toBe("true");
    expect(body.data.map((h) => `${h.service}.${h.model}`)).toEqual(["crm.companies", "documents.files", "appointments.appointments", "crm.contacts"]);
    expect(body.data.map((h) => h.id)).toEqual([made.company!.id, made.file!.id, made.appointment!.id, made.contact!.id]);
    expect(body.data[0]).toMatchObject({ name: word, type: "company", url: `/v1/crm/companies/${made.company!.id}` });
    expect(body.next_cursor).toBeNull();
    // Server-Timing: one entry per service asked.
    const services = (res.headers.get("server-timing") ?? "")
      .split(", ")
      .filter((e) => e.includes('desc="search"'))
      .map((e) => e.split(";")[0]);
    expect(services).toEqual(SERVICE_NAMES);
    for (const hit of body.data) {
      const read = await api(hit.url, { headers: { authorization: `Bearer ${one.token}` } });
      expect(read.status, hit.url).toBe(200);
      await read.arrayBuffer();
    }
  });

  it("shows a second organization none of the first's hits", async () => {
    const { data, response } = await search(two.client, { q: word });
    expect(response.status).toBe(200);
    expect(data).toEqual({ data: [], next_cursor: null });
  });

  it("pages with a cursor and limits to the models asked for", async () => {
    const first = (await search(one.client, { q: word, limit: 3 })).data;
    expect(first.data).toHaveLength(3);
    const second = (await search(one.client, { q: word, limit: 3, cursor: first.next_cursor! })).data;
    expect(second.data.map((h) => h.id)).toEqual([made.contact!.id]);
    expect(second.next_cursor).toBeNull();
    const files = (await search(one.client, { q: word, models: "documents.files" })).data;
    expect(files.data.map((h) => h.id)).toEqual([made.file!.id]);
    await expectApiError(search(one.client, { q: word, models: "crm.pipelines" }), 422);
    const anonymous = createClient({ baseUrl: baseUrl(), fetch: checkedFetch, retries: 0 });
    await expectApiError(search(anonymous, { q: word }), 401);
  });

  it("lists the models behind it", async () => {
    const { data: body, response } = await one.client.withResponse.GET("/v1/mesh/models");
    expect(response.status).toBe(200);
    const appointments = body.data.find((m) => m.service === "appointments" && m.name === "appointments");
    expect(appointments!.fields).toContainEqual(expect.objectContaining({ name: "attendees[].contact_id", references: { service: "crm", model: "contacts" } }));
  });
});
