// The OpenAPI document states what the handlers enforce: each keyword below is checked in the
// served /openapi.json, and where it is a rule, against what the server answers.
import { describe, expect, it } from "vitest";
import { a, contactInput, identity, rpc } from "./helpers";

async function openapi(): Promise<any> {
  const res = await rpc.handle(new Request("https://service.internal/openapi.json"), identity());
  expect(res.status).toBe(200);
  return res.json();
}

describe("the CRM's OpenAPI document", () => {
  it("says every PATCH body needs at least one field, as the server does", async () => {
    const schemas = (await openapi()).components.schemas;
    for (const name of ["CompanyUpdate", "ContactUpdate", "DealUpdate", "PipelineUpdate", "ActivityUpdate"]) {
      expect(schemas[name], name).toMatchObject({ type: "object", minProperties: 1, additionalProperties: false });
    }
    const contact = await (await a.post("/contacts", contactInput())).json<any>();
    const empty = await a.patch(`/contacts/${contact.id}`, {});
    expect(empty.status).toBe(422);
  });

  it("states the custom-field key pattern and count limit, and they match what the server accepts", async () => {
    const schemas = (await openapi()).components.schemas;
    for (const name of ["CompanyCreate", "CompanyUpdate", "ContactCreate", "ContactUpdate"]) {
      const custom = schemas[name].properties.custom_fields;
      expect(custom, name).toMatchObject({ type: "object", maxProperties: 50, propertyNames: { pattern: expect.any(String) } });
    }
    const { pattern } = schemas.ContactCreate.properties.custom_fields.propertyNames;
    const keys = ["industry", "A", "a_1", "x".repeat(64), "x".repeat(65), "_private", "1st", "has-dash", "with space", "ümlaut", "constructor", ""];
    for (const key of keys) {
      const res = await a.post("/contacts", contactInput({ custom_fields: { [key]: 1 } }));
      expect(res.status === 201, `key ${JSON.stringify(key)}: ${res.status}`).toBe(new RegExp(pattern).test(key));
    }
    const fields = (n: number) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i]));
    expect((await a.post("/contacts", contactInput({ custom_fields: fields(50) }))).status).toBe(201);
    expect((await a.post("/contacts", contactInput({ custom_fields: fields(51) }))).status).toBe(422);
  });

  it("says an activity needs a contact, a company or a deal (anyOf of required sets), as the server does", async () => {
    const schemas = (await openapi()).components.schemas;
    const links = ["contact_id", "company_id", "deal_id"];
    expect(schemas.ActivityCreate.anyOf.map((s: any) => s.required)).toEqual(links.map((l) => [l]));
    for (const [i, s] of schemas.ActivityCreate.anyOf.entries()) expect(s.properties[links[i]!]).toEqual({ type: "string" });
    expect(schemas.ActivityUpdate.description).toMatch(/linked to a contact, company or deal/);
    const refused = [{}, { contact_id: null }, { contact_id: null, company_id: null, deal_id: null }];
    for (const links of refused) expect((await a.post("/activities", { type: "note", body: "x", ...links })).status).toBe(422);
  });

  it("types timestamps as RFC 3339 date-times and dates as dates", async () => {
    const schemas = (await openapi()).components.schemas;
    for (const name of ["Contact", "Company", "Deal", "Pipeline", "Activity"]) {
      for (const field of ["created_at", "updated_at"]) expect(schemas[name].properties[field], `${name}.${field}`).toMatchObject({ format: "date-time" });
    }
    for (const name of ["ActivityCreate", "ActivityUpdate"]) expect(schemas[name].properties.occurred_at).toMatchObject({ format: "date-time" });
    expect(schemas.Activity.properties.occurred_at).toMatchObject({ format: "date-time" });
    for (const name of ["DealCreate", "DealUpdate"]) expect(schemas[name].properties.expected_close_date).toMatchObject({ format: "date" });
  });
});
