// Shared by the privacy tests: waiting for a subject request, and one written without its runner.
import { env } from "cloudflare:workers";
import { expect } from "vitest";
import { newId, nowIso } from "@buildly/shared";
import { bearer, call, type Account } from "./helpers";

/** Polls GET /v1/privacy/requests/{id} until the request has completed or failed. */
export async function untilDone(a: Account, id: string): Promise<any> {
  for (let i = 0; i < 300; i++) {
    const res = await call(`/v1/privacy/requests/${id}`, bearer(a.access_token));
    expect(res.status).toBe(200);
    const body = await res.json<any>();
    if (body.status === "completed" || body.status === "failed") return body;
    await new Promise((r) => setTimeout(r, 100));
  }
  throw new Error("the request never finished");
}

/**
 * An erasure request written as the POST writes it, without starting its Durable Object: the test
 * is the runner (it calls `advance` itself). Answers the request's id.
 */
export async function unstartedErasure(admin: Account, subject: Record<string, string>): Promise<string> {
  const id = newId();
  await env.DB.prepare(
    `INSERT INTO privacy_requests (id, organization_id, type, dry_run, status, subject, phase, steps, requested_by, created_at, updated_at)
     VALUES (?1, ?2, 'erasure', 0, 'pending', ?3, 'resolve', '[]', ?4, ?5, ?5)`,
  )
    .bind(id, admin.organization_id, JSON.stringify(subject), admin.user_id, nowIso())
    .run();
  return id;
}
