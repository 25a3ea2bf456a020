import type { RouteHandler } from "@hono/zod-openapi";
import { and, asc, eq, gt, or } from "drizzle-orm";
import { ApiError, decodeCursor, newId, nowIso, paginate, tooLarge, type ServiceEnv } from "@buildly/shared";
import { db } from "../../db/client";
import { files, type FileRow } from "../../db/schema";
import type * as routes from "./files.routes";

type E = ServiceEnv<Env>;

function toFile(row: FileRow) {
  const { organization_id: _org, object_key: _key, ...rest } = row;
  return rest;
}

function notFound(): ApiError {
  return new ApiError(404, "No file has this id.");
}

function scoped(org: string, id: string) {
  return and(eq(files.id, id), eq(files.organization_id, org));
}

/** RFC 8187 value: encodeURIComponent leaves ' ( ) * alone, which the ext-value grammar does not allow. */
function rfc8187(value: string): string {
  return encodeURIComponent(value).replace(/['()*]/g, (ch) => "%" + ch.charCodeAt(0).toString(16).toUpperCase());
}

function hex(buf: ArrayBuffer): string {
  return [...new Uint8Array(buf)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

export const list: RouteHandler<typeof routes.listFiles, E> = async (c) => {
  const { limit, cursor } = c.req.valid("query");
  const after = decodeCursor(cursor);
  const rows = await db(c.env.DB)
    .select()
    .from(files)
    .where(
      and(
        eq(files.organization_id, c.get("identity").organization_id),
        after ? or(gt(files.created_at, after.k), and(eq(files.created_at, after.k), gt(files.id, after.id))) : undefined,
      ),
    )
    .orderBy(asc(files.created_at), asc(files.id))
    .limit(limit + 1);
  const page = paginate(rows, limit, (r) => r.created_at);
  return c.json({ data: page.data.map(toFile), next_cursor: page.next_cursor }, 200);
};

/**
 * Streams the body into R2 while hashing it: never held whole in memory.
 * R2 needs the length up front, so the upload must declare Content-Length.
 */
export const upload: RouteHandler<typeof routes.uploadFile, E> = async (c) => {
  const { name } = c.req.valid("query");
  const maxBytes = Number(c.env.MAX_UPLOAD_BYTES);
  const lengthHeader = c.req.header("content-length");
  if (lengthHeader === undefined || !/^\d+$/.test(lengthHeader)) {
    await c.req.raw.body?.cancel();
    throw new ApiError(411, "Send the file with a Content-Length header.");
  }
  const length = Number(lengthHeader);
  if (length > maxBytes) {
    await c.req.raw.body?.cancel();
    throw tooLarge(maxBytes);
  }
  const body = c.req.raw.body ?? new Response("").body!;
  const contentType = c.req.header("content-type")?.slice(0, 255) || "application/octet-stream";

  const digest = new crypto.DigestStream("SHA-256");
  const digestWriter = digest.getWriter();
  const sized = new FixedLengthStream(length);
  const hashing = body
    .pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        async transform(chunk, controller) {
          await digestWriter.write(chunk);
          controller.enqueue(chunk);
        },
        async flush() {
          await digestWriter.close();
        },
      }),
    )
    .pipeTo(sized.writable);

  const id = newId();
  const org = c.get("identity").organization_id;
  const objectKey = `${org}/${id}/v1`;
  try {
    await Promise.all([c.env.FILES.put(objectKey, sized.readable, { httpMetadata: { contentType } }), hashing]);
  } catch {
    await c.env.FILES.delete(objectKey).catch(() => {});
    throw new ApiError(400, `The upload did not deliver the ${length} bytes it declared.`);
  }
  const sha256 = hex(await digest.digest);
  const now = nowIso();
  const row: FileRow = {
    id,
    organization_id: org,
    name,
    content_type: contentType,
    size: length,
    sha256,
    version: 1,
    tags: [],
    object_key: objectKey,
    created_by: c.get("identity").user_id,
    created_at: now,
    updated_at: now,
  };
  try {
    await db(c.env.DB).insert(files).values(row);
  } catch (err) {
    // No object may outlive a failed insert.
    await c.env.FILES.delete(objectKey);
    throw err;
  }
  c.header("location", `/files/${id}`);
  return c.json(toFile(row), 201);
};

export const get: RouteHandler<typeof routes.getFile, E> = async (c) => {
  const row = await db(c.env.DB).select().from(files).where(scoped(c.get("identity").organization_id, c.req.valid("param").id)).get();
  if (!row) throw notFound();
  return c.json(toFile(row), 200);
};

export const content: RouteHandler<typeof routes.getFileContent, E> = async (c) => {
  const row = await db(c.env.DB).select().from(files).where(scoped(c.get("identity").organization_id, c.req.valid("param").id)).get();
  if (!row) throw notFound();
  const etag = `"${row.sha256}"`;
  if (c.req.header("if-none-match")?.split(",").some((t) => t.trim() === etag || t.trim() === `W/${etag}`)) {
    return c.body(null, 304, { etag });
  }
  const object = await c.env.FILES.get(row.object_key);
  if (!object) throw new ApiError(500, "The file's body is missing.");
  return new Response(object.body, {
    status: 200,
    headers: {
      "content-type": row.content_type,
      "content-length": String(row.size),
      etag,
      "content-disposition": `attachment; filename*=UTF-8''${rfc8187(row.name)}`,
    },
  }) as never;
};

export const remove: RouteHandler<typeof routes.deleteFile, E> = async (c) => {
  const org = c.get("identity").organization_id;
  const row = await db(c.env.DB).select().from(files).where(scoped(org, c.req.valid("param").id)).get();
  if (!row) throw notFound();
  // Body first: if that fails the row still points at a body; a row never points at nothing.
  await c.env.FILES.delete(row.object_key);
  await db(c.env.DB).delete(files).where(scoped(org, row.id));
  return c.body(null, 204);
};
