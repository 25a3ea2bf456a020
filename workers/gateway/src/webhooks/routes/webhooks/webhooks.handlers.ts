import type { RouteHandler } from "@hono/zod-openapi";
import { actorOf, relaySoon } from "../../../events/emit";
import { currentPrincipal } from "../../../identity/authenticate";
import type { GatewayEnv } from "../../../types";
import * as store from "../../store";
import type * as routes from "./webhooks.routes";

export const create: RouteHandler<typeof routes.createWebhook, GatewayEnv> = async (c) => {
  const { organization_id, subject } = currentPrincipal(c);
  const webhook = await store.createWebhook(c.env, organization_id, c.req.valid("json"), subject, actorOf(c));
  relaySoon(c);
  c.header("location", `/v1/webhooks/${webhook.id}`);
  return c.json(webhook, 201);
};

export const list: RouteHandler<typeof routes.listWebhooks, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { limit, cursor } = c.req.valid("query");
  return c.json(await store.listWebhooks(c.env.DB, organization_id, limit, cursor), 200);
};

export const get: RouteHandler<typeof routes.getWebhook, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const row = await store.getRow(c.env.DB, organization_id, c.req.valid("param").id);
  if (!row) throw store.webhookNotFound();
  return c.json(store.toWebhook(row), 200);
};

export const update: RouteHandler<typeof routes.updateWebhook, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const webhook = await store.updateWebhook(c.env, organization_id, c.req.valid("param").id, c.req.valid("json"), actorOf(c));
  relaySoon(c);
  return c.json(webhook, 200);
};

export const remove: RouteHandler<typeof routes.deleteWebhook, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  await store.deleteWebhook(c.env.DB, organization_id, c.req.valid("param").id, actorOf(c));
  relaySoon(c);
  return c.body(null, 204);
};

export const rotate: RouteHandler<typeof routes.rotateSecret, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const webhook = await store.rotateSecret(c.env, organization_id, c.req.valid("param").id, actorOf(c));
  relaySoon(c);
  return c.json(webhook, 200);
};
