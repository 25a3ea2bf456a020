/**
 * D1 read replication (the Sessions API) for a logic service's requests. Each request runs
 * its queries in one D1 session: `withSession(bookmark)` when the client sent this service's
 * bookmark (so it reads from a replica at least as new as what it saw or wrote before), and
 * `"first-unconstrained"` otherwise (any replica may answer the first query). The session's
 * bookmark goes back in the response, for the client to send with its next request.
 *
 * One header carries the bookmarks of every service, since each has its own database:
 * `Buildly-D1-Bookmark: crm=<bookmark>, documents=<bookmark>`. A service reads its own entry
 * and answers with its own entry only; a client keeps the latest entry per service and sends
 * them all (or the one for the service it calls). Without replication switched on for a
 * database, D1 answers every session from the primary and the header changes nothing.
 */
import { ApiError } from "./errors";

export const D1_BOOKMARK_HEADER = "buildly-d1-bookmark";

/** A service name as the header writes it, and a bookmark (D1's are hex groups and dashes). */
const ENTRY = /^([a-z][a-z0-9-]{0,62})=([A-Za-z0-9._:-]{1,256})$/;

/** This service's bookmark from the header; 400 for a header that is not a list of entries. */
export function bookmarkFrom(headers: Headers, service: string): string | undefined {
  const raw = headers.get(D1_BOOKMARK_HEADER);
  if (raw === null || raw.trim() === "") return undefined;
  let own: string | undefined;
  for (const part of raw.split(",")) {
    const m = ENTRY.exec(part.trim());
    if (!m) {
      throw new ApiError(400, `${D1_BOOKMARK_HEADER} must be a list of service=bookmark entries, as the responses send them.`, {
        errors: [{ path: `header.${D1_BOOKMARK_HEADER}`, message: "Expected service=bookmark[, service=bookmark ...]" }],
      });
    }
    if (m[1] === service) own = m[2];
  }
  return own;
}

/** Whether a binding supports sessions (D1 does; anything else is left alone). */
function hasSessions(db: unknown): db is D1Database {
  return typeof (db as D1Database | undefined)?.withSession === "function";
}

/**
 * `env` with `DB` replaced by a session for this request, and a function that gives the
 * header entry to answer with. `env` itself when it has no D1 binding named DB.
 */
export function d1SessionFor<E extends object>(env: E, service: string, headers: Headers): { env: E; entry: () => string | undefined } {
  const db = (env as { DB?: unknown }).DB;
  if (!hasSessions(db)) return { env, entry: () => undefined };
  const session = db.withSession(bookmarkFrom(headers, service) ?? "first-unconstrained");
  return {
    // The services' code (drizzle's D1 driver included) uses prepare and batch, which a session has.
    env: { ...env, DB: session as unknown as D1Database },
    entry: () => {
      const bookmark = session.getBookmark();
      return bookmark ? `${service}=${bookmark}` : undefined;
    },
  };
}
