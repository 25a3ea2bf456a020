import type { ServiceCatalog } from "../contract";

/** A D1 statement as a loader sent it. */
export interface RecordedStatement {
  sql: string;
  params: unknown[];
}

/**
 * The real D1 binding, passed through, remembering every statement prepared on it: a test can
 * count the queries a loader runs and ask SQLite for their plans. Not a fake: every call reaches D1.
 */
export function recordingD1(db: D1Database): { db: D1Database; statements: RecordedStatement[] } {
  const statements: RecordedStatement[] = [];
  const wrap = (stmt: D1PreparedStatement, entry: RecordedStatement): D1PreparedStatement =>
    new Proxy(stmt, {
      get(target, prop) {
        if (prop === "bind") {
          return (...params: unknown[]) => {
            entry.params = params;
            return wrap(target.bind(...params), entry);
          };
        }
        const value = Reflect.get(target, prop, target);
        return typeof value === "function" ? value.bind(target) : value;
      },
    });
  const proxy = new Proxy(db, {
    get(target, prop) {
      if (prop === "prepare") {
        return (query: string) => {
          const entry = { sql: query, params: [] };
          statements.push(entry);
          return wrap(target.prepare(query), entry);
        };
      }
      const value = Reflect.get(target, prop, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  return { db: proxy, statements };
}

/** SQLite's plan for a statement, one line per step. */
export async function queryPlan(db: D1Database, statement: RecordedStatement): Promise<string[]> {
  const { results } = await db
    .prepare(`EXPLAIN QUERY PLAN ${statement.sql}`)
    .bind(...statement.params)
    .all<{ detail: string }>();
  return results.map((r) => r.detail);
}

type JsonSchema = { $ref?: string; properties?: Record<string, JsonSchema>; items?: JsonSchema; anyOf?: JsonSchema[]; allOf?: JsonSchema[] };

/**
 * Where a service's catalog and its OpenAPI document disagree: a catalog field the model's
 * component schema lacks, or a property of the component the catalog lacks. `components` maps
 * each model to its component's name (contacts -> Contact). Empty when they agree.
 */
export function catalogMismatches(
  catalog: ServiceCatalog,
  openapi: { components?: { schemas?: Record<string, JsonSchema> } },
  components: Record<string, string>,
): string[] {
  const schemas = openapi.components?.schemas ?? {};
  const resolve = (s: JsonSchema | undefined): JsonSchema | undefined => {
    if (!s) return undefined;
    if (s.$ref) return resolve(schemas[s.$ref.replace("#/components/schemas/", "")]);
    const branch = [...(s.anyOf ?? []), ...(s.allOf ?? [])].find((b) => b.$ref || b.properties || b.items);
    return s.properties || s.items || !branch ? s : resolve(branch);
  };
  const problems: string[] = [];
  const modelNames = catalog.models.map((m) => m.name);
  for (const name of Object.keys(components)) if (!modelNames.includes(name)) problems.push(`${name}: not in the catalog`);
  for (const model of catalog.models) {
    const component = components[model.name];
    const schema = component ? resolve(schemas[component]) : undefined;
    if (!schema?.properties) {
      problems.push(`${model.name}: no component schema ${component ?? "(none named)"}`);
      continue;
    }
    const top = new Set<string>();
    for (const field of model.fields) {
      const [list, key] = field.name.split("[].");
      top.add(list!);
      const property = resolve(schema.properties[list!]);
      if (!property) problems.push(`${model.name}.${field.name}: not in ${component}`);
      else if (key !== undefined && !resolve(property.items)?.properties?.[key]) problems.push(`${model.name}.${field.name}: not in ${component}`);
    }
    for (const property of Object.keys(schema.properties))
      if (!top.has(property)) problems.push(`${model.name}: ${component}.${property} is not in the catalog`);
  }
  return problems;
}
