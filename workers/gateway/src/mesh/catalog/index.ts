import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../../types";
import { setServerTiming } from "../calls";
import { meshCatalog } from "./catalog";
import { listMeshModels } from "./catalog.routes";

/** GET /v1/mesh/models: the catalog of every service's models. */
export function registerMeshCatalog(app: OpenAPIHono<GatewayEnv>) {
  return app.openapi(listMeshModels, async (c) => {
    const catalog = await meshCatalog(c);
    const data = [...catalog.models.values()].map(({ service, name, path, title, fields, searchable, personal_data }) => ({
      service,
      name,
      path,
      title,
      fields,
      searchable,
      personal_data,
    }));
    const complete = Object.keys(catalog.errors).length === 0;
    c.header("mesh-complete", String(complete));
    setServerTiming(c);
    return c.json(complete ? { data } : { data, errors: catalog.errors }, 200);
  });
}
