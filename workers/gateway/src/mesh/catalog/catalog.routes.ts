import { createRoute } from "@hono/zod-openapi";
import { problemResponses } from "@buildly/shared";
import { authenticate } from "../../identity/authenticate";
import { MeshModelListSchema } from "./catalog.schemas";

export const listMeshModels = createRoute({
  method: "get",
  path: "/v1/mesh/models",
  operationId: "listMeshModels",
  summary: "Every model of every service: fields, types, references between services, and which models search covers",
  description:
    "Read from each service's own description (cached by the gateway for up to 60 s). A service that cannot describe itself " +
    "right now is left out and named in `errors`, with `Mesh-Complete: false`. Any valid token may read it: it is schema, not data.",
  tags: ["Data mesh"],
  middleware: [authenticate] as const,
  responses: {
    200: {
      description: "The models, in registry order",
      headers: {
        "Mesh-Complete": { description: '"true", or "false" when some service could not be asked.', schema: { type: "string", enum: ["true", "false"] } },
      },
      content: { "application/json": { schema: MeshModelListSchema } },
    },
    ...problemResponses(401),
  },
});
