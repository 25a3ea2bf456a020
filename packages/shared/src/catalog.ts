import type { z } from "zod";
import type { MeshField, MeshFieldType } from "./contract";

/*
 * A model's catalog fields are read off the same zod schema that shapes its API responses (and
 * so its OpenAPI component), so the catalog cannot drift from what the API shows. A service adds
 * only what a schema cannot say: which fields reference another model, and a finer type.
 */

export interface FieldNote {
  /** This field holds the id of a record of `service`.`model`. */
  references?: { service: string; model: string };
  /** A finer type than the schema's (e.g. `text` for long free text, `date` for YYYY-MM-DD). */
  type?: MeshFieldType;
}

interface Def {
  type: string;
  format?: string;
  innerType?: z.ZodType;
  in?: z.ZodType;
  out?: z.ZodType;
  element?: z.ZodType;
  shape?: Record<string, z.ZodType>;
  values?: unknown[];
}

const def = (schema: z.ZodType): Def => (schema as unknown as { _zod: { def: Def } })._zod.def;

/** The schema below optional/nullable/default wrappers, and whether null is allowed. */
function unwrap(schema: z.ZodType): { inner: z.ZodType; nullable: boolean } {
  let nullable = false;
  for (;;) {
    const d = def(schema);
    if (d.type === "nullable") nullable = true;
    if ((d.type === "nullable" || d.type === "optional" || d.type === "default" || d.type === "readonly" || d.type === "catch") && d.innerType) {
      schema = d.innerType;
    } else if (d.type === "pipe" && d.out) {
      // A response schema's pipe: what the API shows is its output.
      schema = def(d.out).type === "transform" && d.in ? d.in : d.out;
    } else {
      return { inner: schema, nullable };
    }
  }
}

function typeOf(schema: z.ZodType): MeshFieldType {
  const d = def(schema);
  switch (d.type) {
    case "string":
      if (d.format === "uuid" || d.format === "guid") return "uuid";
      if (d.format === "datetime") return "datetime";
      if (d.format === "date") return "date";
      return "string";
    case "number":
      return (schema as unknown as { isInt?: boolean }).isInt ? "integer" : "number";
    case "int":
    case "bigint":
      return "integer";
    case "boolean":
      return "boolean";
    case "array":
    case "tuple":
      return "array";
    case "object":
    case "record":
      return "object";
    case "enum":
      return "string";
    case "literal":
      return typeof d.values?.[0] === "number" ? "number" : typeof d.values?.[0] === "boolean" ? "boolean" : "string";
    default:
      return "string";
  }
}

function shapeOf(schema: z.ZodType, where: string): Record<string, z.ZodType> {
  const { inner } = unwrap(schema);
  const shape = def(inner).shape;
  if (!shape) throw new Error(`catalog: ${where} is not an object schema`);
  return shape;
}

function field(name: string, schema: z.ZodType, note: FieldNote | undefined): MeshField {
  const { inner, nullable } = unwrap(schema);
  const out: MeshField = { name, type: note?.type ?? typeOf(inner) };
  if (nullable) out.nullable = true;
  if (note?.references) out.references = { ...note.references };
  return out;
}

/**
 * The catalog fields of a response schema: every top-level property, in order, plus each noted
 * field inside a list of objects (`attendees[].contact_id`), right after its list. A note that
 * names no field of the schema throws, so a renamed field cannot leave a stale reference behind.
 */
export function meshFields(schema: z.ZodType, notes: Record<string, FieldNote> = {}): MeshField[] {
  const shape = shapeOf(schema, "the model");
  const nested = new Map<string, MeshField[]>();
  for (const [name, note] of Object.entries(notes)) {
    const m = /^([A-Za-z_]\w*)\[\]\.([A-Za-z_]\w*)$/.exec(name);
    if (!m) {
      if (!Object.hasOwn(shape, name)) throw new Error(`catalog: no field ${name}`);
      continue;
    }
    const [, list, key] = m as unknown as [string, string, string];
    const listSchema = Object.hasOwn(shape, list) ? shape[list] : undefined;
    const element = listSchema ? def(unwrap(listSchema).inner).element : undefined;
    if (!element) throw new Error(`catalog: ${list} is not a list in the model`);
    const inner = shapeOf(element, `${list}[]`);
    if (!Object.hasOwn(inner, key)) throw new Error(`catalog: no field ${name}`);
    nested.set(list, [...(nested.get(list) ?? []), field(name, inner[key]!, note)]);
  }
  return Object.entries(shape).flatMap(([name, s]) => [field(name, s, Object.hasOwn(notes, name) ? notes[name] : undefined), ...(nested.get(name) ?? [])]);
}

/** `references` shorthand for a field note. */
export function ref(service: string, model: string, type?: MeshFieldType): FieldNote {
  return type ? { references: { service, model }, type } : { references: { service, model } };
}
