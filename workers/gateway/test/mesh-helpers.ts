import { expect } from "vitest";
import { PASSWORD, bearer, call, json, login } from "./helpers";

/** Calls the gateway with a token. */
export const as =
  (token: string) =>
  (path: string, init: RequestInit = {}) =>
    call(path, bearer(token, init));

/** A user of the admin's organization holding a new role with exactly `permissions`, logged in. */
export async function userWith(adminToken: string, permissions: Record<string, string[]>): Promise<string> {
  const role = `r${crypto.randomUUID().replace(/-/g, "").slice(0, 20)}`;
  const created = await call("/v1/roles", bearer(adminToken, json("POST", { name: role, permissions })));
  expect(created.status, await created.clone().text()).toBe(201);
  const email = `mesh-${crypto.randomUUID()}@example.com`;
  const user = await call("/v1/users", bearer(adminToken, json("POST", { email, name: "Mesh", password: PASSWORD, roles: [role] })));
  expect(user.status, await user.clone().text()).toBe(201);
  return (await login(email)).access_token;
}

/** POST a JSON body and return the created record, failing loudly otherwise. */
export async function created(token: string, path: string, body: unknown): Promise<any> {
  const res = await as(token)(path, json("POST", body));
  if (res.status !== 201) throw new Error(`POST ${path} answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** Uploads a small text file through the gateway. */
export async function uploadedFile(token: string, name: string): Promise<any> {
  const res = await as(token)(`/v1/documents/files?name=${encodeURIComponent(name)}`, {
    method: "POST",
    headers: { "content-type": "text/plain", "content-length": "5" },
    body: "hello",
  });
  if (res.status !== 201) throw new Error(`upload answered ${res.status}: ${await res.text()}`);
  return res.json();
}

/** The Server-Timing entries of a response, as [service, rpc method] pairs (each with a duration). */
export function timings(res: Response): [string, string][] {
  const header = res.headers.get("server-timing");
  if (!header) return [];
  return header.split(", ").map((entry) => {
    const m = /^([a-z][a-z0-9-]*);dur=\d+(\.\d+)?;desc="([a-zA-Z]+)"$/.exec(entry);
    if (!m) throw new Error(`not a Server-Timing entry of ours: ${entry}`);
    return [m[1]!, m[3]!];
  });
}

let slot = 0;
/** A one-hour slot of its own, so appointments of different tests never overlap. */
export function nextSlot() {
  const start = Date.UTC(2028, 0, 1) + slot++ * 3600_000 + Math.floor(Math.random() * 1e6) * 3600_000;
  return { start: new Date(start).toISOString(), end: new Date(start + 3600_000).toISOString() };
}
