import type { FieldSide, OnDelete, RelationshipKind, RelationshipRow } from "../db/schema";

export interface ModelRef {
  service: string;
  model: string;
}

/** A relationship as the API shows it: the platform's defaults and an organization's own alike. */
export interface Relationship {
  id: string;
  /** Names the related records on an origin record (`?join=<key>` on the origin model). */
  key: string;
  /** Names the origin records on a related record (`?join=<reverse_key>` on the related model). */
  reverse_key: string;
  origin: ModelRef;
  related: ModelRef;
  kind: RelationshipKind;
  /** kind = field: the field holding the other side's id (`attendees[].contact_id` walks a list). */
  field: string | null;
  /** kind = field: which side's model holds `field`. */
  field_on: FieldSide | null;
  /** What deleting a record of the side `field` names does to the records naming it (join_records: `unlink`). */
  on_delete: OnDelete;
  builtin: boolean;
  created_at: string;
}

export function fromRow(r: RelationshipRow): Relationship {
  return {
    id: r.id,
    key: r.key,
    reverse_key: r.reverse_key,
    origin: { service: r.origin_service, model: r.origin_model },
    related: { service: r.related_service, model: r.related_model },
    kind: r.kind,
    field: r.field,
    field_on: r.field_on,
    on_delete: r.on_delete,
    builtin: false,
    created_at: r.created_at,
  };
}

/**
 * How one `?join=<key>` is served from a record of `from`:
 * - `join`: the join records of the relationship, then the `to` records by id;
 * - `holds`: `from` records hold the field: the `to` records by the ids in it;
 * - `held`: `to` records hold the field: the `to` records whose field names a `from` id (findBy).
 */
export interface JoinPath {
  key: string;
  relationship: Relationship;
  /** forward: from the origin (its `key`); reverse: from the related model (its `reverse_key`). */
  direction: "forward" | "reverse";
  from: ModelRef;
  to: ModelRef;
  mode: "join" | "holds" | "held";
}

export function sameModel(a: ModelRef, b: ModelRef): boolean {
  return a.service === b.service && a.model === b.model;
}

/** The join path `key` names on a record of `model`, if any relationship gives it that key. */
export function findJoinPath(relationships: readonly Relationship[], model: ModelRef, key: string): JoinPath | undefined {
  for (const r of relationships) {
    const direction = sameModel(r.origin, model) && r.key === key ? "forward" : sameModel(r.related, model) && r.reverse_key === key ? "reverse" : undefined;
    if (!direction) continue;
    const [from, to] = direction === "forward" ? [r.origin, r.related] : [r.related, r.origin];
    const fromSide = direction === "forward" ? "origin" : "related";
    const mode = r.kind === "join_records" ? "join" : r.field_on === fromSide ? "holds" : "held";
    return { key, relationship: r, direction, from, to, mode };
  }
  return undefined;
}

/** Every key relationships add to `model`. */
export function keysOf(relationships: readonly Relationship[], model: ModelRef): string[] {
  const keys: string[] = [];
  for (const r of relationships) {
    if (sameModel(r.origin, model)) keys.push(r.key);
    if (sameModel(r.related, model)) keys.push(r.reverse_key);
  }
  return keys;
}
