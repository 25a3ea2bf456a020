import { ApiError, nowIso, tooLarge, fieldError } from "@buildly/shared";
import { boundaryOf, FieldTooLongError, isMultipartFormData, MultipartError, MultipartReader } from "../lib/multipart";
import { DEFAULT_MEDIA_TYPE, isMediaType, MAX_MEDIA_TYPE_LENGTH } from "../lib/media-type";
import { pullFrom, storeChunked, storeDeclared, type StoredObject } from "./objects";

/**
 * Receiving an upload: a raw body (its own Content-Type) or a multipart/form-data form with a
 * `file` part and small text fields. Either way the body is streamed into R2 under `key`.
 *
 * The upload journal (table `uploads`) brackets it: beginUpload() records the key before any
 * byte is written, the caller's final D1 batch removes the entry together with writing the
 * rows that point at the object, and abandonUpload() removes object and entry when anything
 * fails before that. If even that cleanup cannot run, sweep() finds the entry later.
 */

export const DEFAULT_MAX_UPLOAD_BYTES = 100 * 1024 * 1024;
/** What a form may carry besides the file (its fields and part headers) before 413 is certain. */
export const FORM_OVERHEAD_BYTES = 1024 * 1024;
/** Longest text field of a form. */
export const MAX_FORM_FIELD_BYTES = 8 * 1024;

export function maxUploadBytes(env: Env): number {
  const n = Number(env.MAX_UPLOAD_BYTES);
  return Number.isSafeInteger(n) && n > 0 ? n : DEFAULT_MAX_UPLOAD_BYTES;
}

export function objectKey(org: string, fileId: string): string {
  // A fresh key per stored body: concurrent uploads to one file never write the same object.
  return `${org}/${fileId}/${crypto.randomUUID()}`;
}

export async function beginUpload(env: Env, key: string, org: string, fileId: string): Promise<void> {
  await env.DB.prepare("INSERT INTO uploads (object_key, organization_id, file_id, started_at) VALUES (?1, ?2, ?3, ?4)").bind(key, org, fileId, nowIso()).run();
}

export async function abandonUpload(env: Env, key: string): Promise<void> {
  try {
    await env.FILES.delete(key);
    await env.DB.prepare("DELETE FROM uploads WHERE object_key = ?1").bind(key).run();
  } catch {
    // The journal entry stays; sweep() deletes the object and the entry later.
  }
}

export interface ReceivedUpload {
  stored: StoredObject;
  contentType: string;
  /** The file part's filename (multipart only). */
  filename?: string;
  /** Text fields of a multipart form, by name (a name may repeat). */
  fields: Map<string, string[]>;
  multipart: boolean;
}

/** The media type an upload declares (none: application/octet-stream); 422 at `path` when malformed. */
function contentTypeOf(value: string | undefined | null, path: string): string {
  const type = value?.trim() ?? "";
  if (type === "") return DEFAULT_MEDIA_TYPE;
  if (!isMediaType(type)) {
    throw fieldError(
      path,
      `Not a media type: give type/subtype with optional ;name=value parameters (RFC 9110), printable ASCII, at most ${MAX_MEDIA_TYPE_LENGTH} characters.`,
    );
  }
  return type;
}

function emptyBody(): ReadableStream<Uint8Array> {
  return new Response(new Uint8Array(0)).body!;
}

/** Refuses before reading when the declared length is already too much. */
function declaredLength(request: Request): number | undefined {
  const header = request.headers.get("content-length");
  if (header === null) return undefined;
  if (!/^\d+$/.test(header.trim())) throw new ApiError(400, "Content-Length is not a number of bytes.");
  return Number(header.trim());
}

/**
 * Streams the request body into R2 under `key`. `allowedFields` names the text fields a form
 * may carry; any other field is a 422. On any error nothing is left under `key`.
 */
export async function receiveUpload(env: Env, request: Request, key: string, allowedFields: readonly string[]): Promise<ReceivedUpload> {
  const maxBytes = maxUploadBytes(env);
  const type = request.headers.get("content-type");
  const body = request.body ?? emptyBody();
  const declared = declaredLength(request);

  if (!isMultipartFormData(type)) {
    let contentType: string;
    try {
      contentType = contentTypeOf(type, "header.content-type");
    } catch (err) {
      await body.cancel().catch(() => {});
      throw err;
    }
    if (declared !== undefined) {
      if (declared > maxBytes) {
        await body.cancel().catch(() => {});
        throw tooLarge(maxBytes);
      }
      const stored = await storeDeclared(env.FILES, key, body, declared, contentType);
      return { stored, contentType, fields: new Map(), multipart: false };
    }
    const source = pullFrom(body);
    try {
      const stored = await storeChunked(env.FILES, key, source.next, maxBytes, contentType);
      return { stored, contentType, fields: new Map(), multipart: false };
    } catch (err) {
      await source.cancel();
      throw err;
    }
  }

  const boundary = boundaryOf(type);
  if (!boundary) {
    await body.cancel().catch(() => {});
    throw new ApiError(400, "A multipart/form-data body needs a boundary parameter in its Content-Type.");
  }
  if (declared !== undefined && declared > maxBytes + FORM_OVERHEAD_BYTES) {
    await body.cancel().catch(() => {});
    throw tooLarge(maxBytes);
  }
  const reader = new MultipartReader(body, boundary);
  const fields = new Map<string, string[]>();
  let file: { stored: StoredObject; contentType: string; filename?: string } | undefined;
  try {
    for (let part; (part = await reader.nextPart()); ) {
      if (part.name === "file") {
        if (file) throw fieldError("form.file", "Send one file per upload.");
        const contentType = contentTypeOf(part.contentType, "form.file.content-type");
        const stored = await storeChunked(env.FILES, key, () => reader.read(), maxBytes, contentType);
        file = { stored, contentType, filename: part.filename };
      } else if (allowedFields.includes(part.name)) {
        const values = fields.get(part.name) ?? [];
        try {
          values.push(await reader.readText(MAX_FORM_FIELD_BYTES));
        } catch (err) {
          if (err instanceof FieldTooLongError) {
            throw fieldError(`form.${part.name}`, `Longer than ${MAX_FORM_FIELD_BYTES} bytes.`);
          }
          throw err;
        }
        fields.set(part.name, values);
      } else {
        throw fieldError(`form.${part.name}`, `Unknown field; this form takes file${allowedFields.map((f) => `, ${f}`).join("")}.`);
      }
    }
  } catch (err) {
    await reader.cancel();
    if (file) await env.FILES.delete(key).catch(() => {});
    if (err instanceof MultipartError) throw new ApiError(400, `The multipart body is malformed: ${err.message}`);
    throw err;
  }
  if (!file) throw fieldError("form.file", "Required: the form has no file part.");
  return { ...file, fields, multipart: true };
}
