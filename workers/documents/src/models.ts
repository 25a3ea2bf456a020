import { and, eq, inArray, sql } from "drizzle-orm";
import type { GetManyLoader } from "@buildly/shared";
import { db } from "./db/client";
import { files, folders } from "./db/schema";
import { toFile } from "./routes/files/files.handlers";
import { toFolder } from "./routes/folders/folders.handlers";

/**
 * The batched reads by id the data mesh joins on (getMany over RPC). One query each; the ids
 * travel as one JSON parameter because D1 binds at most 100 parameters per statement.
 */
const idsIn = (ids: string[]) => sql`(SELECT value FROM json_each(${JSON.stringify(ids)}))`;

export const models: Record<string, GetManyLoader<Env>> = {
  files: async (env, org, ids) => {
    const rows = await db(env.DB)
      .select()
      .from(files)
      .where(and(eq(files.organization_id, org), eq(files.status, "active"), inArray(files.id, idsIn(ids))));
    return rows.map(toFile);
  },
  folders: async (env, org, ids) => {
    const rows = await db(env.DB)
      .select()
      .from(folders)
      .where(and(eq(folders.organization_id, org), inArray(folders.id, idsIn(ids))));
    return rows.map(toFolder);
  },
};
