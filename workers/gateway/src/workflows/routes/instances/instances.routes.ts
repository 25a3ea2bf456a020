import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, PaginationQuerySchema, ProblemSchema, jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { authenticate } from "../../../identity/authenticate";
import { requireWorkflowPermission } from "../../access";
import { MAX_DATA_BYTES } from "../../start";
import { HistoryListSchema, InstanceCreateSchema, InstanceListQuerySchema, InstanceListSchema, InstanceSchema, TransitionRequestSchema } from "../../schemas";
import { bearerFromSubprotocol } from "./events";

const tags = ["Workflows"];
const instance = (description: string) => jsonContent(InstanceSchema, description);
const MAX_BODY = MAX_DATA_BYTES + 4096;

export const createInstance = createRoute({
  method: "post",
  path: "/v1/workflows/instances",
  operationId: "createWorkflowInstance",
  summary: "Start a workflow instance from a template's latest version",
  description:
    "Needs `create` on workflows. A `subject` must be a record the caller can read: the subject's service is asked for it " +
    "(its own read, scoped to the organization); a missing one is 422. The instance gets a random id and its own Durable Object. " +
    "Quotas: `data` of at most 64 KiB of JSON (422), at most 10,000 instances of the organization not yet ended, children " +
    "included (422, problem type quota-exceeded).",
  tags,
  middleware: [authenticate, requireWorkflowPermission("create"), jsonBody(MAX_BODY)] as const,
  request: { body: jsonContentRequired(InstanceCreateSchema) },
  responses: { 201: instance("The new instance, at version 1"), ...problemResponses(400, 401, 403, 409, 413, 415, 422, 502, 504) },
});

export const listInstances = createRoute({
  method: "get",
  path: "/v1/workflows/instances",
  operationId: "listWorkflowInstances",
  summary: "List instances, oldest first, by template, state or subject",
  description: "Read from an index in D1 that every instance keeps in step after each transition (before the transition answers).",
  tags,
  middleware: [authenticate, requireWorkflowPermission("read")] as const,
  request: { query: InstanceListQuerySchema },
  responses: {
    200: jsonContent(InstanceListSchema, "A page of instances"),
    ...problemResponses(401, 403, 422),
  },
});

export const getInstance = createRoute({
  method: "get",
  path: "/v1/workflows/instances/{id}",
  operationId: "getWorkflowInstance",
  summary: "Read an instance, with its children and the transitions the caller may take now",
  tags,
  middleware: [authenticate, requireWorkflowPermission("read")] as const,
  request: { params: IdParamSchema },
  responses: { 200: instance("The instance"), ...problemResponses(401, 403, 404, 422) },
});

export const getHistory = createRoute({
  method: "get",
  path: "/v1/workflows/instances/{id}/history",
  operationId: "getWorkflowInstanceHistory",
  summary: "An instance's history: one entry per version, the creation first",
  tags,
  middleware: [authenticate, requireWorkflowPermission("read")] as const,
  request: { params: IdParamSchema, query: PaginationQuerySchema },
  responses: {
    200: jsonContent(HistoryListSchema, "A page of history entries"),
    ...problemResponses(401, 403, 404, 422),
  },
});

export const takeTransition = createRoute({
  method: "post",
  path: "/v1/workflows/instances/{id}/transitions",
  operationId: "takeWorkflowTransition",
  summary: "Take a transition",
  description:
    "Transitions of one instance run one at a time. 409 when the transition does not leave the current state or `expected_version` is " +
    "stale; 403 when the transition names roles the caller holds none of (or, naming none, the caller lacks `update` on workflows). " +
    "The transition's actions run first, as the caller, each with an Idempotency-Key made of the instance, the version and the action; " +
    "if one fails the state is unchanged and the answer is 424 (the service refused: its problem is in `cause`), 502 or 504; what the " +
    "earlier actions did is undone (`undone`; what could not be, in `not_undone`), so a retry, with corrected data if need be, runs " +
    "them afresh. 403 also for a `system_only` transition, which only a timeout or the children finishing take. 409 when the " +
    "transition would start more children than an instance may have (100).",
  tags,
  middleware: [authenticate, jsonBody(MAX_BODY)] as const,
  request: { params: IdParamSchema, body: jsonContentRequired(TransitionRequestSchema) },
  responses: {
    200: instance("The instance after the transition"),
    ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422, 502, 503, 504),
    424: {
      description: "An action of the transition failed; the state is unchanged",
      content: { "application/problem+json": { schema: ProblemSchema } },
    },
  },
});

export const watchInstance = createRoute({
  method: "get",
  path: "/v1/workflows/instances/{id}/events",
  operationId: "watchWorkflowInstance",
  summary: "WebSocket: every transition of the instance, as it happens",
  description:
    'Upgrade to a WebSocket. The first message is `{type: "snapshot", instance}`, then one `{type: "transition", ...}` per transition ' +
    "(version, transition, from, to, actor, time, request_id, data, actions). Authenticate with the Authorization header, or, from a " +
    "browser (which cannot set headers on a WebSocket), offer the subprotocols `bearer, <access token>`: the server selects `bearer`. " +
    "Tokens in the query string are not accepted (URLs end up in logs and histories). The socket closes with 4401 when the token " +
    "expires (an alarm, even if nothing happens), and with 4403 before the next event once the account is deactivated or its roles no " +
    "longer give `read` on workflows; reconnect with a fresh token. Send `ping` to get `pong`.",
  tags,
  middleware: [bearerFromSubprotocol, authenticate, requireWorkflowPermission("read")] as const,
  request: { params: IdParamSchema },
  responses: { 101: { description: "Switching to the WebSocket protocol" }, ...problemResponses(401, 403, 404, 422, 426, 503) },
});
