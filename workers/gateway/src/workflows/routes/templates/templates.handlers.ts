import type { RouteHandler } from "@hono/zod-openapi";
import { currentPrincipal } from "../../../identity/authenticate";
import { identityFor } from "../../../upstream/identity-context";
import type { GatewayEnv } from "../../../types";
import { workflowQuotas } from "../../quotas";
import * as store from "../../templates";
import type * as routes from "./templates.routes";

export const create: RouteHandler<typeof routes.createTemplate, GatewayEnv> = async (c) => {
  const { organization_id, subject } = currentPrincipal(c);
  const input = c.req.valid("json");
  const quotas = workflowQuotas(c.env);
  store.checkTemplateSize(quotas, input);
  await store.checkTemplate(c.env, identityFor(c), input);
  const template = await store.createTemplate(c.env.DB, quotas, organization_id, input, subject);
  c.header("location", `/v1/workflows/templates/${template.id}`);
  return c.json(template, 201);
};

export const list: RouteHandler<typeof routes.listTemplates, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { limit, cursor } = c.req.valid("query");
  return c.json(await store.listTemplates(c.env.DB, organization_id, limit, cursor), 200);
};

export const get: RouteHandler<typeof routes.getTemplate, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const template = await store.getTemplate(c.env.DB, organization_id, c.req.valid("param").id, c.req.valid("query").version);
  if (!template) throw store.templateNotFound();
  return c.json(template, 200);
};

export const update: RouteHandler<typeof routes.updateTemplate, GatewayEnv> = async (c) => {
  const { organization_id, subject } = currentPrincipal(c);
  const { id } = c.req.valid("param");
  if (!(await store.getTemplate(c.env.DB, organization_id, id))) throw store.templateNotFound();
  const input = c.req.valid("json");
  const quotas = workflowQuotas(c.env);
  store.checkTemplateSize(quotas, input);
  await store.checkTemplate(c.env, identityFor(c), input, id);
  return c.json(await store.addVersion(c.env.DB, quotas, organization_id, id, input, subject), 200);
};

export const remove: RouteHandler<typeof routes.deleteTemplate, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  await store.deleteTemplate(c.env.DB, organization_id, c.req.valid("param").id);
  return c.body(null, 204);
};
