import type { RouteHandler } from "@hono/zod-openapi";
import { and, asc, eq, isNull, sql } from "drizzle-orm";
import {
  ApiError,
  decodeCursor,
  newId,
  nowIso,
  paginate,
  type ServiceEnv,
  notFound,
  ownedBy,
  afterCursor,
  fieldError,
  getOwnedOr404,
  hasOwned,
  requireOwned,
} from "@buildly/shared";
import { db, isForeignKeyViolation, isUniqueViolation } from "../../db/client";
import { folders, type FolderRow } from "../../db/schema";
import { deleteFolder } from "../../storage/purge";
import type * as routes from "./folders.routes";

type E = ServiceEnv<Env>;

export function toFolder(row: FolderRow) {
  const { organization_id: _org, ...rest } = row;
  return rest;
}

const NOT_FOUND = "No folder has this id.";

function nameTaken(): ApiError {
  return new ApiError(409, "Another folder in the same parent already has this name.", {
    errors: [{ path: "name", message: "Already used in this folder" }],
  });
}

function parentMissing(): ApiError {
  return fieldError("parent_id", "does not exist: no folder has this id.");
}

/**
 * True when `candidate` is `folderId` itself or lies below it: then moving `folderId` under
 * `candidate` would make a cycle. Walks up from the candidate (a tree is shallow; this is one query).
 */
const UNDER_ITSELF = (org: string, folderId: string, candidate: string) => sql`
  WITH RECURSIVE ancestors(id) AS (
    SELECT ${candidate}
    UNION
    SELECT f.parent_id FROM folders f JOIN ancestors a ON f.id = a.id
    WHERE f.organization_id = ${org} AND f.parent_id IS NOT NULL
  )
  SELECT 1 FROM ancestors WHERE id = ${folderId}`;

export const list: RouteHandler<typeof routes.listFolders, E> = async (c) => {
  const { limit, cursor, parent_id } = c.req.valid("query");
  const org = c.get("identity").organization_id;
  const conditions = [eq(folders.organization_id, org)];
  if (parent_id === "root") conditions.push(isNull(folders.parent_id));
  else if (parent_id) conditions.push(eq(folders.parent_id, parent_id));
  const rows = await db(c.env.DB)
    .select()
    .from(folders)
    .where(and(...conditions, afterCursor(folders.created_at, folders.id, decodeCursor(cursor))))
    .orderBy(asc(folders.created_at), asc(folders.id))
    .limit(limit + 1);
  const page = paginate(rows, limit, (r) => r.created_at);
  return c.json({ data: page.data.map(toFolder), next_cursor: page.next_cursor }, 200);
};

export const create: RouteHandler<typeof routes.createFolder, E> = async (c) => {
  const input = c.req.valid("json");
  const identity = c.get("identity");
  const org = identity.organization_id;
  const d = db(c.env.DB);
  const parentId = input.parent_id ?? null;
  if (parentId && !(await hasOwned(d, folders, parentId, org))) throw parentMissing();
  const now = nowIso();
  const row: FolderRow = {
    id: newId(),
    organization_id: org,
    parent_id: parentId,
    name: input.name,
    created_by: identity.user_id,
    created_at: now,
    updated_at: now,
  };
  try {
    await d.insert(folders).values(row);
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken();
    // The parent was deleted between the check and the insert.
    if (isForeignKeyViolation(err)) throw parentMissing();
    throw err;
  }
  c.header("location", `/folders/${row.id}`);
  return c.json(toFolder(row), 201);
};

export const get: RouteHandler<typeof routes.getFolder, E> = async (c) => {
  const row = await getOwnedOr404(db(c.env.DB), folders, c.req.valid("param").id, c.get("identity").organization_id, NOT_FOUND);
  return c.json(toFolder(row), 200);
};

export const update: RouteHandler<typeof routes.updateFolder, E> = async (c) => {
  const { id } = c.req.valid("param");
  const changes = c.req.valid("json");
  const org = c.get("identity").organization_id;
  const d = db(c.env.DB);
  await requireOwned(d, folders, id, org, NOT_FOUND);

  const newParent = changes.parent_id;
  const conditions = [ownedBy(folders, id, org)];
  if (newParent) {
    if (!(await hasOwned(d, folders, newParent, org))) throw parentMissing();
    const cycle = await d.get<{ 1: number } | undefined>(UNDER_ITSELF(org, id, newParent));
    if (cycle) throw moveIntoItself();
    // Checked again inside the UPDATE: a concurrent move cannot slip a cycle in between.
    conditions.push(sql`NOT EXISTS (${UNDER_ITSELF(org, id, newParent)})`);
  }
  let row: FolderRow | undefined;
  try {
    [row] = await d
      .update(folders)
      .set({ ...changes, updated_at: nowIso() })
      .where(and(...conditions))
      .returning();
  } catch (err) {
    if (isUniqueViolation(err)) throw nameTaken();
    if (isForeignKeyViolation(err)) throw parentMissing();
    throw err;
  }
  if (!row) {
    await requireOwned(d, folders, id, org, NOT_FOUND);
    throw moveIntoItself();
  }
  return c.json(toFolder(row), 200);
};

function moveIntoItself(): ApiError {
  return new ApiError(409, "A folder cannot be moved into itself or into one of its own sub-folders.", {
    errors: [{ path: "parent_id", message: "Is this folder or lies inside it" }],
  });
}

export const remove: RouteHandler<typeof routes.deleteFolder, E> = async (c) => {
  const { id } = c.req.valid("param");
  const { recursive } = c.req.valid("query");
  const outcome = await deleteFolder(c.env, c.get("identity").organization_id, id, recursive);
  switch (outcome) {
    case "missing":
      throw notFound(NOT_FOUND);
    case "not-empty":
      throw new ApiError(409, "The folder is not empty. Delete with ?recursive=true to remove it with everything inside.");
    case "changed":
      throw new ApiError(409, "Something was added inside the folder while it was being deleted; retry the delete.");
    case "deleted":
      return c.body(null, 204);
  }
};
