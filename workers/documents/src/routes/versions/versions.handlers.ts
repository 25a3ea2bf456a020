import type { RouteHandler } from "@hono/zod-openapi";
import { and, asc, eq, gt } from "drizzle-orm";
import { decodeCursor, encodeCursor, type ServiceEnv, invalidCursor, notFound, ownedBy, hasOwned } from "@buildly/shared";
import { db } from "../../db/client";
import { activeFile, files, fileVersions, type FileVersionRow } from "../../db/schema";
import { serveStoredBody } from "../../lib/http";
import type * as routes from "./versions.routes";

type E = ServiceEnv<Env>;

const NOT_FOUND = "No file has this id.";

function toVersion(row: FileVersionRow) {
  const { file_id: _file, organization_id: _org, object_key: _key, ...rest } = row;
  return rest;
}

/** A live file of this organization (not a tombstone). */
function live(org: string, id: string) {
  return ownedBy(files, id, org, activeFile);
}

function fileExists(env: Env, org: string, id: string): Promise<boolean> {
  return hasOwned(db(env.DB), files, id, org, activeFile);
}

/** The version a cursor stands after; a cursor of another file's list is not accepted. */
function afterVersion(cursor: string | undefined, fileId: string): number | undefined {
  const after = decodeCursor(cursor);
  if (!after) return undefined;
  const version = Number(after.k);
  if (after.id !== fileId || !Number.isSafeInteger(version)) {
    throw invalidCursor();
  }
  return version;
}

export const list: RouteHandler<typeof routes.listVersions, E> = async (c) => {
  const { id } = c.req.valid("param");
  const { limit, cursor } = c.req.valid("query");
  const org = c.get("identity").organization_id;
  const after = afterVersion(cursor, id);
  if (!(await fileExists(c.env, org, id))) throw notFound(NOT_FOUND);
  const rows = await db(c.env.DB)
    .select()
    .from(fileVersions)
    .where(and(eq(fileVersions.file_id, id), eq(fileVersions.organization_id, org), after !== undefined ? gt(fileVersions.version, after) : undefined))
    .orderBy(asc(fileVersions.version))
    .limit(limit + 1);
  const page = rows.slice(0, limit);
  const last = page[page.length - 1];
  const next_cursor = rows.length > limit && last ? encodeCursor({ k: String(last.version), id }) : null;
  return c.json({ data: page.map(toVersion), next_cursor }, 200);
};

export const content: RouteHandler<typeof routes.getVersionContent, E> = async (c) => {
  const { id, version } = c.req.valid("param");
  const org = c.get("identity").organization_id;
  const found = await db(c.env.DB)
    .select({ name: files.name, v: fileVersions })
    .from(fileVersions)
    .innerJoin(files, eq(files.id, fileVersions.file_id))
    .where(and(live(org, id), eq(fileVersions.version, version)))
    .get();
  if (!found) {
    if (!(await fileExists(c.env, org, id))) throw notFound(NOT_FOUND);
    throw notFound(`The file has no version ${version}.`);
  }
  return (await serveStoredBody(c.req.raw, c.env.FILES, {
    key: found.v.object_key,
    size: found.v.size,
    sha256: found.v.sha256,
    contentType: found.v.content_type,
    name: found.name,
  })) as never;
};
