import { forgetOutbox, jsonList, type PersonalDataDefinition } from "@buildly/shared";

/*
 * What this service holds about a person and what erasure does (docs/privacy.md). Every model
 * declares it (NO_PERSONAL_DATA when it holds none); the catalog refuses a model without it.
 * An item names a CRM contact: erasure keeps the item and removes the contact from it.
 */

type Row = Record<string, unknown>;

export const itemsPersonalData: PersonalDataDefinition<Env> = {
  fields: ["contact_id"],
  found_by: { contact_id: "contact_id" },
  erasure: { action: "anonymize", replace: { contact_id: null } },
  find: async (env, org, s, limit) => {
    const { results } = await env.DB.prepare(
      "SELECT * FROM items WHERE organization_id = ?1 AND contact_id IN (SELECT value FROM json_each(?2)) ORDER BY rid LIMIT ?3",
    )
      .bind(org, jsonList(s.contact_ids), limit)
      .all<Row>();
    return results.map(({ rid: _r, organization_id: _o, ...r }) => ({ ...r, tags: JSON.parse(String(r.tags)) }));
  },
  erase: async (env, org, ids) => {
    await env.DB.batch([
      env.DB.prepare("UPDATE items SET contact_id = NULL, updated_at = ?3 WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2))").bind(
        org,
        jsonList(ids),
        new Date().toISOString(),
      ),
      forgetOutbox(env.DB, org, ids),
    ]);
    return { objects_deleted: 0 };
  },
};
