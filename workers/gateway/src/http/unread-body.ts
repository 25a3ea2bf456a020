/**
 * The part of a request body nobody read, read and dropped before the answer goes out.
 *
 * An answer given before the body is read (413 past a route's limit, 401, 403, 404, 429) used
 * to cancel the body, and the runtime then closed the connection with the client's bytes still
 * arriving: the client got a TCP reset instead of the answer (a 20 MiB POST to /v1/auth/token;
 * 2 MiB fit in the socket buffers and got its 413). As HTTP servers do, the rest is read and
 * discarded instead, so the client finishes sending and reads the answer. (Reading it after the
 * answer, in waitUntil, does not help: the runtime has closed the connection by then.) The work
 * stays bounded: a body declared longer than `UNREAD_MAX_BYTES` is not read at all, and reading
 * stops at that many bytes or after `UNREAD_MAX_MS`; the connection is then closed as before (a
 * client sending that much to a route that refused it is not waiting for an answer).
 */
export const UNREAD_MAX_BYTES = 128 * 1024 * 1024;
export const UNREAD_MAX_MS = 30_000;

/** Reads and drops what is left of `request`'s body, if nothing else holds it. */
export async function discardUnread(request: Request): Promise<void> {
  const body = request.body;
  if (!body || body.locked) return;
  const declared = Number(request.headers.get("content-length") ?? "NaN");
  if (declared > UNREAD_MAX_BYTES) return void (await body.cancel().catch(() => undefined));
  const reader = body.getReader();
  let timer: number | undefined;
  const late = new Promise<"late">((r) => (timer = setTimeout(() => r("late"), UNREAD_MAX_MS)));
  let read = 0;
  try {
    for (;;) {
      const next = await Promise.race([reader.read(), late]);
      if (next === "late") break;
      if (next.done) return;
      read += next.value.byteLength;
      if (read > UNREAD_MAX_BYTES) break;
    }
    await reader.cancel();
  } catch {
    // The client went away: nothing left to read.
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}
