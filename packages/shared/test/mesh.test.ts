import { z } from "@hono/zod-openapi";
import { describe, expect, it } from "vitest";
import { IdSchema, TimestampSchema, matchExpression, meshFields, ref, textScore } from "../src";

describe("meshFields", () => {
  const Schema = z
    .object({
      id: IdSchema,
      name: z.string(),
      count: z.number().int(),
      ratio: z.number(),
      flag: z.boolean(),
      when: TimestampSchema,
      day: z.iso.date(),
      status: z.enum(["a", "b"]),
      owner_id: IdSchema.nullable(),
      tags: z.array(z.string()),
      extra: z.record(z.string(), z.string()),
      people: z.array(z.object({ person_id: IdSchema.nullable(), email: z.string() })),
      shown: z.string().transform((s) => s.trim()),
    })
    .openapi("Thing");

  it("reads types and nullability off the schema, with notes for references and nested fields", () => {
    const fields = meshFields(Schema, { owner_id: ref("crm", "contacts"), "people[].person_id": ref("crm", "contacts"), name: { type: "text" } });
    expect(fields).toEqual([
      { name: "id", type: "uuid" },
      { name: "name", type: "text" },
      { name: "count", type: "integer" },
      { name: "ratio", type: "number" },
      { name: "flag", type: "boolean" },
      { name: "when", type: "datetime" },
      { name: "day", type: "date" },
      { name: "status", type: "string" },
      { name: "owner_id", type: "uuid", nullable: true, references: { service: "crm", model: "contacts" } },
      { name: "tags", type: "array" },
      { name: "extra", type: "object" },
      { name: "people", type: "array" },
      { name: "people[].person_id", type: "uuid", nullable: true, references: { service: "crm", model: "contacts" } },
      { name: "shown", type: "string" },
    ]);
  });

  it("throws when a note names a field the schema lacks, so a rename cannot leave a stale reference", () => {
    expect(() => meshFields(Schema, { contact_id: ref("crm", "contacts") })).toThrow(/no field contact_id/);
    expect(() => meshFields(Schema, { "people[].contact_id": ref("crm", "contacts") })).toThrow(/no field people\[\]\.contact_id/);
    expect(() => meshFields(Schema, { "tags[].x": ref("crm", "contacts") })).toThrow(/not an object/);
    expect(() => meshFields(Schema, { "name[].x": ref("crm", "contacts") })).toThrow(/not a list/);
    expect(() => meshFields(Schema, { constructor: ref("crm", "contacts") })).toThrow(/no field constructor/);
  });
});

describe("search text", () => {
  it("scores the exact name 1, a name starting with the query 0.9, then by words, diacritics folded", () => {
    expect(textScore("ada lovelace", "Ada Lovelace")).toBe(1);
    expect(textScore("José", "jose")).toBe(1);
    expect(textScore("ada", "Ada Lovelace")).toBe(0.9);
    expect(textScore("love", "Ada Lovelace")).toBe(0.7);
    expect(textScore("love ada", "Ada Lovelace")).toBe(0.8);
    expect(textScore("love zzz", "Ada Lovelace")).toBe(0.45);
    expect(textScore("zzz", "Ada Lovelace")).toBe(0.1);
    expect(textScore("!!", "Ada")).toBe(0.1);
  });

  it("quotes every word, so FTS5 syntax in a query is plain text", () => {
    expect(matchExpression('a" OR name:x NEAR(', ["name"], "org")).toBe(
      'organization_id : "org" AND {name} : "a"* AND {name} : "OR"* AND {name} : "name"* AND {name} : "x"* AND {name} : "NEAR"*',
    );
    expect(matchExpression("!!", ["name"], "org")).toBeNull();
  });
});
