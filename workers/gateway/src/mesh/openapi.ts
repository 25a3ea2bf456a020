import { MAX_JOIN_KEYS } from "./join-param";
import { EMBED_LIMIT } from "./embed/read";

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is untyped JSON walked by key
type Doc = Record<string, any>;

const JOIN_PARAM = "MeshJoin";
const EMBEDDED = "MeshEmbedded";
const SERVER_TIMING = "MeshServerTiming";
const MESH_COMPLETE = "MeshComplete";

const JOINABLE = ["get", "post", "patch"];

/** The components every proxied operation refers to; added once. */
function addComponents(doc: Doc): void {
  const components = (doc.components ??= {});
  const problem = components.schemas?.Problem ? { $ref: "#/components/schemas/Problem" } : { type: "object" };
  (components.parameters ??= {})[JOIN_PARAM] ??= {
    name: "join",
    in: "query",
    required: false,
    description:
      `Data mesh: embed related records from other services under \`_embedded.<key>\` of each record, one key per ` +
      `relationship (GET /v1/mesh/relationships lists them). At most ${MAX_JOIN_KEYS} comma-separated keys; at most ` +
      `${EMBED_LIMIT} related records per record and key (\`_embedded_more\` marks cut lists). Only on a model's ` +
      `collection or record path; an unknown key is 422. On POST and PATCH, the JSON body may carry ` +
      `\`_embedded: { "<key>": [ { ...a new record } | { "id": "<existing id>" } ] }\` (at most ${EMBED_LIMIT} per key): ` +
      `the gateway writes the main record, creates or links the related ones, and undoes everything if a step fails.`,
    schema: { type: "string", pattern: "^[a-z][a-z0-9_]{0,62}(,[a-z][a-z0-9_]{0,62})*$" },
    example: "appointments,documents",
  };
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

/**
 * Describes the data mesh on one service's operations in the aggregated document: the `join`
 * parameter on its GET (and JSON POST and PATCH) operations, `_embedded` in their 2xx JSON
 * bodies, and the Server-Timing and Mesh-Complete headers.
 */
export function describeMeshOnService(doc: Doc, prefix: string): void {
  addComponents(doc);
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Doc>)) {
    if (path !== prefix && !path.startsWith(`${prefix}/`)) continue;
    for (const [method, op] of Object.entries(item) as [string, Doc][]) {
      if (!op || typeof op !== "object" || !op.responses) continue;
      const joinable = JOINABLE.includes(method) && (method === "get" || op.requestBody?.content?.["application/json"]);
      if (joinable) {
        // The request body's `_embedded` is described by the parameter: the services' create and
        // update schemas refuse unknown properties, so a schema of both would admit no body.
        op.parameters = [...(op.parameters ?? []), { $ref: `#/components/parameters/${JOIN_PARAM}` }];
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
