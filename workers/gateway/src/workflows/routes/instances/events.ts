import type { Context, MiddlewareHandler } from "hono";
import { decodeJwt } from "jose";
import { ApiError } from "@buildly/shared";
import { currentPrincipal } from "../../../identity/authenticate";
import { authConfig } from "../../../identity/config";
import type { GatewayEnv } from "../../../types";
import { instanceStub } from "../../access";

const TOKEN = /^[A-Za-z0-9\-._~+/]+=*$/;

/**
 * Browsers cannot set headers on a WebSocket, so the events route also takes the token as a
 * subprotocol: `Sec-WebSocket-Protocol: bearer, <token>`. It becomes the Authorization header the
 * usual `authenticate` checks. (Subprotocols are request headers, so they stay out of URLs and
 * their logs, unlike a `?access_token=`.)
 */
export const bearerFromSubprotocol: MiddlewareHandler<GatewayEnv> = async (c, next) => {
  const offered = (c.req.header("sec-websocket-protocol") ?? "").split(",").map((p) => p.trim());
  const at = offered.indexOf("bearer");
  const token = at >= 0 ? offered[at + 1] : undefined;
  if (!c.req.header("authorization") && token && TOKEN.test(token)) {
    const headers = new Headers(c.req.raw.headers);
    headers.set("authorization", `Bearer ${token}`);
    c.req.raw = new Request(c.req.raw, { headers });
  }
  await next();
};

/** The verified token's expiry, so the instance can close the socket when it runs out. */
function tokenExpiry(c: Context<GatewayEnv>): number {
  const token = /^Bearer\s+(\S+)$/i.exec(c.req.header("authorization") ?? "")?.[1];
  try {
    // Already verified by authenticate; this only reads its claims.
    const { exp } = decodeJwt(token!);
    return typeof exp === "number" ? exp : 0;
  } catch {
    return 0;
  }
}

/** Hands the upgrade to the instance's Durable Object, which holds the socket (hibernation API). */
export async function watch(c: Context<GatewayEnv>, id: string): Promise<Response> {
  if (c.req.header("upgrade")?.toLowerCase() !== "websocket") {
    throw new ApiError(426, "This endpoint speaks WebSocket only: send Upgrade: websocket.", { headers: { upgrade: "websocket" } });
  }
  const principal = currentPrincipal(c);
  const { organization_id } = principal;
  const headers = new Headers({
    upgrade: "websocket",
    "x-workflow-organization": organization_id,
    "x-workflow-instance": id,
    "x-request-id": c.get("requestId"),
    "x-token-exp": String(tokenExpiry(c)),
    // Who watches, so the instance asks before each delivery whether they still may read.
    "x-principal": JSON.stringify(principal),
    "x-own-token": principal.issuer === authConfig(c.env, c.req.url).issuer ? "1" : "0",
  });
  if ((c.req.header("sec-websocket-protocol") ?? "").split(",").some((p) => p.trim() === "bearer")) headers.set("x-websocket-protocol", "bearer");
  const res = await instanceStub(c.env, organization_id, id).fetch("https://workflow.internal/events", { headers });
  // A fresh Response: the middlewares add headers, and the object's answer has immutable ones.
  return new Response(res.body, { status: res.status, headers: new Headers(res.headers), webSocket: res.webSocket });
}
