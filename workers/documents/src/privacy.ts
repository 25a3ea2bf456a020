import { forgetOutbox, jsonList, purgeFts, type PersonalDataDefinition } from "@buildly/shared";

/*
 * What the documents service holds about a person and what erasure does (docs/privacy.md): files
 * linked to the person's contact through the mesh's join records are theirs; erasure deletes each
 * with its versions, tags and every stored body in R2.
 */

type Row = Record<string, unknown>;

export const filesPersonalData: PersonalDataDefinition<Env> = {
  fields: ["name"],
  found_by: { linked: "id" },
  erasure: { action: "delete" },
  find: async (env, org, s, limit) => {
    const ids = Object.hasOwn(s.linked, "files") ? (s.linked.files ?? []) : [];
    if (!ids.length) return [];
    const { results } = await env.DB.prepare(
      "SELECT * FROM files WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2)) ORDER BY created_at, id LIMIT ?3",
    )
      .bind(org, jsonList(ids), limit)
      .all<Row>();
    return results.map(({ organization_id: _o, object_key: _k, status: _s, ...r }) => ({ ...r, tags: JSON.parse(String(r.tags)) }));
  },
  erase: async (env, org, ids) => {
    // The bodies first: an interrupted erasure finds the rows again and deletes what is left.
    const { results } = await env.DB.prepare(
      `SELECT object_key FROM files WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2))
       UNION SELECT object_key FROM file_versions WHERE organization_id = ?1 AND file_id IN (SELECT value FROM json_each(?2))
       UNION SELECT object_key FROM uploads WHERE organization_id = ?1 AND file_id IN (SELECT value FROM json_each(?2))`,
    )
      .bind(org, jsonList(ids))
      .all<{ object_key: string }>();
    const keys = results.map((r) => r.object_key);
    for (let i = 0; i < keys.length; i += 1000) await env.FILES.delete(keys.slice(i, i + 1000));
    await env.DB.batch([
      env.DB.prepare("DELETE FROM uploads WHERE organization_id = ?1 AND file_id IN (SELECT value FROM json_each(?2))").bind(org, jsonList(ids)),
      env.DB.prepare("DELETE FROM files WHERE organization_id = ?1 AND id IN (SELECT value FROM json_each(?2))").bind(org, jsonList(ids)),
      forgetOutbox(env.DB, org, ids),
      purgeFts(env.DB, "files_fts"),
    ]);
    return { objects_deleted: keys.length };
  },
};
