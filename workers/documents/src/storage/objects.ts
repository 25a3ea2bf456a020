import { ApiError, toHex, tooLarge } from "@buildly/shared";

/**
 * Writing a body into R2 as it arrives, hashing it on the way. R2 needs to know an object's
 * length before it takes a stream, so there are two ways in:
 *
 * - the length is declared (a raw upload with Content-Length): the body is piped through a
 *   FixedLengthStream straight into one put; nothing is buffered;
 * - the length is unknown (a multipart form's file part, or a raw body without
 *   Content-Length): the body is cut into PART_BYTES pieces that go up as R2 multipart upload
 *   parts, so at most one piece is held in memory. A body smaller than one piece is a plain put.
 */

/** R2's smallest multipart part (every part but the last; all of them must be the same size). */
export const PART_BYTES = 5 * 1024 * 1024;

export interface StoredObject {
  key: string;
  size: number;
  sha256: string;
}

export function longerThanDeclared(length: number): ApiError {
  return new ApiError(413, `The body is longer than the ${length} bytes its Content-Length declared.`, {
    extensions: { declared_bytes: length },
  });
}

/** Streams a body of declared length into one object; a body of another length stores nothing. */
export async function storeDeclared(
  bucket: R2Bucket,
  key: string,
  body: ReadableStream<Uint8Array>,
  length: number,
  contentType: string,
): Promise<StoredObject> {
  const digest = new crypto.DigestStream("SHA-256");
  const digestWriter = digest.getWriter();
  const sized = new FixedLengthStream(length);
  let seen = 0;
  let ended = false;
  const hashing = body
    .pipeThrough(
      new TransformStream<Uint8Array, Uint8Array>({
        async transform(chunk, controller) {
          seen += chunk.byteLength;
          if (seen > length) throw longerThanDeclared(length);
          await digestWriter.write(chunk);
          controller.enqueue(chunk);
        },
        async flush() {
          ended = true;
          await digestWriter.close();
        },
      }),
    )
    .pipeTo(sized.writable);
  try {
    await Promise.all([bucket.put(key, sized.readable, { httpMetadata: { contentType } }), hashing]);
  } catch (err) {
    await bucket.delete(key).catch(() => {});
    if (seen > length) throw longerThanDeclared(length);
    if (ended && seen < length) throw new ApiError(400, `The upload did not deliver the ${length} bytes it declared.`);
    throw err;
  }
  return { key, size: length, sha256: toHex(await digest.digest) };
}

/** Takes exactly `bytes` from the front of `chunks` into one array, leaving the rest there. */
function take(chunks: Uint8Array[], bytes: number): Uint8Array {
  const out = new Uint8Array(bytes);
  let filled = 0;
  while (filled < bytes) {
    const head = chunks[0]!;
    const n = Math.min(head.byteLength, bytes - filled);
    out.set(head.subarray(0, n), filled);
    filled += n;
    if (n === head.byteLength) chunks.shift();
    else chunks[0] = head.subarray(n);
  }
  return out;
}

/**
 * Streams a body of unknown length, pulled chunk by chunk from `next` (null at the end), into
 * one object: above `maxBytes` it stops with 413 and leaves nothing behind.
 */
export async function storeChunked(
  bucket: R2Bucket,
  key: string,
  next: () => Promise<Uint8Array | null>,
  maxBytes: number,
  contentType: string,
  partBytes = PART_BYTES,
): Promise<StoredObject> {
  const digest = new crypto.DigestStream("SHA-256");
  const digestWriter = digest.getWriter();
  const pending: Uint8Array[] = [];
  let pendingBytes = 0;
  let size = 0;
  let upload: R2MultipartUpload | undefined;
  const parts: R2UploadedPart[] = [];
  try {
    for (let chunk; (chunk = await next()); ) {
      size += chunk.byteLength;
      if (size > maxBytes) throw tooLarge(maxBytes);
      await digestWriter.write(chunk);
      pending.push(chunk);
      pendingBytes += chunk.byteLength;
      while (pendingBytes >= partBytes) {
        const part = take(pending, partBytes);
        pendingBytes -= partBytes;
        upload ??= await bucket.createMultipartUpload(key, { httpMetadata: { contentType } });
        parts.push(await upload.uploadPart(parts.length + 1, part));
      }
    }
    await digestWriter.close();
    const rest = take(pending, pendingBytes);
    if (!upload) {
      await bucket.put(key, rest, { httpMetadata: { contentType } });
    } else {
      if (rest.byteLength > 0) parts.push(await upload.uploadPart(parts.length + 1, rest));
      await upload.complete(parts);
    }
    return { key, size, sha256: toHex(await digest.digest) };
  } catch (err) {
    await upload?.abort().catch(() => {});
    await bucket.delete(key).catch(() => {});
    throw err;
  }
}

/** A pull function over a ReadableStream, for storeChunked. */
export function pullFrom(body: ReadableStream<Uint8Array>): { next: () => Promise<Uint8Array | null>; cancel: () => Promise<void> } {
  const reader = body.getReader();
  return {
    next: async () => {
      const { done, value } = await reader.read();
      return done ? null : value;
    },
    cancel: () => reader.cancel().catch(() => {}),
  };
}

/** Deletes objects in R2's batches of at most 1000 keys. */
export async function deleteObjects(bucket: R2Bucket, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += 1000) await bucket.delete(keys.slice(i, i + 1000));
}
