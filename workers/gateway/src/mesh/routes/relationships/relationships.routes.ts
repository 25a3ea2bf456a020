import { createRoute } from "@hono/zod-openapi";
import { IdParamSchema, PaginationQuerySchema, jsonBody, problemResponses, jsonContent, jsonContentRequired } from "@buildly/shared";
import { authenticate, requireAdmin } from "../../../identity/authenticate";
import { RelationshipCreateSchema, RelationshipListSchema, RelationshipSchema } from "./relationships.schemas";

const tags = ["Data mesh"];
const relationship = (description: string) => jsonContent(RelationshipSchema, description);

export const listRelationships = createRoute({
  method: "get",
  path: "/v1/mesh/relationships",
  operationId: "listMeshRelationships",
  summary: "List the relationships in force: the platform's defaults, then the organization's own",
  tags,
  middleware: [authenticate] as const,
  request: { query: PaginationQuerySchema },
  responses: {
    200: jsonContent(RelationshipListSchema, "A page of relationships"),
    ...problemResponses(401, 422),
  },
});

export const createRelationship = createRoute({
  method: "post",
  path: "/v1/mesh/relationships",
  operationId: "createMeshRelationship",
  summary: "Relate two models (admins only)",
  description:
    "Both models must be in the catalog. For kind = field, the field must exist on one of them, hold ids (uuid), be " +
    "indexed for lookups and, if it declares a reference, reference the other model. 422 names the problem. A key is " +
    "unique per model (409 when taken, by a default too) and cannot be the name of one of the model's fields (422).",
  tags,
  middleware: [authenticate, requireAdmin, jsonBody(8 * 1024)] as const,
  request: { body: jsonContentRequired(RelationshipCreateSchema) },
  responses: { 201: relationship("The new relationship"), ...problemResponses(400, 401, 403, 409, 413, 415, 422) },
});

export const getRelationship = createRoute({
  method: "get",
  path: "/v1/mesh/relationships/{id}",
  operationId: "getMeshRelationship",
  summary: "Read one relationship",
  tags,
  middleware: [authenticate] as const,
  request: { params: IdParamSchema },
  responses: { 200: relationship("The relationship"), ...problemResponses(401, 404, 422) },
});

export const deleteRelationship = createRoute({
  method: "delete",
  path: "/v1/mesh/relationships/{id}",
  operationId: "deleteMeshRelationship",
  summary: "Delete a relationship and its join records (admins only)",
  description: "The platform's defaults cannot be deleted (409).",
  tags,
  middleware: [authenticate, requireAdmin] as const,
  request: { params: IdParamSchema },
  responses: { 204: { description: "Deleted" }, ...problemResponses(401, 403, 404, 409, 422) },
});
