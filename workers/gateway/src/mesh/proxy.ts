import type { Context } from "hono";
import { ApiError, logError } from "@buildly/shared";
import { forward } from "../upstream";
import type { ServiceHandler } from "../upstream";
import { authorize } from "../upstream/proxy";
import { identityFor } from "../upstream/identity-context";
import type { ServiceEntry } from "../upstream/registry";
import type { GatewayEnv } from "../types";
import { embedRelated } from "./embed/read";
import { isJson, isRecord, joinedResponse } from "./embed/response";
import { joinedWrite } from "./embed/write";
import { joinKeys, joinPaths, locateOrRefuse, withoutJoin } from "./join-param";
import { unlinkRecord } from "./joins/store";
import { catalogView } from "./models";
import { beforeDelete } from "./on-delete";
import type { Row } from "./rpc";

/** A joined answer is built from several reads: the service's validators do not describe it. */
const CONDITIONAL_REQUEST_HEADERS = ["if-none-match", "if-modified-since", "if-match", "if-unmodified-since", "if-range", "range"];

/**
 * The data mesh in front of every service route: `?join=` on a GET embeds related records, on a
 * POST or PATCH writes them too; a DELETE of a record first applies the relationships' on_delete,
 * and once it succeeded removes the record's join records.
 * Everything else is the plain forward.
 */
export const meshForward: ServiceHandler = async (c, entry) => {
  const url = new URL(c.req.url);
  const method = c.req.method;
  const keys = url.searchParams.has("join") ? joinKeys(url) : [];
  if (!keys.length || method === "HEAD") {
    // A DELETE first applies the relationships' on_delete to the records naming the record (mesh/on-delete.ts).
    const putBack = method === "DELETE" ? await beforeDelete(c, entry.name, url.pathname.slice(entry.prefix.length)) : undefined;
    const response = await forward(c, entry, url.searchParams.has("join") ? { search: withoutJoin(url) } : {});
    if (method === "DELETE" && response.ok) await unlinkDeleted(c, entry, url);
    if (method === "DELETE" && !response.ok && putBack) await putBack();
    return response;
  }
  if (method !== "GET" && method !== "POST" && method !== "PATCH") {
    throw new ApiError(422, `join applies to GET, POST and PATCH, not ${method}.`, { errors: [{ path: "join", message: "Not available for this method" }] });
  }
  authorize(c, entry);
  const rest = url.pathname.slice(entry.prefix.length) || "/";
  const located = locateOrRefuse(await catalogView(c, [entry.name]), entry.name, rest);
  const paths = await joinPaths(c, { service: entry.name, model: located.model.name }, keys);
  if (method !== "GET") return joinedWrite(c, entry, url, located, paths);

  const response = await forward(c, entry, { search: withoutJoin(url), dropHeaders: CONDITIONAL_REQUEST_HEADERS });
  if (response.status !== 200 || !isJson(response)) return response;
  const body = (await response.json()) as Row;
  const records = located.id ? [body] : Array.isArray(body.data) ? body.data.filter(isRecord) : [];
  const complete = await embedRelated(c, paths, records);
  return joinedResponse(body, response, complete);
};

/** After `DELETE /v1/<service><model path>/<id>` succeeded: the record's join records go too. */
async function unlinkDeleted(c: Context<GatewayEnv>, entry: ServiceEntry, url: URL): Promise<void> {
  try {
    const located = (await catalogView(c, [entry.name])).locate(entry.name, url.pathname.slice(entry.prefix.length));
    if (!located?.id) return;
    await unlinkRecord(c.env.DB, identityFor(c).organization_id, { service: entry.name, model: located.model.name }, located.id);
  } catch (err) {
    // The record is gone either way; a link left behind is skipped and dropped by the next read.
    logError(c.get("requestId"), "gateway", err, { during: "mesh unlink after delete" });
  }
}
