// Scenario (e): /v1/crm/<path> -> env.CRM.fetch(request), the identity in its header. Nothing else.
// The call is the one the gateway's `forward` (workers/gateway/src/upstream/proxy.ts) makes for
// row (c)'s reader, the demo admin, so that (c) against (e) is the gateway's own cost and (e)
// against (b) the hop's: the same binding and call (callService from packages/shared: the binding's
// fetch, the identity context in IDENTITY_CONTEXT_HEADER), a Request with the header set the gateway
// sends (the client's headers but Host, a request id, the trace context and the X-Forwarded-*
// trio; no X-Forwarded-For, as the bench sends no trusted client IP header), and the identity
// context of the same shape (the admin's user id and role, every service's permissions, a
// fresh traceparent per call, as the gateway's request trace gives one).
import { callService, PERMISSION_ACTIONS, type IdentityContextInput, type LogicServiceRpc } from "../../../../packages/shared/src";

const PREFIX = "/v1/crm";
/** The services the gateway registers (its vars.SERVICES): the admin role's `*` gives each every action. */
const SERVICES = ["crm", "documents", "appointments"];
const IDENTITY: Omit<IdentityContextInput, "request_id" | "traceparent"> = {
  user_id: "0a000000-0000-4000-8000-0000000000b1",
  client_id: null,
  organization_id: "00000000-0000-4000-8000-000000000001",
  roles: ["admin"],
  permissions: Object.fromEntries(SERVICES.map((s) => [s, [...PERMISSION_ACTIONS]])),
  system: false,
};

interface Env {
  CRM: LogicServiceRpc;
}

const hex = (bytes: number) => Array.from(crypto.getRandomValues(new Uint8Array(bytes)), (b) => b.toString(16).padStart(2, "0")).join("");

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    const rest = url.pathname.startsWith(PREFIX) ? url.pathname.slice(PREFIX.length) || "/" : url.pathname;
    const requestId = crypto.randomUUID();
    const traceparent = `00-${hex(16)}-${hex(8)}-00`;
    const headers = new Headers();
    for (const [name, value] of request.headers) if (name !== "host") headers.set(name, value);
    headers.set("x-request-id", requestId);
    headers.set("traceparent", traceparent);
    headers.set("x-forwarded-host", url.host);
    headers.set("x-forwarded-proto", url.protocol.slice(0, -1));
    headers.set("x-forwarded-prefix", PREFIX);
    const body = request.method === "GET" || request.method === "HEAD" ? null : request.body;
    const target = new Request(`https://crm.internal${rest}${url.search}`, { method: request.method, headers, body });
    return callService(env.CRM, target, { ...IDENTITY, request_id: requestId, traceparent });
  },
};
