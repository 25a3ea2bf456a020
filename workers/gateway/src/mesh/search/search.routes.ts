import { createRoute } from "@hono/zod-openapi";
import { problemResponses } from "@buildly/shared";
import { authenticate } from "../../identity/authenticate";
import { MeshSearchResultSchema, SEARCH_WINDOW, SearchQuerySchema } from "./search.schemas";

export const searchMesh = createRoute({
  method: "get",
  path: "/v1/mesh/search",
  operationId: "searchMesh",
  summary: "Search every service at once: one list, best matches first",
  description:
    "Asks every service that offers search (or those of `models`) in parallel, each within its deadline, and merges the hits by score " +
    "(ties: registry order of the services, then each service's own order). Only services you may read are asked; a model of a service " +
    `you may not read, named in \`models\`, is reported in \`errors\` as 403. Pages go through the best ${SEARCH_WINDOW} hits at most ` +
    "(refine the query for more). A service that fails or is late does not fail the search: its problem is in `errors` and " +
    "`Mesh-Complete` is `false`. `Server-Timing` has one entry per service call.",
  tags: ["Data mesh"],
  middleware: [authenticate] as const,
  request: { query: SearchQuerySchema },
  responses: {
    200: {
      description: "A page of hits",
      headers: {
        "Mesh-Complete": { description: '"true", or "false" when some service could not be asked.', schema: { type: "string", enum: ["true", "false"] } },
        "Server-Timing": { description: 'One entry per service call: `crm;dur=12.0;desc="search"`.', schema: { type: "string" } },
      },
      content: { "application/json": { schema: MeshSearchResultSchema } },
    },
    ...problemResponses(401, 422),
  },
});
