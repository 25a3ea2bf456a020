import type { Context } from "hono";
import { ApiError, logError, toApiError, type Problem } from "@buildly/shared";
import { identityFor } from "../../upstream/identity-context";
import type { GatewayEnv } from "../../types";
import { dropVanishedLinks, linksFrom } from "../joins/store";
import type { JoinPath } from "../relationships/relationship";
import { findBy, getMany, mayRead, type Row } from "../rpc";
import { valuesAt } from "./field-path";

/**
 * At most this many related records per record and key. The rest: the related collection's own
 * list with a filter (e.g. /v1/crm/deals?contact_id=...) or /v1/mesh/joins?origin_id=...
 * `_embedded_more` marks the lists that were cut.
 */
export const EMBED_LIMIT = 20;

type Outcome = { items: Row[]; more: boolean } | { error: Problem };

const none: Outcome = { items: [], more: false };

function idOf(record: Row): string | undefined {
  return typeof record.id === "string" ? record.id : undefined;
}

/**
 * Adds `_embedded` (and `_embedded_errors`, `_embedded_more` where they apply) to every record,
 * one batch per join path for the whole page, all paths in parallel. Never throws for a failed
 * or forbidden path: its records name the problem instead. Returns whether everything was embedded.
 */
export async function embedRelated(c: Context<GatewayEnv>, paths: JoinPath[], records: Row[]): Promise<boolean> {
  const callsBefore = c.get("serviceCalls")?.length ?? 0;
  const outcomes = await Promise.all(paths.map((p) => outcomesOf(c, p, records)));
  let complete = true;
  records.forEach((record, i) => {
    const embedded: Record<string, Row[]> = {};
    const errors: Record<string, Problem> = {};
    const more: Record<string, true> = {};
    paths.forEach((p, k) => {
      const o = outcomes[k]![i]!;
      if ("error" in o) {
        errors[p.key] = o.error;
        complete = false;
      } else {
        embedded[p.key] = o.items;
        if (o.more) more[p.key] = true;
      }
    });
    record._embedded = embedded;
    if (Object.keys(errors).length) record._embedded_errors = errors;
    if (Object.keys(more).length) record._embedded_more = more;
  });
  const tel = c.get("telemetry");
  if (tel?.recording) {
    tel.observe("buildly.mesh.fanout.size", { kind: "join" }, (c.get("serviceCalls")?.length ?? 0) - callsBefore);
    if (!complete) tel.count("buildly.mesh.partial_answers", { kind: "join" });
  }
  return complete;
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
  let rows: Row[];
  try {
    rows = await getMany(
      c,
      path.to,
      values.flatMap((v) => v.slice(0, EMBED_LIMIT)),
    );
  } catch (err) {
    return failed(err, (i) => values[i]!.length > 0);
  }
  const byId = new Map<unknown, Row>(rows.map((r) => [r.id, r]));
  return values.map((v) => ({
    items: v.slice(0, EMBED_LIMIT).flatMap<Row>((id) => byId.get(id) ?? []),
    more: v.length > EMBED_LIMIT,
  }));
}

/** The related records hold the page's ids: one findBy for all of them. */
async function held(c: Context<GatewayEnv>, path: JoinPath, records: Row[], failed: Failed): Promise<Outcome[]> {
  const field = path.relationship.field!;
  const ids = records.map(idOf);
  let rows: Row[];
  try {
    rows = await findBy(
      c,
      path.to,
      field,
      ids.filter((id) => id !== undefined),
      EMBED_LIMIT + 1,
    );
  } catch (err) {
    return failed(err, (i) => ids[i] !== undefined);
  }
  const groups = new Map<string, Row[]>(ids.flatMap((id) => (id ? [[id, []]] : [])));
  for (const row of rows) for (const v of valuesAt(row, field)) groups.get(v)?.push(row);
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
  let rows: Row[];
  try {
    rows = await getMany(
      c,
      path.to,
      links.map((l) => l.to_id),
    );
  } catch (err) {
    return failed(err, (i) => byRecord.has(ids[i] ?? ""));
  }
  const byId = new Map<unknown, Row>(rows.map((r) => [r.id, r]));
  // The service answered for every id: a link whose record it did not return points at nothing.
  dropVanishedLinks(
    c,
    organizationId,
    links.filter((l) => !byId.has(l.to_id)).map((l) => l.id),
  );
  return ids.map((id) => {
    const list = (id && byRecord.get(id)) || [];
    const items = list.flatMap<Row>((l) => byId.get(l.to_id) ?? []);
    return { items: items.slice(0, EMBED_LIMIT), more: list.length > EMBED_LIMIT };
  });
}
