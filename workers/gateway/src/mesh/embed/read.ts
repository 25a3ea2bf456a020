import type { Context } from "hono";
import { ApiError, logError, toApiError, type Problem } from "@buildly/shared";
import { identityFor } from "../../upstream/identity-context";
import type { GatewayEnv } from "../../types";
import { dropVanishedLinks, linksFrom } from "../joins/store";
import type { JoinPath } from "../relationships/relationship";
import { findByJson, getManyJson, mayRead, type RecordText, type Row } from "../rpc";
import { valuesAt } from "@buildly/shared";

/**
 * At most this many related records per record and key. The rest: the related collection's own
 * list with a filter (e.g. /v1/crm/deals?contact_id=...) or /v1/mesh/joins?origin_id=...
 * `_embedded_more` marks the lists that were cut.
 */
export const EMBED_LIMIT = 20;

/** The related records of one record and key: their JSON texts, as the services wrote them. */
type Outcome = { items: string[]; more: boolean } | { error: Problem };

/** What one record of the page gets: `_embedded` (key -> record texts), and `_embedded_errors`/`_embedded_more` when they apply. */
export interface Embedding {
  embedded: Record<string, string[]>;
  errors?: Record<string, Problem>;
  more?: Record<string, true>;
}

const none: Outcome = { items: [], more: false };

function idOf(record: Row): string | undefined {
  return typeof record.id === "string" ? record.id : undefined;
}

/**
 * What to embed in every record (`_embedded`, and `_embedded_errors`, `_embedded_more` where they
 * apply; embed/response.ts writes them), one batch per join path for the whole page, all paths in
 * parallel. Never throws for a failed or forbidden path: its records name the problem instead.
 * `complete`: whether everything was embedded.
 */
export async function embedRelated(c: Context<GatewayEnv>, paths: JoinPath[], records: Row[]): Promise<{ embeddings: Embedding[]; complete: boolean }> {
  const callsBefore = c.get("serviceCalls")?.length ?? 0;
  const outcomes = await Promise.all(paths.map((p) => outcomesOf(c, p, records)));
  let complete = true;
  const embeddings = records.map((_, i) => {
    const e: Embedding = { embedded: {} };
    paths.forEach((p, k) => {
      const o = outcomes[k]![i]!;
      if ("error" in o) {
        (e.errors ??= {})[p.key] = o.error;
        complete = false;
      } else {
        e.embedded[p.key] = o.items;
        if (o.more) (e.more ??= {})[p.key] = true;
      }
    });
    return e;
  });
  const tel = c.get("telemetry");
  if (tel?.recording) {
    tel.observe("buildly.mesh.fanout.size", { kind: "join" }, (c.get("serviceCalls")?.length ?? 0) - callsBefore);
    if (!complete) tel.count("buildly.mesh.partial_answers", { kind: "join" });
  }
  return { embeddings, complete };
}

async function outcomesOf(c: Context<GatewayEnv>, path: JoinPath, records: Row[]): Promise<Outcome[]> {
  const requestId = c.get("requestId");
  if (!(await mayRead(c, path.to.service))) {
    const problem = new ApiError(403, `Your roles do not allow read on the ${path.to.service} service, so ${path.key} is left out.`, {
      extensions: { service: path.to.service },
    }).toProblem(requestId);
    return records.map(() => ({ error: problem }));
  }
  const failed = (err: unknown, concerned: (i: number) => boolean): Outcome[] => {
    const e = toApiError(err);
    if (e.status >= 500)
      logError(requestId, "gateway", (err as { cause?: unknown }).cause ?? err, { during: "mesh join", key: path.key, target: path.to.service });
    const problem = e.toProblem(requestId);
    return records.map((_, i) => (concerned(i) ? { error: problem } : none));
  };
  switch (path.mode) {
    case "holds":
      return holds(c, path, records, failed);
    case "held":
      return held(c, path, records, failed);
    case "join":
      return joined(c, path, records, failed);
  }
}

type Failed = (err: unknown, concerned: (i: number) => boolean) => Outcome[];

/** The page's records hold the ids: one getMany for all of them. */
async function holds(c: Context<GatewayEnv>, path: JoinPath, records: Row[], failed: Failed): Promise<Outcome[]> {
  const field = path.relationship.field!;
  const values = records.map((r) => valuesAt(r, field));
  let rows: RecordText[];
  try {
    rows = await getManyJson(
      c,
      path.to,
      values.flatMap((v) => v.slice(0, EMBED_LIMIT)),
    );
  } catch (err) {
    return failed(err, (i) => values[i]!.length > 0);
  }
  const byId = new Map<string, string>(rows);
  return values.map((v) => ({
    items: v.slice(0, EMBED_LIMIT).flatMap<string>((id) => byId.get(id) ?? []),
    more: v.length > EMBED_LIMIT,
  }));
}

/** The related records hold the page's ids: one findBy for all of them. */
async function held(c: Context<GatewayEnv>, path: JoinPath, records: Row[], failed: Failed): Promise<Outcome[]> {
  const field = path.relationship.field!;
  const ids = records.map(idOf);
  let pairs: RecordText[];
  try {
    pairs = await findByJson(
      c,
      path.to,
      field,
      ids.filter((id) => id !== undefined),
      EMBED_LIMIT + 1,
    );
  } catch (err) {
    return failed(err, (i) => ids[i] !== undefined);
  }
  // Newest first per value, at most EMBED_LIMIT + 1 each (findByJson): the first EMBED_LIMIT are embedded, one more marks the cut.
  const groups = new Map<string, string[]>(ids.flatMap((id) => (id ? [[id, []]] : [])));
  for (const [value, text] of pairs) groups.get(value)?.push(text);
  return ids.map((id) => {
    const group = (id && groups.get(id)) || [];
    return { items: group.slice(0, EMBED_LIMIT), more: group.length > EMBED_LIMIT };
  });
}

/** Join records: one D1 query for the page, then one getMany for the records they name. */
async function joined(c: Context<GatewayEnv>, path: JoinPath, records: Row[], failed: Failed): Promise<Outcome[]> {
  const organizationId = identityFor(c).organization_id;
  const ids = records.map(idOf);
  const fromSide = path.direction === "forward" ? "origin" : "related";
  let links;
  try {
    links = await linksFrom(c.env.DB, organizationId, path.relationship.id, fromSide, [...new Set(ids.filter((id) => id !== undefined))], EMBED_LIMIT + 1);
  } catch (err) {
    return failed(err, (i) => ids[i] !== undefined);
  }
  const byRecord = new Map<string, typeof links>();
  for (const link of links) {
    let list = byRecord.get(link.from_id);
    if (!list) byRecord.set(link.from_id, (list = []));
    list.push(link);
  }
  let rows: RecordText[];
  try {
    rows = await getManyJson(
      c,
      path.to,
      links.map((l) => l.to_id),
    );
  } catch (err) {
    return failed(err, (i) => byRecord.has(ids[i] ?? ""));
  }
  const byId = new Map<string, string>(rows);
  // The service answered for every id: a link whose record it did not return points at nothing.
  dropVanishedLinks(
    c,
    organizationId,
    links.filter((l) => !byId.has(l.to_id)).map((l) => l.id),
  );
  return ids.map((id) => {
    const list = (id && byRecord.get(id)) || [];
    const items = list.flatMap<string>((l) => byId.get(l.to_id) ?? []);
    return { items: items.slice(0, EMBED_LIMIT), more: list.length > EMBED_LIMIT };
  });
}
