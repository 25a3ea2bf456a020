import { JOIN_PATTERN, MAX_JOIN_KEYS } from "./join-param";
import { EMBED_LIMIT } from "./embed/read";
import { DEFAULT_RELATIONSHIPS } from "./relationships/defaults";
import { keysOf } from "./relationships/relationship";

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is untyped JSON walked by key
type Doc = Record<string, any>;

const JOIN_PARAM = "MeshJoin";

/** A model of a service, as its catalog names it and where its collection lives under the service. */
export interface DocumentedModel {
  name: string;
  path: string;
}

/**
 * The `join` parameter of one model's operations: its keys are the platform's relationships of
 * that model (the document is the same for every organization; an organization's own
 * relationships add keys, listed by GET /v1/mesh/relationships).
 */
function joinParameter(service: string, model: string): Doc {
  const keys = keysOf(DEFAULT_RELATIONSHIPS, { service, model });
  const known = keys.length
    ? `Keys of ${service} ${model}: ${keys.map((k) => `\`${k}\``).join(", ")}, plus your organization's own relationships of this model`
    : `${service} ${model} has no relationship of the platform's: only your organization's own relationships of this model give keys`;
  return {
    name: "join",
    in: "query",
    required: false,
    description:
      `Data mesh: embed related records from other services under \`_embedded.<key>\` of each record, one key per ` +
      `relationship. ${known} (GET /v1/mesh/relationships lists them); an unknown key is 422. At most ${MAX_JOIN_KEYS} ` +
      `comma-separated keys (an empty value is 422); at most ${EMBED_LIMIT} related records per record and key ` +
      `(\`_embedded_more\` marks cut lists). On POST and PATCH, the JSON body may carry ` +
      `\`_embedded: { "<key>": [ { ...a new record } | { "id": "<existing id>" } ] }\` (at most ${EMBED_LIMIT} per key): ` +
      `the gateway writes the main record, creates or links the related ones, and undoes everything if a step fails.`,
    schema: { type: "string", pattern: JOIN_PATTERN },
    ...(keys.length ? { example: keys.slice(0, MAX_JOIN_KEYS).join(",") } : {}),
  };
}
const EMBEDDED = "MeshEmbedded";
const SERVER_TIMING = "MeshServerTiming";
const MESH_COMPLETE = "MeshComplete";

const JOINABLE = ["get", "post", "patch"];

/** The components every proxied operation refers to; added once. */
function addComponents(doc: Doc): void {
  const components = (doc.components ??= {});
  const problem = components.schemas?.Problem ? { $ref: "#/components/schemas/Problem" } : { type: "object" };
  (components.schemas ??= {})[EMBEDDED] ??= {
    type: "object",
    description: "What `?join=` adds to a record.",
    properties: {
      _embedded: {
        type: "object",
        description: "The related records of each requested key (an empty list when there are none).",
        additionalProperties: { type: "array", items: { type: "object" } },
      },
      _embedded_errors: {
        type: "object",
        description:
          "Keys whose related records could not be embedded (a service failed or timed out: 502/504; the caller may " +
          "not read that service: 403). The key is then absent from `_embedded` and the response says `Mesh-Complete: false`.",
        additionalProperties: problem,
      },
      _embedded_more: {
        type: "object",
        description: `Keys with more than ${EMBED_LIMIT} related records: page the rest with the related collection's filter or GET /v1/mesh/joins.`,
        additionalProperties: { type: "boolean", const: true },
      },
    },
  };
  const headers = (components.headers ??= {});
  headers[SERVER_TIMING] ??= {
    description: 'One entry per call the gateway made to a logic service: `<service>;dur=<ms>;desc="<method>"`.',
    schema: { type: "string", example: 'crm;dur=3.1;desc="handle", appointments;dur=5.0;desc="findBy"' },
  };
  headers[MESH_COMPLETE] ??= {
    description: "With `?join=`: `false` when some related records could not be embedded (see `_embedded_errors`).",
    schema: { type: "string", enum: ["true", "false"] },
  };
}

/** The response schema with `_embedded` on the record, or on every item of a `{ data: [...] }` list. */
function withEmbedded(doc: Doc, schema: Doc): Doc {
  const target = schema.$ref ? doc.components?.schemas?.[String(schema.$ref).split("/").pop()!] : schema;
  const isList = target?.properties?.data?.type === "array";
  const embedded = { $ref: `#/components/schemas/${EMBEDDED}` };
  return { allOf: [schema, isList ? { type: "object", properties: { data: { type: "array", items: embedded } } } : embedded] };
}

/** The model whose collection (`{prefix}{path}`) or record (`{prefix}{path}/{id}`) `path` is. */
function modelAt(prefix: string, path: string, models: readonly DocumentedModel[]): DocumentedModel | undefined {
  const rest = path.slice(prefix.length);
  return models.find((m) => rest === m.path || (rest.startsWith(`${m.path}/`) && /^\{[^/{}]+\}$/.test(rest.slice(m.path.length + 1))));
}

/**
 * Describes the data mesh on one service's operations in the aggregated document: the `join`
 * parameter where the gateway accepts it (GET, and JSON POST and PATCH, of a model's collection or
 * record: the catalog's `models`), with that model's keys; `_embedded` in their 2xx JSON bodies; the
 * Server-Timing header on every 2xx, and Mesh-Complete where `join` is.
 */
export function describeMeshOnService(doc: Doc, service: string, prefix: string, models: readonly DocumentedModel[]): void {
  addComponents(doc);
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Doc>)) {
    if (path !== prefix && !path.startsWith(`${prefix}/`)) continue;
    const model = modelAt(prefix, path, models);
    for (const [method, op] of Object.entries(item) as [string, Doc][]) {
      if (!op || typeof op !== "object" || !op.responses) continue;
      const joinable = !!model && JOINABLE.includes(method) && (method === "get" || !!op.requestBody?.content?.["application/json"]);
      if (joinable) {
        // The request body's `_embedded` is described by the parameter: the services' create and
        // update schemas refuse unknown properties, so a schema of both would admit no body.
        const name = `${JOIN_PARAM}_${service}_${model.name}`;
        (doc.components.parameters ??= {})[name] ??= joinParameter(service, model.name);
        op.parameters = [...(op.parameters ?? []), { $ref: `#/components/parameters/${name}` }];
      }
      for (const [status, response] of Object.entries(op.responses) as [string, Doc][]) {
        if (!/^2/.test(status) || response.$ref) continue;
        response.headers = { ...response.headers, "Server-Timing": { $ref: `#/components/headers/${SERVER_TIMING}` } };
        const json = response.content?.["application/json"];
        if (!joinable || !json?.schema) continue;
        response.headers["Mesh-Complete"] = { $ref: `#/components/headers/${MESH_COMPLETE}` };
        json.schema = withEmbedded(doc, json.schema);
      }
    }
  }
}
