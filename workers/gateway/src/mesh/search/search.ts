import type { Context } from "hono";
import { ApiError, fromBase64Url, toBase64Url, toHex, type Problem, invalidCursor } from "@buildly/shared";
import { identityFor } from "../../upstream/identity-context";
import type { ServiceEntry } from "../../upstream/registry";
import type { GatewayEnv } from "../../types";
import { meshCall, problemOf } from "../calls";
import { meshCatalog } from "../catalog/catalog";
import { SEARCH_WINDOW, ServiceHitsSchema } from "./search.schemas";

/*
 * One search across the services. Pagination is honest about what a merge of several ranked
 * lists can do: each page asks every service again for its best (offset + limit) hits, merges
 * them by score and cuts the page out; the cursor holds the offset and a fingerprint of the query.
 * So pages reach SEARCH_WINDOW hits deep at most, and a record written between two pages may
 * shift the later page by a place.
 */

export interface MeshHit {
  id: string;
  service: string;
  model: string;
  name: string;
  type: string;
  description: string | null;
  url: string;
  score: number;
}

interface Cursor {
  o: number;
  f: string;
}

async function fingerprint(q: string, models: string[] | undefined): Promise<string> {
  const text = `${q}\n${(models ?? []).slice().sort().join(",")}`;
  const digest = await crypto.subtle.digest("SHA-256", new TextEncoder().encode(text));
  return toHex(new Uint8Array(digest).slice(0, 8));
}

const queryCursorError = () => invalidCursor("The cursor is not one this API issued for this query.");

function decodeCursor(value: string | undefined, expected: string): number {
  if (value === undefined) return 0;
  let cursor: Cursor;
  try {
    cursor = JSON.parse(new TextDecoder().decode(fromBase64Url(value))) as Cursor;
  } catch {
    throw queryCursorError();
  }
  if (!Number.isInteger(cursor?.o) || cursor.o < 1 || cursor.o >= SEARCH_WINDOW || cursor.f !== expected) throw queryCursorError();
  return cursor.o;
}

/** Which services to ask for which models, and what to report for the others. */
function plan(c: Context<GatewayEnv>, catalog: Awaited<ReturnType<typeof meshCatalog>>, named: string[] | undefined) {
  const permissions = c.get("permissions") ?? {};
  const mayRead = (service: string) => permissions[service]?.includes("read") ?? false;
  const asks = new Map<string, { entry: ServiceEntry; models: string[] }>();
  const errors: Record<string, Problem> = {};
  const ask = (entry: ServiceEntry, model: string) => {
    const a = asks.get(entry.name) ?? { entry, models: [] };
    a.models.push(model);
    asks.set(entry.name, a);
  };

  if (!named) {
    for (const { entry, catalog: svc } of catalog.services) {
      if (!mayRead(entry.name)) continue;
      for (const m of svc.models) if (m.searchable) ask(entry, m.name);
    }
    // A readable service whose catalog is missing might have had hits: the answer is incomplete.
    for (const [service, problem] of Object.entries(catalog.errors)) if (mayRead(service)) errors[service] = problem;
    return { asks, errors };
  }

  const bad: { path: string; message: string }[] = [];
  for (const key of named) {
    const [service, name] = key.split(".") as [string, string];
    if (!mayRead(service)) {
      if (catalog.models.has(key) || Object.hasOwn(catalog.errors, service)) {
        errors[service] = problemOf(c, new ApiError(403, `Your roles do not allow read on the ${service} service.`));
        continue;
      }
    } else if (Object.hasOwn(catalog.errors, service)) {
      errors[service] = catalog.errors[service]!;
      continue;
    }
    const model = catalog.models.get(key);
    if (!model) bad.push({ path: "models", message: `No model ${key}` });
    else if (!model.searchable) bad.push({ path: "models", message: `${key} is not searchable` });
    else ask(model.entry, name);
  }
  if (bad.length) throw new ApiError(422, "Some of the models cannot be searched; GET /v1/mesh/models lists them.", { errors: bad });
  return { asks, errors };
}

export async function searchAcrossServices(c: Context<GatewayEnv>, q: string, named: string[] | undefined, limit: number, cursor: string | undefined) {
  const print = await fingerprint(q, named);
  const offset = decodeCursor(cursor, print);
  const catalog = await meshCatalog(
    c,
    named?.map((key) => key.split(".")[0]!),
  );
  const { asks, errors } = plan(c, catalog, named);
  const depth = Math.min(offset + limit, SEARCH_WINDOW);
  const identity = identityFor(c);

  const services = [...asks.values()];
  const answers = await Promise.all(
    services.map(({ entry, models }) =>
      meshCall(c, entry, "search", entry.timeout_ms, (stub, traceparent) => stub.search(q, models, depth, { ...identity, traceparent })),
    ),
  );

  const merged: (MeshHit & { rank: number })[] = [];
  services.forEach(({ entry, models }, i) => {
    const answer = answers[i]!;
    if (!answer.ok) {
      errors[entry.name] = answer.error;
      return;
    }
    const hits = ServiceHitsSchema.safeParse(answer.data);
    if (!hits.success) {
      errors[entry.name] = problemOf(c, new ApiError(502, `The ${entry.name} service answered the search in a shape the gateway does not accept.`));
      return;
    }
    hits.data.forEach((hit, position) => {
      const model = catalog.models.get(`${entry.name}.${hit.model}`);
      if (!model || !models.includes(hit.model)) return;
      merged.push({
        id: hit.id,
        service: entry.name,
        model: hit.model,
        name: hit.name,
        type: hit.type,
        description: hit.description,
        url: `${entry.prefix}${model.path}/${encodeURIComponent(hit.id)}`,
        score: hit.score,
        // Ties: registry order of the services, then the service's own order.
        rank: i * 1000 + position,
      });
    });
  });
  merged.sort((a, b) => b.score - a.score || a.rank - b.rank);
  const page = merged.slice(offset, offset + limit).map(({ rank: _rank, ...hit }) => hit);
  const end = offset + limit;
  const next_cursor =
    merged.length > end && end < SEARCH_WINDOW ? toBase64Url(new TextEncoder().encode(JSON.stringify({ o: end, f: print } satisfies Cursor))) : null;
  return { data: page, next_cursor, errors };
}
