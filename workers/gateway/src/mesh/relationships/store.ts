import { asc, eq } from "drizzle-orm";
import { drizzle } from "drizzle-orm/d1";
import { meshRelationships } from "../db/schema";
import { DEFAULT_RELATIONSHIPS } from "./defaults";
import { fromRow, type Relationship } from "./relationship";

/**
 * An organization's relationships (the platform's defaults, then its own), cached per isolate
 * for a short while like role definitions: they are configuration, not records, and a joined
 * read should not pay a D1 query for them. A change is seen at once by the isolate that made
 * it and everywhere within CACHE_MS.
 */
const CACHE_MS = 30_000;
const cache = new Map<string, { at: number; relationships: Relationship[] }>();

export async function relationshipsOf(d1: D1Database, organizationId: string): Promise<Relationship[]> {
  const hit = cache.get(organizationId);
  if (hit && Date.now() - hit.at < CACHE_MS) return hit.relationships;
  const rows = await drizzle(d1)
    .select()
    .from(meshRelationships)
    .where(eq(meshRelationships.organization_id, organizationId))
    .orderBy(asc(meshRelationships.created_at), asc(meshRelationships.id));
  const relationships = [...DEFAULT_RELATIONSHIPS, ...rows.map(fromRow)];
  if (cache.size > 10_000) cache.clear();
  cache.set(organizationId, { at: Date.now(), relationships });
  return relationships;
}

export function forgetRelationships(organizationId: string): void {
  cache.delete(organizationId);
}
