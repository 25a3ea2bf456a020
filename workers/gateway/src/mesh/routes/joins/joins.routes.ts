import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { authenticate } from "../../../identity/authenticate";
import { JoinCreateSchema, JoinListQuerySchema, JoinListSchema, JoinSchema } from "./joins.schemas";

const tags = ["Data mesh"];
const join = (description: string) => jsonContent(JoinSchema, description);

export const listJoins = createRoute({
  method: "get",
  path: "/v1/mesh/joins",
  operationId: "listMeshJoins",
  summary: "List join records, newest first",
  description:
    "Only relationships whose two services the caller may read. A join record whose record has vanished is left out " +
    "(and removed). `Mesh-Complete: false` when a service could not be asked whether its records still exist.",
  tags,
  middleware: [authenticate] as const,
  request: { query: JoinListQuerySchema },
  responses: {
    200: jsonContent(JoinListSchema, "A page of join records"),
    ...problemResponses(401, 422),
  },
});

export const createJoin = createRoute({
  method: "post",
  path: "/v1/mesh/joins",
  operationId: "createMeshJoin",
  summary: "Link two records of a join_records relationship",
  description:
    "Needs `update` on the origin's service (linking changes what the origin record shows) and `read` on the related " +
    "one. Both records must exist in the caller's organization (404). The same link twice is 409.",
  tags,
  middleware: [authenticate, jsonBody(4 * 1024)] as const,
  request: { body: jsonContentRequired(JoinCreateSchema) },
  responses: { 201: join("The new join record"), ...problemResponses(400, 401, 403, 404, 409, 413, 415, 422, 502, 504) },
});

export const getJoin = createRoute({
  method: "get",
  path: "/v1/mesh/joins/{id}",
  operationId: "getMeshJoin",
  summary: "Read one join record",
  tags,
  middleware: [authenticate] as const,
  request: { params: IdParamSchema },
  responses: { 200: join("The join record"), ...problemResponses(401, 403, 404, 422, 502, 504) },
});

export const deleteJoin = createRoute({
  method: "delete",
  path: "/v1/mesh/joins/{id}",
  operationId: "deleteMeshJoin",
  summary: "Unlink two records",
  description: "Needs `update` on the origin's service.",
  tags,
  middleware: [authenticate] as const,
  request: { params: IdParamSchema },
  responses: { 204: { description: "Deleted" }, ...problemResponses(401, 403, 404, 422) },
});
