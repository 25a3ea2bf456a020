import type { RouteHandler } from "@hono/zod-openapi";
import { and, asc, eq, inArray, isNull, sql } from "drizzle-orm";
import {
  ApiError,
  decodeCursor,
  newId,
  nowIso,
  paginate,
  zodIssuesToFieldErrors,
  type ServiceEnv,
  notFound,
  afterCursor,
  fieldError,
  hasOwned,
  ownedBy,
  getOwnedOr404,
} from "@buildly/shared";
import { db, isForeignKeyViolation } from "../../db/client";
import { activeFile, files, fileTags, folders, type FileRow } from "../../db/schema";
import { serveStoredBody } from "../../lib/http";
import { isMultipartFormData } from "../../lib/multipart";
import { abandonUpload, beginUpload, objectKey, receiveUpload, type ReceivedUpload } from "../../storage/intake";
import { purgeFile } from "../../storage/purge";
import { NameSchema } from "../common.schemas";
import { UploadFormFieldsSchema } from "./files.schemas";
import type * as routes from "./files.routes";

type E = ServiceEnv<Env>;

export function toFile(row: FileRow) {
  const { organization_id: _org, object_key: _key, status: _status, ...rest } = row;
  return rest;
}

/** A row as raw SQL (RETURNING *) gives it: tags still JSON text. */
function fileFromSql(raw: Record<string, unknown>): FileRow {
  return { ...(raw as unknown as FileRow), tags: JSON.parse(raw.tags as string) as string[] };
}

const NOT_FOUND = "No file has this id.";

function folderMissing(path: string): ApiError {
  return fieldError(path, "does not exist: no folder has this id.");
}

/** A live file of this organization (not a tombstone). */
function live(org: string, id: string) {
  return ownedBy(files, id, org, activeFile);
}

function folderExists(env: Env, org: string, folderId: string): Promise<boolean> {
  return hasOwned(db(env.DB), folders, folderId, org);
}

/** LIKE pattern for "starts with": the user's %, _ and \ are literal. */
function likePrefix(prefix: string): string {
  return `${prefix.replace(/[\\%_]/g, (ch) => `\\${ch}`)}%`;
}

export const list: RouteHandler<typeof routes.listFiles, E> = async (c) => {
  const { limit, cursor, folder_id, tag, name } = c.req.valid("query");
  const org = c.get("identity").organization_id;
  const after = decodeCursor(cursor);
  const d = db(c.env.DB);
  const conditions = [eq(files.organization_id, org), eq(files.status, "active")];
  if (folder_id === "root") conditions.push(isNull(files.folder_id));
  else if (folder_id) conditions.push(eq(files.folder_id, folder_id));
  if (tag) {
    const tagged = d
      .select({ id: fileTags.file_id })
      .from(fileTags)
      .where(and(eq(fileTags.organization_id, org), eq(fileTags.tag, tag)));
    conditions.push(inArray(files.id, tagged));
  }
  if (name) conditions.push(sql`${files.name} LIKE ${likePrefix(name)} ESCAPE '\\'`);
  const rows = await d
    .select()
    .from(files)
    .where(and(...conditions, afterCursor(files.created_at, files.id, after)))
    .orderBy(asc(files.created_at), asc(files.id))
    .limit(limit + 1);
  const page = paginate(rows, limit, (r) => r.created_at);
  return c.json({ data: page.data.map(toFile), next_cursor: page.next_cursor }, 200);
};

/** The one value of a form field that may appear once. */
function single(fields: Map<string, string[]>, name: string): string | undefined {
  const values = fields.get(name);
  if (values && values.length > 1) throw fieldError(`form.${name}`, "Give this field once.");
  return values?.[0];
}

interface UploadMeta {
  name: string;
  folder_id: string | null;
  tags: string[];
  /** Where a bad folder_id came from, for the 422's path. */
  folderPath: string;
}

/** Name, folder and tags of an upload: the form's fields win over the query's. */
function metaOf(received: ReceivedUpload, query: { name?: string; folder_id?: string; tags?: string[] }): UploadMeta & { checkFolder: boolean } {
  if (!received.multipart) {
    return { name: query.name!, folder_id: query.folder_id ?? null, tags: query.tags ?? [], folderPath: "query.folder_id", checkFolder: false };
  }
  const parsed = UploadFormFieldsSchema.safeParse({
    name: single(received.fields, "name"),
    folder_id: single(received.fields, "folder_id"),
    tags: received.fields.get("tags"),
  });
  if (!parsed.success) {
    throw new ApiError(422, "The request does not match the schema.", { errors: zodIssuesToFieldErrors(parsed.error, "form") });
  }
  const form = parsed.data;
  let name = form.name ?? query.name;
  if (name === undefined) {
    const fromFile = NameSchema.safeParse(received.filename ?? "");
    if (!fromFile.success) {
      throw fieldError("form.file", "The file part's filename is not a usable name (none, or with path separators or control characters); give a name field.");
    }
    name = fromFile.data;
  }
  return {
    name,
    folder_id: form.folder_id ?? query.folder_id ?? null,
    tags: form.tags ?? query.tags ?? [],
    folderPath: form.folder_id ? "form.folder_id" : "query.folder_id",
    checkFolder: form.folder_id !== undefined,
  };
}

/**
 * POST /files. Checks what it can before reading the body (the query), streams the body into
 * R2, then records file, first version and tags in one D1 batch that also closes the journal
 * entry. Any failure before that batch commits leaves no object behind.
 */
export const upload: RouteHandler<typeof routes.uploadFile, E> = async (c) => {
  const query = c.req.valid("query");
  const identity = c.get("identity");
  const org = identity.organization_id;
  const request = c.req.raw;
  const multipart = isMultipartFormData(request.headers.get("content-type"));
  if (!multipart && query.name === undefined) {
    await request.body?.cancel().catch(() => {});
    throw fieldError("query.name", "Required for a raw upload (a multipart form may name the file by its filename).");
  }
  if (query.folder_id && !(await folderExists(c.env, org, query.folder_id))) {
    await request.body?.cancel().catch(() => {});
    throw folderMissing("query.folder_id");
  }

  const id = newId();
  const key = objectKey(org, id);
  await beginUpload(c.env, key, org, id);
  let committed = false;
  let folderPath = "query.folder_id";
  try {
    const received = await receiveUpload(c.env, request, key, ["name", "folder_id", "tags"]);
    const meta = metaOf(received, query);
    folderPath = meta.folderPath;
    if (meta.checkFolder && meta.folder_id && !(await folderExists(c.env, org, meta.folder_id))) throw folderMissing(folderPath);

    const now = nowIso();
    const row: FileRow = {
      id,
      organization_id: org,
      folder_id: meta.folder_id,
      name: meta.name,
      content_type: received.contentType,
      size: received.stored.size,
      sha256: received.stored.sha256,
      version: 1,
      tags: meta.tags,
      object_key: key,
      status: "active",
      created_by: identity.user_id,
      created_at: now,
      updated_at: now,
    };
    // Written only while the journal entry exists: if sweep() had already taken this upload
    // for abandoned (and deleted its object), no row may point at it.
    const [inserted] = await c.env.DB.batch([
      c.env.DB.prepare(
        `INSERT INTO files (id, organization_id, folder_id, name, content_type, size, sha256, version, tags, object_key, status, created_by, created_at, updated_at)
         SELECT ?1, ?2, ?3, ?4, ?5, ?6, ?7, 1, ?8, ?9, 'active', ?10, ?11, ?11 WHERE EXISTS (SELECT 1 FROM uploads WHERE object_key = ?9)
         RETURNING id`,
      ).bind(id, org, row.folder_id, row.name, row.content_type, row.size, row.sha256, JSON.stringify(row.tags), key, row.created_by, now),
      c.env.DB.prepare(
        `INSERT INTO file_versions (file_id, organization_id, version, content_type, size, sha256, object_key, created_by, created_at)
         SELECT ?1, ?2, 1, ?3, ?4, ?5, ?6, ?7, ?8 WHERE EXISTS (SELECT 1 FROM uploads WHERE object_key = ?6)`,
      ).bind(id, org, row.content_type, row.size, row.sha256, key, row.created_by, now),
      c.env.DB.prepare("DELETE FROM uploads WHERE object_key = ?1").bind(key),
    ]);
    // (meta.changes would count the tag trigger's rows too.)
    if (inserted!.results.length !== 1) throw new ApiError(500, "The upload was abandoned before it could be recorded.");
    committed = true;
    c.header("location", `/files/${id}`);
    return c.json(toFile(row), 201);
  } catch (err) {
    if (!committed) await abandonUpload(c.env, key);
    // The folder was deleted while the body streamed in.
    if (isForeignKeyViolation(err)) throw folderMissing(folderPath);
    throw err;
  }
};

export const get: RouteHandler<typeof routes.getFile, E> = async (c) => {
  const row = await getOwnedOr404(db(c.env.DB), files, c.req.valid("param").id, c.get("identity").organization_id, NOT_FOUND, activeFile);
  return c.json(toFile(row), 200);
};

export const update: RouteHandler<typeof routes.updateFile, E> = async (c) => {
  const { id } = c.req.valid("param");
  const changes = c.req.valid("json");
  const org = c.get("identity").organization_id;
  if (changes.folder_id && !(await folderExists(c.env, org, changes.folder_id))) throw folderMissing("folder_id");
  let row: FileRow | undefined;
  try {
    [row] = await db(c.env.DB)
      .update(files)
      .set({ ...changes, updated_at: nowIso() })
      .where(live(org, id))
      .returning();
  } catch (err) {
    if (isForeignKeyViolation(err)) throw folderMissing("folder_id");
    throw err;
  }
  if (!row) throw notFound(NOT_FOUND);
  return c.json(toFile(row), 200);
};

export const remove: RouteHandler<typeof routes.deleteFile, E> = async (c) => {
  // A tombstone left by a failed earlier attempt is found too: deleting it again finishes the job.
  if (!(await purgeFile(c.env, c.get("identity").organization_id, c.req.valid("param").id))) throw notFound(NOT_FOUND);
  return c.body(null, 204);
};

export const content: RouteHandler<typeof routes.getFileContent, E> = async (c) => {
  const row = await getOwnedOr404(db(c.env.DB), files, c.req.valid("param").id, c.get("identity").organization_id, NOT_FOUND, activeFile);
  return (await serveStoredBody(c.req.raw, c.env.FILES, {
    key: row.object_key,
    size: row.size,
    sha256: row.sha256,
    contentType: row.content_type,
    name: row.name,
  })) as never;
};

/**
 * PUT /files/{id}/content: a new version. Its number is taken inside the batch that records
 * it (max + 1), so two concurrent PUTs get two versions, each with its own object.
 */
export const putContent: RouteHandler<typeof routes.putFileContent, E> = async (c) => {
  const { id } = c.req.valid("param");
  const identity = c.get("identity");
  const org = identity.organization_id;
  const request = c.req.raw;
  if (!(await hasOwned(db(c.env.DB), files, id, org, activeFile))) {
    await request.body?.cancel().catch(() => {});
    throw notFound(NOT_FOUND);
  }
  const key = objectKey(org, id);
  await beginUpload(c.env, key, org, id);
  let committed = false;
  try {
    const received = await receiveUpload(c.env, request, key, []);
    const now = nowIso();
    const { size, sha256 } = received.stored;
    const [, updated] = await c.env.DB.batch([
      c.env.DB.prepare(
        `INSERT INTO file_versions (file_id, organization_id, version, content_type, size, sha256, object_key, created_by, created_at)
         SELECT f.id, f.organization_id, coalesce((SELECT max(v.version) FROM file_versions v WHERE v.file_id = f.id), f.version) + 1,
                ?3, ?4, ?5, ?6, ?7, ?8
         FROM files f
         WHERE f.id = ?1 AND f.organization_id = ?2 AND f.status = 'active' AND EXISTS (SELECT 1 FROM uploads WHERE object_key = ?6)`,
      ).bind(id, org, received.contentType, size, sha256, key, identity.user_id, now),
      c.env.DB.prepare(
        `UPDATE files SET version = (SELECT version FROM file_versions WHERE object_key = ?6),
                          content_type = ?3, size = ?4, sha256 = ?5, object_key = ?6, updated_at = ?7
         WHERE id = ?1 AND organization_id = ?2 AND EXISTS (SELECT 1 FROM file_versions WHERE object_key = ?6)
         RETURNING *`,
      ).bind(id, org, received.contentType, size, sha256, key, now),
      c.env.DB.prepare("DELETE FROM uploads WHERE object_key = ?1").bind(key),
    ]);
    const raw = updated!.results[0] as Record<string, unknown> | undefined;
    // The file was deleted while the new body streamed in.
    if (!raw) throw notFound(NOT_FOUND);
    committed = true;
    return c.json(toFile(fileFromSql(raw)), 200);
  } catch (err) {
    if (!committed) await abandonUpload(c.env, key);
    throw err;
  }
};
