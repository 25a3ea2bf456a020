import { z } from "@hono/zod-openapi";

export function newId(): string {
  return crypto.randomUUID();
}

export const IdSchema = z.uuid().openapi({ example: "4b1f2c1e-8e0a-4c5d-9a47-1f3f2b0c9d11" });

export const IdParamSchema = z.object({
  id: IdSchema.openapi({ param: { name: "id", in: "path" } }),
});
