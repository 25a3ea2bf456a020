import { and, desc, eq, sql } from "drizzle-orm";
import { NO_PERSONAL_DATA, ftsMatches, meshFields, newestPerValue, ref, searchCandidates, searchHit, type MeshModelDefinition, inJson } from "@buildly/shared";
import { db } from "./db/client";
import { activeFile, files, folders } from "./db/schema";
import { filesPersonalData } from "./privacy";
import { toFile } from "./routes/files/files.handlers";
import { FileSchema } from "./routes/files/files.schemas";
import { toFolder } from "./routes/folders/folders.handlers";
import { FolderSchema } from "./routes/folders/folders.schemas";

/*
 * The documents service's models as the data mesh sees them (describe, getMany, findBy, search
 * over RPC). Fields are read off the response schemas. File versions are not a model: they have
 * no id of their own and live under their file (/files/{id}/versions).
 * The ids travel as one JSON parameter (inJson) because D1 binds at most 100 parameters per statement.
 */
const fileKeys = { table: files, key: files.id, organization: files.organization_id, created: files.created_at, id: files.id };
const folderKeys = { table: folders, key: folders.id, organization: folders.organization_id, created: folders.created_at, id: folders.id };

/**
 * getMany of files: FileSchema's columns in toFile's order (the row without its internal columns),
 * active files of one organization by id. A fixed statement, prepared on the binding: no drizzle
 * instance and no SQL built per call, which is most of a small mesh read's own cost (docs/benchmarks.md,
 * row (h)). The ids travel as one JSON parameter.
 */
const MESH_FILES_BY_IDS = `SELECT id, folder_id, name, content_type, size, sha256, version, tags, created_by, created_at, updated_at FROM files
  WHERE organization_id = ?1 AND status = ?2 AND id IN (SELECT value FROM json_each(?3))`;

/** 48213 -> "47.1 KiB". */
function bytes(size: number): string {
  const units = ["bytes", "KiB", "MiB", "GiB", "TiB"];
  let i = 0;
  let n = size;
  while (n >= 1024 && i < units.length - 1) {
    n /= 1024;
    i++;
  }
  return i === 0 ? `${size} bytes` : `${n.toFixed(1)} ${units[i]}`;
}

export const models: Record<string, MeshModelDefinition<Env>> = {
  folders: {
    path: "/folders",
    title: "Folder",
    fields: meshFields(FolderSchema, { parent_id: ref("documents", "folders") }),
    getMany: async (env, org, ids) => {
      const rows = await db(env.DB)
        .select()
        .from(folders)
        .where(and(eq(folders.organization_id, org), inJson(folders.id, ids)));
      return rows.map(toFolder);
    },
    findBy: {
      parent_id: async (env, org, values, perValue) => {
        const rows = await db(env.DB)
          .select()
          .from(folders)
          .where(newestPerValue(folderKeys, folders.parent_id, org, values, perValue))
          .orderBy(desc(folders.created_at), desc(folders.id));
        return rows.map(toFolder);
      },
    },
    // Names, word prefixes (migrations/0003): the best candidates by bm25 in one query, looked up by
    // primary key (`+f.organization_id`: not through the organization's index; FTS already narrowed it).
    search: async (env, org, q, limit) => {
      const matches = ftsMatches("folders_fts", "folder_id", ["name"], org, q, searchCandidates(limit));
      if (!matches) return [];
      const rows = await db(env.DB).all<{ id: string; name: string }>(
        sql`SELECT f.id, f.name FROM (${matches}) AS m JOIN folders AS f ON f.id = m.id WHERE +f.organization_id = ${org} ORDER BY m.rank`,
      );
      return rows.map((r) => searchHit(q, { id: r.id, model: "folders", type: "folder", name: r.name, description: null }));
    },
    personalData: NO_PERSONAL_DATA,
  },
  files: {
    path: "/files",
    title: "File",
    fields: meshFields(FileSchema, { folder_id: ref("documents", "folders") }),
    // The API's columns in toFile's order, straight from SQL: only tags need parsing, no row mapping.
    getMany: async (env, org, ids) => {
      const { results: rows } = await env.DB.prepare(MESH_FILES_BY_IDS)
        .bind(org, "active", JSON.stringify(ids))
        .all<Record<string, unknown> & { tags: string | string[] }>();
      for (const row of rows) row.tags = JSON.parse(row.tags as string) as string[];
      return rows;
    },
    findBy: {
      folder_id: async (env, org, values, perValue) => {
        const rows = await db(env.DB)
          .select()
          .from(files)
          .where(newestPerValue(fileKeys, files.folder_id, org, values, perValue, activeFile))
          .orderBy(desc(files.created_at), desc(files.id));
        return rows.map(toFile);
      },
    },
    search: async (env, org, q, limit) => {
      const matches = ftsMatches("files_fts", "file_id", ["name"], org, q, searchCandidates(limit));
      if (!matches) return [];
      const rows = await db(env.DB).all<{ id: string; name: string; content_type: string; size: number }>(
        sql`SELECT f.id, f.name, f.content_type, f.size FROM (${matches}) AS m JOIN files AS f ON f.id = m.id
            WHERE +f.organization_id = ${org} AND f.status = 'active' ORDER BY m.rank`,
      );
      return rows.map((r) => searchHit(q, { id: r.id, model: "files", type: "file", name: r.name, description: `${r.content_type}, ${bytes(r.size)}` }));
    },
    personalData: filesPersonalData,
  },
};
