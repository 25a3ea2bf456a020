import type { RouteHandler } from "@hono/zod-openapi";
import { ApiError, decodeCursor, invalidCursor } from "@buildly/shared";
import { currentPrincipal } from "../../../identity/authenticate";
import type { GatewayEnv } from "../../../types";
import { callerOf, instanceStub, unwrap } from "../../access";
import { listInstances } from "../../instance-index";
import { checkDataSize, checkSubject, startInstance } from "../../start";
import { getTemplate } from "../../templates";
import { watch } from "./events";
import type { HistoryEntry, InstanceView } from "../../schemas";
import type * as routes from "./instances.routes";

type HistoryPage = { data: HistoryEntry[]; next_cursor: string | null };

export const create: RouteHandler<typeof routes.createInstance, GatewayEnv> = async (c) => {
  const caller = await callerOf(c);
  const input = c.req.valid("json");
  const data = input.data ?? {};
  checkDataSize(c.env, data);
  const template = await getTemplate(c.env.DB, caller.identity.organization_id, input.template_id);
  if (!template) {
    throw new ApiError(422, "No workflow template of this organization has this id.", { errors: [{ path: "template_id", message: "Does not exist" }] });
  }
  if (input.subject) await checkSubject(c.env, caller.identity, input.subject);
  const instance = await startInstance(
    c.env,
    {
      organization_id: caller.identity.organization_id,
      template,
      subject: input.subject ?? null,
      data,
      created_by: caller.actor,
      request_id: caller.identity.request_id,
      parent_id: null,
    },
    caller,
  );
  c.header("location", `/v1/workflows/instances/${instance.id}`);
  return c.json(instance, 201);
};

export const list: RouteHandler<typeof routes.listInstances, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { limit, cursor, ...filter } = c.req.valid("query");
  return c.json(await listInstances(c.env.DB, organization_id, filter, limit, cursor), 200);
};

export const get: RouteHandler<typeof routes.getInstance, GatewayEnv> = async (c) => {
  const caller = await callerOf(c);
  const { id } = c.req.valid("param");
  return c.json(unwrap<InstanceView>(await instanceStub(c.env, caller.identity.organization_id, id).get(caller.identity.organization_id, id, caller)), 200);
};

export const history: RouteHandler<typeof routes.getHistory, GatewayEnv> = async (c) => {
  const { organization_id } = currentPrincipal(c);
  const { id } = c.req.valid("param");
  const { limit, cursor } = c.req.valid("query");
  const after = decodeCursor(cursor);
  if (after && (after.id !== id || !/^\d+$/.test(after.k))) {
    throw invalidCursor();
  }
  const page = unwrap<HistoryPage>(await instanceStub(c.env, organization_id, id).history(organization_id, id, after ? Number(after.k) : 0, limit));
  return c.json(page, 200);
};

export const transition: RouteHandler<typeof routes.takeTransition, GatewayEnv> = async (c) => {
  const caller = await callerOf(c);
  const { id } = c.req.valid("param");
  const org = caller.identity.organization_id;
  return c.json(unwrap<InstanceView>(await instanceStub(c.env, org, id).transition(org, id, c.req.valid("json"), caller)), 200);
};

export const events: RouteHandler<typeof routes.watchInstance, GatewayEnv> = async (c) => watch(c, c.req.valid("param").id) as never;
