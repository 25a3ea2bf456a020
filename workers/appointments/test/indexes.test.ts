// The queries behind lists, windows, overlap checks and getMany use an index (EXPLAIN QUERY PLAN on the real D1).
import { env } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import { MESH_APPOINTMENTS_BY_CALENDARS, MESH_APPOINTMENTS_BY_CONTACTS, appointmentsByIds, calendarsByIds } from "../src/models";

const DB = (env as unknown as { DB: D1Database }).DB;

async function plan(statement: string, params: unknown[]): Promise<string[]> {
  const { results } = await DB.prepare(`EXPLAIN QUERY PLAN ${statement}`)
    .bind(...params)
    .all<{ detail: string }>();
  return results.map((r) => r.detail);
}

const ORG = "11111111-1111-4111-8111-111111111111";
const CAL = "a3c2e1f0-5b4d-4c3b-8a29-1e0f9d8c7b01";
const T1 = "2026-01-01T00:00:00.000Z";
const T2 = "2026-02-01T00:00:00.000Z";

describe("query plans", () => {
  it("searches an index for every list, window and overlap query", async () => {
    const cases: [string, string, unknown[], RegExp][] = [
      ["list", "SELECT * FROM appointments WHERE organization_id = ? ORDER BY created_at, id LIMIT 21", [ORG], /USING INDEX appointments_org_created/],
      [
        "list by calendar",
        "SELECT * FROM appointments WHERE organization_id = ? AND calendar_id = ? ORDER BY created_at, id LIMIT 21",
        [ORG, CAL],
        /USING INDEX appointments_org_calendar_created/,
      ],
      [
        "window",
        "SELECT * FROM appointments a JOIN calendars c ON c.id = a.calendar_id WHERE a.organization_id = ? AND a.range_end > ? AND a.start_at < ?",
        [ORG, T1, T2],
        /USING INDEX appointments_org_range \(organization_id=\? AND range_end>\?\)/,
      ],
      [
        "window of a calendar",
        "SELECT * FROM appointments a JOIN calendars c ON c.id = a.calendar_id WHERE a.organization_id = ? AND a.calendar_id = ? AND a.range_end > ? AND a.start_at < ?",
        [ORG, CAL, T1, T2],
        /USING INDEX appointments_calendar_range \(organization_id=\? AND calendar_id=\? AND range_end>\?\)/,
      ],
      [
        "overlap check",
        "SELECT * FROM appointments WHERE organization_id = ? AND calendar_id = ? AND status = 'scheduled' AND range_end > ? AND start_at < ? AND id <> ?",
        [ORG, CAL, T1, T2, CAL],
        /USING INDEX appointments_calendar_range \(organization_id=\? AND calendar_id=\? AND range_end>\?\)/,
      ],
      [
        "feed",
        "SELECT * FROM appointments WHERE organization_id = ? AND calendar_id = ? ORDER BY start_at DESC, id DESC LIMIT 5000",
        [ORG, CAL],
        /USING INDEX appointments_(calendar_range|org_calendar_created) \(organization_id=\? AND calendar_id=\?\)/,
      ],
    ];
    for (const [name, statement, params, expected] of cases) {
      const details = await plan(statement, params);
      expect(details.join(" | "), name).toMatch(expected);
      expect(
        details.some((d) => /^SCAN (appointments|a)\b/.test(d)),
        name,
      ).toBe(false);
    }
  });

  it("findBy's fixed statements walk an index for the values and look appointments up by primary key", async () => {
    const cases: [string, string, RegExp][] = [
      [
        "by contacts",
        MESH_APPOINTMENTS_BY_CONTACTS,
        /SEARCH appointment_contacts USING COVERING INDEX appointment_contacts_org_contact \(organization_id=\? AND contact_id=\?\)/,
      ],
      [
        "by calendars",
        MESH_APPOINTMENTS_BY_CALENDARS,
        /SEARCH appointments USING COVERING INDEX appointments_org_calendar_created \(organization_id=\? AND calendar_id=\?\)/,
      ],
    ];
    for (const [name, statement, expected] of cases) {
      const details = (await plan(statement, [ORG, JSON.stringify([CAL]), 21])).join(" | ");
      expect(details, name).toMatch(expected);
      expect(details, name).toMatch(/SEARCH appointments USING (INDEX sqlite_autoindex_appointments_1|PRIMARY KEY) \(id=\?\)/);
      expect(details, name).not.toMatch(/SCAN (appointments|appointment_contacts)\b/);
    }
  });

  it("getMany looks rows up by primary key", async () => {
    for (const query of [calendarsByIds(DB, ORG, [CAL]), appointmentsByIds(DB, ORG, [CAL])]) {
      const { sql, params } = query.toSQL();
      const details = await plan(sql, params);
      expect(details.join(" | ")).toMatch(/USING (INDEX sqlite_autoindex_\w+_1|PRIMARY KEY) \(id=\?\)/);
    }
  });
});
