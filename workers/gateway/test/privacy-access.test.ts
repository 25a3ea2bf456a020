// Access archives, erasure of the user account, and resuming an interrupted request (issue 23, docs/privacy.md).
import { env } from "cloudflare:workers";
import { unzipSync } from "fflate";
import { describe, expect, it } from "vitest";
import { advance } from "../src/privacy/runner";
import { unstartedErasure, untilDone } from "./privacy-helpers";
import { PASSWORD, bearer, call, expectProblem, json, login, registerOrganization, type Account } from "./helpers";
import { created } from "./mesh-helpers";

/** A user of `a`'s organization who is also a contact with a deal, an appointment and a linked file (its bytes given). */
async function userAndContact(a: Account, bytes: string) {
  const t = a.access_token;
  const email = `ada.${crypto.randomUUID().slice(0, 8)}@engine.example`;
  const user = await created(t, "/v1/users", { email, name: "Ada Lovelace", password: PASSWORD, roles: ["viewer"] });
  await login(email); // a sign-in: its session is part of the account's history
  const contact = await created(t, "/v1/crm/contacts", { first_name: "Ada", last_name: "Lovelace", email });
  const deal = await created(t, "/v1/crm/deals", { title: "Engine", amount: 1, currency: "EUR", contact_id: contact.id });
  const res = await call("/v1/documents/files?name=notes.txt", bearer(t, { method: "POST", headers: { "content-type": "text/plain" }, body: bytes }));
  expect(res.status).toBe(201);
  const file = await res.json<any>();
  await created(t, "/v1/mesh/joins", { relationship: "documents", origin_id: contact.id, related_id: file.id });
  return { email, user, contact, deal, file };
}

const post = (a: Account, body: unknown) => call("/v1/privacy/requests", bearer(a.access_token, json("POST", body)));

describe("access requests and the user account", () => {
  it("archives the person (records, file bytes, identity, audit) behind a signed link; erasure removes the account and the archive", async () => {
    const admin = await registerOrganization("Access");
    // Over one multipart part (8 MiB), so the archive is uploaded in two parts of R2's rules.
    const bytes = `notes of ${crypto.randomUUID()}\n`.repeat(200_000);
    const p = await userAndContact(admin, bytes);
    const consent = await created(admin.access_token, "/v1/privacy/consents", {
      contact_id: p.contact.id,
      purpose: "newsletter",
      status: "given",
      source: "web_form",
      at: "2026-01-02T10:00:00Z",
    });
    // The contact's and the consent's events reach the audit trail through the queue: the archive is asked once they are there.
    for (let i = 0; ; i++) {
      const n = await env.DB.prepare("SELECT count(*) AS n FROM audit_entries WHERE organization_id = ?1 AND subject = ?2")
        .bind(admin.organization_id, p.contact.id)
        .first<number>("n");
      if (n! >= 2) break;
      if (i === 200) throw new Error("the contact's events never reached the audit trail");
      await new Promise((r) => setTimeout(r, 100));
    }
    const access = await (await post(admin, { type: "access", subject: { email: p.email } })).json<any>();
    expect(access).toMatchObject({ type: "access", status: "pending", archive: null });
    const done = await untilDone(admin, access.id);
    // The test platform's "broken" service cannot be read: the request is failed, never a silent
    // partial success, and the archive holds everything else (its manifest says what is missing).
    expect(done).toMatchObject({ status: "failed", error: { remaining: [{ service: "broken", phase: "archive" }] } });
    expect(done.steps.find((s: any) => s.service === "documents" && s.model === "files")).toMatchObject({ count: 1, objects: 1 });
    expect(done.archive.url).toMatch(new RegExp(`^/v1/privacy/requests/${access.id}/archive\\?expires=\\d+&signature=[\\w-]{43}$`));

    const res = await call(done.archive.url);
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toBe("application/zip");
    expect(res.headers.get("cache-control")).toBe("no-store");
    const zipBytes = new Uint8Array(await res.arrayBuffer());
    expect(zipBytes.byteLength).toBe(done.archive.bytes);
    const hex = (b: ArrayBuffer) => [...new Uint8Array(b)].map((x) => x.toString(16).padStart(2, "0")).join("");
    expect(hex(await crypto.subtle.digest("SHA-256", zipBytes))).toBe(done.archive.sha256);
    const files = unzipSync(zipBytes);
    const read = (path: string) => JSON.parse(new TextDecoder().decode(files[path]));
    const manifest = read("manifest.json");
    expect(manifest).toMatchObject({ format: "buildly-privacy-archive/1", request_id: access.id, complete: false, failures: [{ service: "broken" }] });
    // Every entry is in the zip with the size and hash the manifest states.
    expect(Object.keys(files).sort()).toEqual([...manifest.entries.map((e: any) => e.path), "manifest.json"].sort());
    for (const e of manifest.entries) {
      expect(files[e.path]!.byteLength, e.path).toBe(e.bytes);
      expect(hex(await crypto.subtle.digest("SHA-256", files[e.path]!)), e.path).toBe(e.sha256);
    }
    expect(read("services/crm/contacts.json").records.map((r: any) => r.id)).toEqual([p.contact.id]);
    expect(read("services/crm/deals.json").records.map((r: any) => r.id)).toEqual([p.deal.id]);
    expect(read("services/privacy/consents.json").records).toMatchObject([{ id: consent.id, purpose: "newsletter", status: "given" }]);
    const body = files[`files/documents/files/${p.file.id}/notes.txt`]!;
    expect(hex(await crypto.subtle.digest("SHA-256", body))).toBe(hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(bytes))));
    expect(read("identity/account.json")).toMatchObject([{ id: p.user.id, email: p.email, name: "Ada Lovelace" }]);
    expect(read("identity/memberships.json")).toMatchObject([{ user_id: p.user.id, role: "viewer" }]);
    expect(read("identity/sign_ins.json").length).toBeGreaterThanOrEqual(1);
    expect(JSON.stringify(read("identity/account.json"))).not.toContain("password");
    const audit = read("events/audit_entries.json") as any[];
    expect(audit.some((e) => e.subject === p.contact.id || e.subject === p.user.id)).toBe(true);

    // The link is the credential: a changed signature, another request's id, an expired time are refused alike.
    const url = new URL(done.archive.url, "https://gateway.example");
    const sig = url.searchParams.get("signature")!;
    // The same person named by their user id: found in the services by the account's email.
    const other = await (await post(admin, { type: "access", subject: { user_id: p.user.id } })).json<any>();
    for (const bad of [
      // The first character, not the last: the last of 43 carries two padding bits, so A and B there decode alike.
      `${url.pathname}?expires=${url.searchParams.get("expires")}&signature=${sig.startsWith("A") ? "B" : "A"}${sig.slice(1)}`,
      `/v1/privacy/requests/${other.id}/archive${url.search}`,
      `${url.pathname}?expires=${Number(url.searchParams.get("expires")) + 1}&signature=${sig}`,
      `${url.pathname}?expires=1000&signature=${sig}`,
    ]) {
      await expectProblem(await call(bad), 403);
    }
    await expectProblem(await call(`${url.pathname}?expires=soon&signature=${sig}`), 422);
    const byId = await untilDone(admin, other.id);
    expect(byId.steps.find((s: any) => s.service === "crm" && s.model === "contacts")).toMatchObject({ count: 1 });
    // Deleted once the person has their copy: its link then finds nothing; another organization cannot delete it.
    const stranger = await registerOrganization("Access stranger");
    await expectProblem(await call(`/v1/privacy/requests/${other.id}/archive`, bearer(stranger.access_token, { method: "DELETE" })), 404);
    const byIdLink = byId.archive.url;
    expect((await call(`/v1/privacy/requests/${other.id}/archive`, bearer(admin.access_token, { method: "DELETE" }))).status).toBe(204);
    await expectProblem(await call(byIdLink), 404);
    expect(await env.PRIVACY_ARCHIVES.get(`access/${admin.organization_id}/${other.id}.zip`)).toBeNull();
    await expectProblem(await call(`/v1/privacy/requests/${other.id}/archive`, bearer(admin.access_token, { method: "DELETE" })), 404);

    // Erasure: the account and everything hanging off it, in this organization; the archive goes too.
    const preview = await untilDone(admin, (await (await post(admin, { type: "erasure", subject: { email: p.email }, dry_run: true })).json<any>()).id);
    const line = (r: any, model: string) => r.steps.find((s: any) => s.service === "gateway" && s.model === model);
    expect(line(preview, "users")).toMatchObject({ action: "delete", ids: [p.user.id], count: 1 });
    expect(line(preview, "user_roles")).toMatchObject({ count: 1 });
    expect(await env.DB.prepare("SELECT count(*) AS n FROM users WHERE id = ?1").bind(p.user.id).first("n")).toBe(1);
    const erased = await untilDone(admin, (await (await post(admin, { type: "erasure", subject: { email: p.email } })).json<any>()).id);
    expect(line(erased, "users")).toMatchObject({ ids: [p.user.id], count: 1 });
    expect(line(erased, "login_sessions")?.count ?? line(erased, "refresh_tokens")?.count).toBeGreaterThanOrEqual(1);
    for (const table of ["users", "user_roles", "refresh_tokens", "login_sessions", "outbox"]) {
      const column = table === "users" ? "id" : table === "outbox" ? "subject" : "user_id";
      expect(await env.DB.prepare(`SELECT count(*) AS n FROM ${table} WHERE ${column} = ?1`).bind(p.user.id).first("n"), table).toBe(0);
    }
    await expect(login(p.email)).rejects.toThrow();
    expect(await env.PRIVACY_ARCHIVES.get(`access/${admin.organization_id}/${access.id}.zip`)).toBeNull();
    const after = await (await call(`/v1/privacy/requests/${access.id}`, bearer(admin.access_token))).json<any>();
    // (Its subject stays while the erasure is failed, here by the "broken" service: a rerun needs it.)
    expect(after.archive).toBeNull();
    await expectProblem(await call(done.archive.url), 404);
  });

  it("resumes an interrupted erasure where it stopped: no step redone or skipped", async () => {
    const admin = await registerOrganization("Resume");
    const p = await userAndContact(admin, "resume");
    const id = await unstartedErasure(admin, { email: p.email });
    const row = () => env.DB.prepare("SELECT phase, status, steps FROM privacy_requests WHERE id = ?1").bind(id).first<any>();
    // Runs stopped after every phase (as an eviction between phases would): each continues from the saved phase.
    const phases: string[] = [];
    for (let i = 0; i < 100; i++) {
      if (await advance(env, id, 1)) break;
      phases.push((await row()).phase);
    }
    const services = phases.filter((ph) => ph.startsWith("service:"));
    expect(phases.slice(0, services.length + 2)).toEqual([...services, "identity", "joins"]);
    expect(new Set(phases).size).toBe(phases.length); // no phase entered twice
    const final = await row();
    expect(final.status).toBe("failed"); // the test platform's "broken" service
    const steps = JSON.parse(final.steps) as any[];
    const keys = steps.map((s) => `${s.service}.${s.model}`);
    expect(new Set(keys).size).toBe(keys.length); // one line per service and model: none redone
    expect(steps.find((s) => s.model === "contacts")).toMatchObject({ ids: [p.contact.id] });
    expect(steps.find((s) => s.model === "files")).toMatchObject({ ids: [p.file.id], objects_deleted: 1 });
    expect(steps.find((s) => s.model === "users")).toMatchObject({ ids: [p.user.id], count: 1 });
    expect(steps.find((s) => s.model === "mesh_joins")).toMatchObject({ count: 1 });
    expect(steps.some((s) => s.model === "audit_entries")).toBe(true);
    // A run after the end changes nothing.
    expect(await advance(env, id, 1)).toBe(true);
    expect((await row()).steps).toBe(final.steps);
  });
});
