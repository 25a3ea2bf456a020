import { forgetOutbox, jsonList, purgeFts, type PersonalDataDefinition } from "@buildly/shared";

/*
 * What the CRM holds about a person and what erasure does (docs/privacy.md): the contact found by
 * email (or by its id) is deleted with its activities; deals stay (they are the organization's
 * business) without the contact. Finders read rows in rid order, bounded by `limit`.
 */

type Row = Record<string, unknown>;
const shape = ({ rid: _rid, organization_id: _org, ...rest }: Row) => rest;
const parseJson = (row: Row) => ({
  ...row,
  ...(typeof row.tags === "string" ? { tags: JSON.parse(row.tags) } : {}),
  ...(typeof row.custom_fields === "string" ? { custom_fields: JSON.parse(row.custom_fields) } : {}),
});

async function rows(d1: D1Database, query: string, ...params: unknown[]): Promise<Row[]> {
  const { results } = await d1
    .prepare(query)
    .bind(...params)
    .all<Row>();
  return results.map((r) => shape(parseJson(r)));
}

export const contactsPersonalData: PersonalDataDefinition<Env> = {
  fields: ["first_name", "last_name", "email", "phone", "custom_fields"],
  found_by: { email: "email", contact_id: "id" },
  erasure: { action: "delete" },
  find: (env, org, s, limit) =>
    rows(
      env.DB,
      `SELECT * FROM contacts WHERE organization_id = ?1
         AND (lower(email) IN (SELECT value FROM json_each(?2)) OR id IN (SELECT value FROM json_each(?3)))
       ORDER BY rid LIMIT ?4`,
      org,
      jsonList(s.emails),
      jsonList(s.contact_ids),
      limit,
    ),
  // Deals and activities are erased first (reverse catalog order); a contact an activity under
  // legal hold still names stays with it (the foreign key), reported as held.
  erase: async (env, org, ids) => {
    const list = jsonList(ids);
    const referenced = `SELECT contact_id FROM activities WHERE organization_id = ?1 AND contact_id IN (SELECT value FROM json_each(?2))
      UNION SELECT contact_id FROM deals WHERE organization_id = ?1 AND contact_id IN (SELECT value FROM json_each(?2))`;
    const [kept] = await env.DB.batch<{ contact_id: string }>([
      env.DB.prepare(referenced).bind(org, list),
      env.DB.prepare(`DELETE FROM contacts WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2)) AND id NOT IN (${referenced})`).bind(
        org,
        list,
      ),
      env.DB.prepare(`DELETE FROM outbox WHERE organization_id = ?1 AND subject IN (SELECT value FROM json_each(?2)) AND subject NOT IN (${referenced})`).bind(
        org,
        list,
      ),
      purgeFts(env.DB, "contacts_fts"),
    ]);
    return { objects_deleted: 0, held: kept!.results.map((r) => r.contact_id) };
  },
};

export const dealsPersonalData: PersonalDataDefinition<Env> = {
  fields: ["contact_id"],
  found_by: { contact_id: "contact_id" },
  erasure: { action: "anonymize", replace: { contact_id: null } },
  find: (env, org, s, limit) =>
    rows(
      env.DB,
      "SELECT * FROM deals WHERE organization_id = ?1 AND contact_id IN (SELECT value FROM json_each(?2)) ORDER BY rid LIMIT ?3",
      org,
      jsonList(s.contact_ids),
      limit,
    ),
  erase: async (env, org, ids) => {
    await env.DB.prepare("UPDATE deals SET contact_id = NULL, updated_at = ?3 WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2))")
      .bind(org, jsonList(ids), new Date().toISOString())
      .run();
    return { objects_deleted: 0 };
  },
};

export const activitiesPersonalData: PersonalDataDefinition<Env> = {
  fields: ["contact_id", "body"],
  found_by: { contact_id: "contact_id" },
  erasure: { action: "delete" },
  find: (env, org, s, limit) =>
    rows(
      env.DB,
      "SELECT * FROM activities WHERE organization_id = ?1 AND contact_id IN (SELECT value FROM json_each(?2)) ORDER BY rid LIMIT ?3",
      org,
      jsonList(s.contact_ids),
      limit,
    ),
  erase: async (env, org, ids) => {
    await env.DB.batch([
      env.DB.prepare("DELETE FROM activities WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2))").bind(org, jsonList(ids)),
      forgetOutbox(env.DB, org, ids),
    ]);
    return { objects_deleted: 0 };
  },
};
