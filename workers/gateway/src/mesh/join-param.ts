import type { Context } from "hono";
import { ApiError } from "@buildly/shared";
import type { GatewayEnv } from "../types";
import type { CatalogView } from "./models";
import { relationshipsOf } from "./relationships/store";
import { findJoinPath, keysOf, type JoinPath, type ModelRef } from "./relationships/relationship";
import { identityFor } from "../upstream/identity-context";

/** At most this many keys in one `?join=`: each costs a batch of calls. */
export const MAX_JOIN_KEYS = 5;

const KEY = "[a-z][a-z0-9_]{0,62}";
const ONE_KEY = new RegExp(`^${KEY}$`);
/** One `join` value, as the OpenAPI document states it: 1 to MAX_JOIN_KEYS relationship keys, comma-separated. */
export const JOIN_PATTERN = `^${KEY}(,${KEY}){0,${MAX_JOIN_KEYS - 1}}$`;

/**
 * The keys of `?join=a,b` (also `?join=a&join=b`), de-duplicated, in order. A value that is not a
 * comma-separated list of keys (empty, blanks, an empty key) is 422, as the document's pattern says.
 */
export function joinKeys(url: URL): string[] {
  const values = url.searchParams.getAll("join");
  const bad = values.find((v) => !v.split(",").every((k) => ONE_KEY.test(k)));
  if (bad !== undefined) {
    throw new ApiError(
      422,
      `join is a comma-separated list of relationship keys (a lower-case letter, then lower-case letters, digits or _); ${JSON.stringify(bad)} is not.`,
      {
        errors: [{ path: "join", message: "Not a comma-separated list of relationship keys" }],
      },
    );
  }
  const keys = [...new Set(values.flatMap((v) => v.split(",")))];
  if (keys.length > MAX_JOIN_KEYS) {
    throw new ApiError(422, `join takes at most ${MAX_JOIN_KEYS} keys; ${keys.length} were given.`, {
      errors: [{ path: "join", message: `At most ${MAX_JOIN_KEYS} keys` }],
    });
  }
  return keys;
}

/** The query without `join`, as the service should see it. */
export function withoutJoin(url: URL): string {
  const params = new URLSearchParams(url.search);
  params.delete("join");
  const s = params.toString();
  return s ? `?${s}` : "";
}

/** Each key's join path from `model`, or 422 naming the unknown ones and the keys that exist. */
export async function joinPaths(c: Context<GatewayEnv>, model: ModelRef, keys: string[]): Promise<JoinPath[]> {
  const relationships = await relationshipsOf(c.env.DB, identityFor(c).organization_id);
  const paths = keys.map((k) => findJoinPath(relationships, model, k));
  const unknown = keys.filter((_, i) => !paths[i]);
  if (unknown.length) {
    const known = keysOf(relationships, model);
    throw new ApiError(422, `${model.service} ${model.model} has no relationship named ${unknown.join(", ")}. Known keys: ${known.join(", ") || "none"}.`, {
      errors: unknown.map((k) => ({ path: "join", message: `Unknown relationship key ${k}` })),
    });
  }
  return paths as JoinPath[];
}

/** The model at the request's path, or 422: `join` needs a collection or a record the catalog knows. */
export function locateOrRefuse(catalog: CatalogView, service: string, rest: string) {
  const located = catalog.locate(service, rest);
  if (!located && Object.hasOwn(catalog.errors, service)) {
    throw new ApiError(503, `The ${service} service's models cannot be read right now, so join cannot be applied. Try again.`, { extensions: { service } });
  }
  if (!located) {
    throw new ApiError(422, `join applies to a model's collection or record; ${rest} under ${service} is neither.`, {
      errors: [{ path: "join", message: "Not available on this path" }],
    });
  }
  return located;
}
