import { describe, expect, it } from "vitest";
import { NO_PERSONAL_DATA, personalDataProblems, type MeshField, type PersonalDataDefinition } from "../src";

const fields: MeshField[] = [
  { name: "id", type: "uuid" },
  { name: "email", type: "string" },
  { name: "contact_id", type: "uuid", nullable: true },
  { name: "attendees", type: "array" },
];
const find = async () => [];
const erase = async () => ({ objects_deleted: 0 });

describe("personalDataProblems (the catalog refuses a model without a sound privacy declaration)", () => {
  it("accepts a declaration whose fields, keys and rule name the catalog", () => {
    expect(personalDataProblems("s.m", fields, NO_PERSONAL_DATA)).toEqual([]);
    expect(personalDataProblems("s.m", fields, { fields: ["email"], found_by: { email: "email" }, erasure: { action: "delete" }, find, erase })).toEqual([]);
    const list: PersonalDataDefinition<unknown> = {
      fields: ["attendees[].email"],
      found_by: { email: "attendees[].email" },
      erasure: { action: "anonymize", replace: { "attendees[]": null } },
      find,
      erase,
    };
    expect(personalDataProblems("s.m", fields, list)).toEqual([]);
    expect(
      personalDataProblems("s.m", fields, {
        fields: ["email"],
        found_by: { email: "email" },
        erasure: { action: "keep", legal_basis: "tax law, 10 years" },
        find,
      }),
    ).toEqual([]);
  });

  it("refuses a missing declaration and each kind of wrong one", () => {
    expect(personalDataProblems("s.m", fields, undefined)).toEqual(["s.m: no personal_data declaration (NO_PERSONAL_DATA when it holds none)"]);
    expect(personalDataProblems("s.m", fields, { fields: ["phone"], found_by: {}, erasure: { action: "delete" } })).toEqual([
      "s.m: personal field phone is not a catalog field",
    ]);
    expect(personalDataProblems("s.m", fields, { fields: ["email"], found_by: { email: "mail" }, erasure: { action: "delete" }, find, erase })).toEqual([
      "s.m: found_by email names mail, not a catalog field",
    ]);
    const badKey = { fields: ["email"], found_by: { phone: "email" }, erasure: { action: "delete" }, find, erase } as never;
    expect(personalDataProblems("s.m", fields, badKey)).toEqual(["s.m: found_by phone is not one of email, contact_id, user_id, linked"]);
    expect(personalDataProblems("s.m", fields, { fields: ["email"], found_by: { email: "email" }, erasure: { action: "delete" } })).toEqual([
      "s.m: found_by needs a find",
      "s.m: found_by needs an erase",
    ]);
    expect(personalDataProblems("s.m", fields, { fields: [], found_by: {}, erasure: { action: "keep", legal_basis: "  " } })).toEqual([
      "s.m: keep needs a legal_basis",
    ]);
    expect(personalDataProblems("s.m", fields, { fields: ["email"], found_by: {}, erasure: { action: "anonymize", replace: {} } })).toEqual([
      "s.m: anonymize names no field",
    ]);
    expect(personalDataProblems("s.m", fields, { fields: ["email"], found_by: {}, erasure: { action: "anonymize", replace: { phone: null } } })).toEqual([
      "s.m: anonymize names phone, not a catalog field",
    ]);
    expect(personalDataProblems("s.m", fields, { fields: [], found_by: { email: "email" }, erasure: { action: "delete" }, find, erase })).toEqual([
      "s.m: a person is found here but no field is personal",
    ]);
  });
});
