import { PROBLEM_CONTENT_TYPE } from "@buildly/shared";

/**
 * What the gateway itself answers on the operations it fronts, added to the aggregated
 * document so it says what a client really gets: the headers of every answer (request id,
 * caching, rate limits), and the statuses the gateway answers before or instead of a service
 * (401 without a valid token, 403 without the role, 413, 429, 502, 503, 504, and the
 * Idempotency-Key answers 400, 409 and 422). Shared components, referenced from each operation.
 */

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is untyped JSON walked by key
type Doc = Record<string, any>;
// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is untyped JSON walked by key
type Op = Record<string, any>;

const problem = { [PROBLEM_CONTENT_TYPE]: { schema: { $ref: "#/components/schemas/Problem" } } };
const header = (name: string) => ({ $ref: `#/components/headers/${name}` });

export const HEADERS: Record<string, Doc> = {
  "X-Request-Id": {
    description: "The request's id: a sane inbound X-Request-Id, otherwise a generated UUID. Also the problem body's request_id.",
    required: true,
    schema: { type: "string" },
  },
  "Cache-Control": {
    description:
      "Answers under /v1 depend on the caller: `private, no-store`, or a service's own policy made private (a download's `private, no-cache`, with Vary: Authorization), never public.",
    schema: { type: "string" },
  },
  RateLimit: {
    description: 'What is left of each visible policy (IETF httpapi rate-limit headers draft): `"user";r=598;t=1, "organization";r=5990;t=1`.',
    schema: { type: "string" },
  },
  "RateLimit-Policy": {
    description: 'The visible policies the call counted against: `"user";q=600;w=60, "organization";q=6000;w=60`.',
    schema: { type: "string" },
  },
  "Retry-After": { description: "Seconds to wait before retrying.", required: true, schema: { type: "integer", minimum: 0 } },
  "WWW-Authenticate": {
    description: 'The bearer challenge (RFC 6750), e.g. `Bearer realm="buildly", error="invalid_token", error_description="..."`.',
    required: true,
    schema: { type: "string" },
  },
  "Idempotent-Replayed": {
    description: "`true` when this is the stored answer to an earlier request with the same Idempotency-Key.",
    schema: { type: "string", enum: ["true"] },
  },
};

/** The headers every answer under /v1 may carry. */
const COMMON = {
  "X-Request-Id": header("X-Request-Id"),
  "Cache-Control": header("Cache-Control"),
  RateLimit: header("RateLimit"),
  "RateLimit-Policy": header("RateLimit-Policy"),
};

/** A problem with extension members of its own (RFC 9457 section 3.2). */
const problemWith = (members: Record<string, Doc>) => ({
  [PROBLEM_CONTENT_TYPE]: { schema: { allOf: [{ $ref: "#/components/schemas/Problem" }, { type: "object", properties: members }] } },
});

const answer = (description: string, extra: Record<string, unknown> = {}, content: Doc = problem) => ({
  description,
  headers: { ...COMMON, ...extra },
  content,
});
const service = { service: { type: "string", description: "The service that failed." } };

export const RESPONSES: Record<string, Doc> = {
  GatewayBadRequest: answer("The gateway refused the request: a malformed Idempotency-Key header."),
  GatewayUnauthorized: answer("No valid access token (checked by the gateway, with a WWW-Authenticate challenge).", {
    "WWW-Authenticate": header("WWW-Authenticate"),
  }),
  GatewayForbidden: answer("The caller's roles do not allow this call (checked by the gateway)."),
  GatewayConflict: answer("A request with this Idempotency-Key is still being processed.", { "Retry-After": header("Retry-After") }),
  GatewayContentTooLarge: answer(
    "The body is larger than this route accepts (with an Idempotency-Key, at most 1 MiB).",
    {},
    problemWith({ max_bytes: { type: "integer", description: "The most this route accepts, in bytes." } }),
  ),
  GatewayMalformedJson: answer("The body is not valid JSON."),
  GatewayUnsupportedMediaType: answer("The body is not application/json."),
  GatewayValidationFailed: answer("The request does not match the schema; `errors` lists each field."),
  GatewayKeyReused: answer("This Idempotency-Key was already used with a different request."),
  GatewayRateLimited: answer(
    "A rate limit was exceeded; the problem's `exceeded` lists the visible policies that were.",
    { "Retry-After": header("Retry-After") },
    problemWith({
      exceeded: { type: "array", items: { type: "string" }, description: "The visible policies this call exceeded (a hidden one is never named)." },
    }),
  ),
  GatewayBadGateway: answer("The service failed to answer.", {}, problemWith(service)),
  GatewayUnavailable: answer(
    "The rate limiter is unavailable and a policy of this call fails closed; or, for passkeys and for setting a password, the gateway cannot reach the credentials Worker.",
    { "Retry-After": header("Retry-After") },
  ),
  GatewayTimeout: answer("The service did not answer within its deadline.", {}, problemWith(service)),
};

export const PARAMETERS: Record<string, Doc> = {
  IdempotencyKey: {
    name: "Idempotency-Key",
    in: "header",
    required: false,
    description:
      "Runs the request at most once per caller and key (IETF httpapi idempotency-key draft): a retry with the same request gets the " +
      "stored answer (with Idempotent-Replayed: true), the same key with another request is 422, a duplicate in flight 409. Kept 24 hours.",
    // What limits/idempotency.ts accepts: 1 to 255 visible ASCII characters, bare or in double quotes
    // (an sf-string); a bare value that starts and ends with a quote is read as quoted.
    schema: { type: "string", minLength: 1, maxLength: 257, pattern: '^(?:"[\\x21-\\x7e]{1,255}"|(?!"[\\x21-\\x7e]*"$)[\\x21-\\x7e]{1,255})$' },
  },
};

const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"];

/**
 * Adds a gateway answer to an operation: by reference where the status is free. Where the
 * operation already documents that status, the existing entry is kept and completed: on the
 * gateway's own routes a problem+json entry is the same answer (the route's own 401 is
 * `authenticate`'s), so the gateway's headers join it as they are; otherwise (a service's own
 * 422, the token endpoint's OAuth 429) the problem+json body joins it, its headers as optional
 * ones (the other answer of that status need not send them) and its description as a note.
 */
function addAnswer(op: Op, status: string, name: string, ownRoute: boolean): void {
  const existing = op.responses[status];
  if (!existing) {
    op.responses[status] = { $ref: `#/components/responses/${name}` };
    return;
  }
  if (existing.$ref) return;
  const ours = RESPONSES[name]!;
  const types = Object.keys(existing.content ?? {});
  if (ownRoute && types.length === 1 && types[0] === PROBLEM_CONTENT_TYPE) {
    existing.headers = { ...ours.headers, ...existing.headers };
    return;
  }
  existing.content = { ...existing.content, [PROBLEM_CONTENT_TYPE]: existing.content?.[PROBLEM_CONTENT_TYPE] ?? ours.content[PROBLEM_CONTENT_TYPE] };
  const optional = Object.fromEntries(
    Object.keys(ours.headers as Doc)
      .filter((h) => !(h in COMMON))
      .map((h) => [h, { ...HEADERS[h], required: false }]),
  );
  existing.headers = { ...COMMON, ...optional, ...existing.headers };
  if (!existing.description.includes(ours.description)) existing.description += ` Or, from the gateway: ${ours.description}`;
}

function operations(doc: Doc): { path: string; method: string; op: Op }[] {
  const out: { path: string; method: string; op: Op }[] = [];
  for (const [path, item] of Object.entries((doc.paths ?? {}) as Record<string, Doc>)) {
    for (const method of HTTP_METHODS) if (item[method]) out.push({ path, method, op: item[method] });
  }
  return out;
}

/** The statuses of the JSON body guard (jsonBody) of the gateway's own routes. */
const JSON_BODY = [
  ["400", "GatewayMalformedJson"],
  ["413", "GatewayContentTooLarge"],
  ["415", "GatewayUnsupportedMediaType"],
  ["422", "GatewayValidationFailed"],
] as const;

/**
 * Every operation gets the X-Request-Id and Cache-Control headers; every one under /v1 gets the gateway's headers and its rate-limit answers (429, and
 * 503 when the limiter is down), plus 401 if it needs a token. Operations the gateway proxies
 * (`proxied(path)`) also get 403, 502 and 504, 413 when they take a body, and the
 * Idempotency-Key parameter and answers on POST and PATCH.
 */
export function addGatewayAnswers(doc: Doc, proxied: (path: string) => boolean): void {
  doc.components ??= {};
  for (const [kind, comps] of [
    ["headers", HEADERS],
    ["responses", RESPONSES],
    ["parameters", PARAMETERS],
  ] as const) {
    doc.components[kind] = { ...doc.components[kind], ...comps };
  }
  for (const { path, method, op } of operations(doc)) {
    op.responses ??= {};
    const limited = path.startsWith("/v1/");
    for (const res of Object.values(op.responses as Record<string, Doc>)) {
      if (res.$ref) continue;
      const { RateLimit, "RateLimit-Policy": policy, ...always } = COMMON;
      res.headers = { ...(limited ? COMMON : always), ...res.headers };
    }
    if (!limited) continue;
    const secured = (op.security ?? doc.security ?? []).length > 0;
    const writes = method !== "get" && method !== "head";
    const keyed = method === "post" || method === "patch";
    const own = !proxied(path);
    if (secured) addAnswer(op, "401", "GatewayUnauthorized", own);
    addAnswer(op, "429", "GatewayRateLimited", own);
    addAnswer(op, "503", "GatewayUnavailable", own);
    if (own) {
      // The gateway's own JSON routes read their body through one guard.
      const types = Object.keys(op.requestBody?.content ?? {});
      if (types.length === 1 && types[0] === "application/json") for (const [status, name] of JSON_BODY) addAnswer(op, status, name, own);
      continue;
    }
    addAnswer(op, "403", "GatewayForbidden", own);
    addAnswer(op, "502", "GatewayBadGateway", own);
    addAnswer(op, "504", "GatewayTimeout", own);
    if (writes) addAnswer(op, "413", "GatewayContentTooLarge", own);
    if (keyed) {
      op.parameters = [...(op.parameters ?? []), { $ref: "#/components/parameters/IdempotencyKey" }];
      addAnswer(op, "400", "GatewayBadRequest", own);
      addAnswer(op, "409", "GatewayConflict", own);
      addAnswer(op, "422", "GatewayKeyReused", own);
      for (const [status, res] of Object.entries(op.responses as Record<string, Doc>)) {
        if (/^2/.test(status) && !res.$ref) res.headers = { ...res.headers, "Idempotent-Replayed": header("Idempotent-Replayed") };
      }
    }
  }
}
