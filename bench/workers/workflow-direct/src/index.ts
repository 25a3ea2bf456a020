// Rows (w3)/(w4): the workflow instance's Durable Object with no gateway in front: the same class
// the gateway exports, reached over RPC with a fixed caller (the demo admin) instead of a verified
// token, so no auth, rate limiting or HTTP routing is measured. Transitions still write the
// object's SQLite history and the D1 index, exactly as through the gateway.
import { IdempotencyStore } from "../../../../workers/gateway/src/limits/idempotency-store";
import type { Caller } from "../../../../workers/gateway/src/workflows/access";
import { WorkflowIndexer } from "../../../../workers/gateway/src/workflows/indexer";
import { WorkflowInstance } from "../../../../workers/gateway/src/workflows/instance";
import { startInstance } from "../../../../workers/gateway/src/workflows/start";
import { workflowQuotas } from "../../../../workers/gateway/src/workflows/quotas";
import { createTemplate } from "../../../../workers/gateway/src/workflows/templates";

export { IdempotencyStore, WorkflowIndexer, WorkflowInstance };

const ORG = "00000000-0000-4000-8000-000000000001";
const ADMIN = "0a000000-0000-4000-8000-0000000000b1";
const caller = (): Caller => ({
  identity: { request_id: crypto.randomUUID(), user_id: ADMIN, client_id: null, organization_id: ORG, roles: ["admin"], permissions: {}, system: false },
  actor: { type: "user", id: ADMIN },
  roles: ["admin"],
  can_update: true,
});

const COUNTER = {
  name: "Bench counter",
  initial_state: "open",
  states: [
    { key: "open", name: "Open", terminal: false },
    { key: "closed", name: "Closed", terminal: true },
  ],
  transitions: [
    { key: "tick", name: "Tick", from: ["open"], to: "open" },
    { key: "close", name: "Close", from: ["open"], to: "closed" },
  ],
};

type BenchEnv = { DB: D1Database; WORKFLOWS: DurableObjectNamespace<WorkflowInstance>; WORKFLOW_INDEX: DurableObjectNamespace<WorkflowIndexer> };

export default {
  async fetch(request: Request, env: BenchEnv): Promise<Response> {
    const url = new URL(request.url);
    // POST /setup?n=100 -> one id a line: one template, n instances.
    if (url.pathname === "/setup" && request.method === "POST") {
      const template = await createTemplate(env.DB, workflowQuotas(env as unknown as Env), ORG, COUNTER, ADMIN, {
        source: "buildly-bench-workflow-direct",
        actortype: "user",
        actorid: ADMIN,
        requestid: null,
      });
      const ids: string[] = [];
      for (let i = 0; i < Number(url.searchParams.get("n") ?? "1"); i++) {
        const c = caller();
        const view = await startInstance(
          env as unknown as Env,
          { organization_id: ORG, template, subject: null, data: {}, created_by: c.actor, request_id: c.identity.request_id, parent_id: null },
          null,
        );
        ids.push(view.id);
      }
      return new Response(`${ids.join("\n")}\n`);
    }
    const m = /^\/v1\/workflows\/instances\/([0-9a-f-]{36})(\/transitions)?$/.exec(url.pathname);
    if (!m) return new Response("not found", { status: 404 });
    const stub = env.WORKFLOWS.getByName(`${ORG}:${m[1]}`);
    const c = caller();
    const result = m[2] ? await stub.transition(ORG, m[1]!, { transition: "tick" }, c) : await stub.get(ORG, m[1]!, c);
    const r = result as { ok: boolean; data?: unknown; error?: { status: number } };
    return Response.json(r.ok ? r.data : r.error, { status: r.ok ? 200 : r.error!.status });
  },
};
