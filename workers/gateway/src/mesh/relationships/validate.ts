import { ApiError, type FieldError, type MeshModel } from "@buildly/shared";
import type { FieldSide, OnDelete, RelationshipKind } from "../db/schema";
import { isLocalService } from "../local";
import { fieldOf, type CatalogView } from "../models";
import { keysOf, sameModel, type ModelRef, type Relationship } from "./relationship";

export interface RelationshipInput {
  key: string;
  reverse_key: string;
  origin: ModelRef;
  related: ModelRef;
  kind: RelationshipKind;
  field?: string;
  field_on?: FieldSide;
  on_delete?: OnDelete;
}

/** The top-level names of a model's fields (`attendees[].contact_id` is under `attendees`). */
function topLevelNames(model: MeshModel): Set<string> {
  return new Set(model.fields.map((f) => f.name.split(/[.[]/)[0]!));
}

/**
 * Checks a new relationship against the catalog and the relationships in force; returns which
 * side holds the field (kind = field). 422 names every problem; 409 when a key is taken.
 */
export function validateRelationship(catalog: CatalogView, input: RelationshipInput, existing: readonly Relationship[]): FieldSide | null {
  const errors: FieldError[] = [];
  const modelAt = (side: "origin" | "related") => {
    const ref = input[side];
    const model = catalog.model(ref);
    if (!model) {
      const known = catalog.hasService(ref.service);
      errors.push(
        known
          ? { path: `${side}.model`, message: `The ${ref.service} service has no model ${ref.model}` }
          : { path: `${side}.service`, message: `No service ${ref.service} in the catalog` },
      );
    }
    return model;
  };
  for (const service of new Set([input.origin.service, input.related.service])) {
    if (Object.hasOwn(catalog.errors, service)) {
      throw new ApiError(503, `The ${service} service's models cannot be read right now, so the relationship cannot be checked. Try again.`, {
        extensions: { service },
      });
    }
  }
  for (const side of ["origin", "related"] as const) {
    // The gateway's own models change only through their own routes, so no on_delete could reach them.
    if (isLocalService(input[side].service))
      errors.push({ path: `${side}.service`, message: `${input[side].service} models are joined through the platform's relationships only` });
  }
  const origin = modelAt("origin");
  const related = modelAt("related");
  if (!origin || !related) throw invalid(errors);

  const self = sameModel(input.origin, input.related);
  if (self && input.key === input.reverse_key)
    errors.push({ path: "reverse_key", message: "On a relationship of a model with itself, key and reverse_key must differ" });
  if (topLevelNames(origin).has(input.key)) errors.push({ path: "key", message: `${input.origin.model} has a field named ${input.key}` });
  if (topLevelNames(related).has(input.reverse_key))
    errors.push({ path: "reverse_key", message: `${input.related.model} has a field named ${input.reverse_key}` });

  let fieldOn: FieldSide | null = null;
  if (input.kind === "join_records") {
    if (input.on_delete !== undefined && input.on_delete !== "unlink")
      errors.push({ path: "on_delete", message: "A join_records relationship's records are unlinked on delete (on_delete: unlink)" });
  } else if (input.on_delete === "unlink") {
    errors.push({ path: "on_delete", message: "unlink is for join_records relationships; a field relationship takes restrict, set_null or cascade" });
  }
  if (input.kind === "join_records") {
    if (input.field !== undefined || input.field_on !== undefined) errors.push({ path: "field", message: "Only a field relationship names a field" });
  } else if (input.field === undefined) {
    errors.push({ path: "field", message: "A field relationship names the field holding the other side's id" });
  } else {
    fieldOn = resolveField(input, origin, related, errors);
  }
  if (errors.length) throw invalid(errors);

  const taken: FieldError[] = [];
  if (keysOf(existing, input.origin).includes(input.key))
    taken.push({ path: "key", message: `${input.origin.model} already has a relationship named ${input.key}` });
  if (keysOf(existing, input.related).includes(input.reverse_key))
    taken.push({ path: "reverse_key", message: `${input.related.model} already has a relationship named ${input.reverse_key}` });
  if (taken.length) throw new ApiError(409, "A key of this relationship is already in use on its model.", { errors: taken });
  return fieldOn;
}

/** The side holding the field: the one asked for, else the one whose model has it (the origin when both do). */
function resolveField(input: RelationshipInput, origin: MeshModel, related: MeshModel, errors: FieldError[]): FieldSide | null {
  const name = input.field!;
  const candidates: FieldSide[] = input.field_on
    ? [input.field_on]
    : (["origin", "related"] as const).filter((s) => fieldOf(s === "origin" ? origin : related, name));
  const side = candidates[0];
  const holder = side === "origin" ? origin : related;
  const field = side ? fieldOf(holder, name) : undefined;
  if (!side || !field) {
    errors.push({
      path: "field",
      message: input.field_on ? `${holder.name} has no field ${name}` : `Neither ${origin.name} nor ${related.name} has a field ${name}`,
    });
    return null;
  }
  const other = side === "origin" ? input.related : input.origin;
  if (field.type !== "uuid") errors.push({ path: "field", message: `${holder.name}.${name} is a ${field.type}, not an id (uuid)` });
  if (field.references && (field.references.service !== other.service || field.references.model !== other.model)) {
    errors.push({
      path: "field",
      message: `${holder.name}.${name} references ${field.references.service} ${field.references.model}, not ${other.service} ${other.model}`,
    });
  }
  if (!field.lookup) errors.push({ path: "field", message: `${holder.name}.${name} is not indexed for lookups, so the other side cannot find its records` });
  return side;
}

function invalid(errors: FieldError[]): ApiError {
  return new ApiError(422, `The relationship cannot be created: ${errors.map((e) => `${e.path}: ${e.message}`).join("; ")}.`, { errors });
}
