// Workflows over HTTP: templates, instances in their Durable Objects, timeouts (also across a
// restart of the local platform), actions, child workflows, WebSocket watchers, tenancy.
// Calls go through the SDK (typed from /openapi.json); raw requests remain for file uploads (a
// file's body is its bytes) and the WebSocket watchers (the test checks the subprotocol itself).
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { ApiError, type Client, createClient, paginate, type Schema } from "@buildly/sdk";
import { beforeAll, describe, expect, it } from "vitest";
import { UUID, api, baseUrl, counterTemplate as counter, expectApiError, registerOrg, sdk, tokenFor, unique } from "./helpers";
import { startPlatform } from "./second-platform";

const DEMO_TEMPLATE = "7e0f1a00-0000-4000-8000-000000000001";
const DEMO_INSTANCE = "7e0f1a00-0000-4000-8000-0000000000a1";
const DEMO_FILE = "d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d01";

type Json = Record<string, any>;
type TemplateInput = Schema<"WorkflowTemplateInput">;
type TransitionRequest = Schema<"WorkflowTransitionRequest">;

/** The body of an answer that must have exactly this status. */
async function ok<T>(call: Promise<{ data: T; response: Response }>, status = 200): Promise<T> {
  const { data, response } = await call;
  expect(response.status, JSON.stringify(data)).toBe(status);
  return data;
}

/** The status of an answer, whether the call resolved or rejected with an ApiError. */
async function statusOf(call: Promise<{ response: Response }>): Promise<number> {
  try {
    return (await call).response.status;
  } catch (err) {
    if (err instanceof ApiError) return err.status;
    throw err;
  }
}

const createTemplate = (body: TemplateInput, client: Client = sdk()) => ok(client.withResponse.POST("/v1/workflows/templates", { body }), 201);
const start = (template_id: string, extra: Omit<Schema<"WorkflowInstanceCreate">, "template_id"> = {}, client: Client = sdk()) =>
  ok(client.withResponse.POST("/v1/workflows/instances", { body: { template_id, ...extra } }), 201);
const take = (id: string, body: TransitionRequest, token?: string) =>
  (token ? sdk(token) : sdk()).withResponse.POST("/v1/workflows/instances/{id}/transitions", { params: { path: { id } }, body });
const getInstance = (id: string, client: Client = sdk()) => ok(client.withResponse.GET("/v1/workflows/instances/{id}", { params: { path: { id } } }));

async function history(id: string) {
  const out: Schema<"WorkflowHistoryEntry">[] = [];
  for await (const entry of paginate((cursor) =>
    sdk().GET("/v1/workflows/instances/{id}/history", { params: { path: { id }, query: { limit: 100, cursor } } }),
  ))
    out.push(entry);
  return out;
}

/** A file uploaded as the demo admin (raw: a file's body is its bytes, which the JSON client does not send). */
async function upload(name: string, body: string): Promise<Schema<"Documents_File">> {
  const res = await api(`/v1/documents/files?name=${name}`, { method: "POST", headers: { "content-type": "text/plain" }, body });
  const text = await res.text();
  expect(res.status, text).toBe(201);
  return JSON.parse(text) as Schema<"Documents_File">;
}

async function until<T>(probe: () => Promise<T | undefined>, ms: number, what: string): Promise<T> {
  const deadline = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

let editor: string;
let viewer: string;
beforeAll(async () => {
  [editor, viewer] = await Promise.all([tokenFor("editor@demo.buildly.dev"), tokenFor("viewer@demo.buildly.dev")]);
});

describe("demo data", () => {
  it("holds the document-approval template and a running instance about the demo file", async () => {
    const template = await ok(sdk().withResponse.GET("/v1/workflows/templates/{id}", { params: { path: { id: DEMO_TEMPLATE } } }));
    expect(template).toMatchObject({ name: "Document approval", version: 1, initial_state: "draft" });
    const instance = await getInstance(DEMO_INSTANCE);
    expect(instance).toMatchObject({
      template_id: DEMO_TEMPLATE,
      template_version: 1,
      terminal: false,
      subject: { service: "documents", model: "files", id: DEMO_FILE },
      data: { title: "Statement of work" },
    });
    const listed = await ok(sdk().withResponse.GET("/v1/workflows/instances", { params: { query: { template_id: DEMO_TEMPLATE, subject_id: DEMO_FILE } } }));
    expect(listed.data.map((r) => r.id)).toContain(DEMO_INSTANCE);
    // The seeded definition passes the same checks as one sent through the API.
    const { name, description, initial_state, states, transitions } = template;
    expect(description).toEqual(expect.any(String));
    await createTemplate({ name: `${name} (copy)`, description: description ?? undefined, initial_state, states, transitions });
  });

  it("walks through approval as the README does: the file is tagged and a sign-off booked with the contact", async () => {
    const file = await upload("sow-e2e.txt", "scope");
    const demo = await getInstance(DEMO_INSTANCE);
    const i = await start(DEMO_TEMPLATE, { subject: { service: "documents", model: "files", id: file.id }, data: demo.data });
    expect((await ok(take(i.id, { transition: "submit" }, editor))).state).toBe("in_review");
    await expectApiError(take(i.id, { transition: "approve" }, editor), 403);
    const approved = await ok(take(i.id, { transition: "approve", data: { signoff_start: "2026-12-01T10:00:00Z", signoff_end: "2026-12-01T10:30:00Z" } }));
    expect(approved).toMatchObject({ state: "approved", version: 3, terminal: true });
    const tagged = await ok(sdk().withResponse.GET("/v1/documents/files/{id}", { params: { path: { id: file.id } } }));
    expect(tagged.tags).toEqual(expect.arrayContaining(["approved", `contact:${demo.data.contact_id}`]));
    const actions = (await history(i.id))[2]!.actions;
    const appointment = await ok(sdk().withResponse.GET("/v1/appointments/appointments/{id}", { params: { path: { id: actions[1]!.id! } } }));
    expect(appointment).toMatchObject({ title: "Sign-off: Statement of work", attendees: [{ contact_id: demo.data.contact_id }] });
  });
});

describe("templates", () => {
  it("answer 422 naming the problems of a graph", async () => {
    const broken = sdk().POST("/v1/workflows/templates", {
      body: {
        name: "Broken",
        initial_state: "a",
        states: [
          { key: "a", name: "A" },
          { key: "island", name: "Island" },
          { key: "end", name: "End", terminal: true },
        ],
        transitions: [
          { key: "go", name: "Go", from: ["a"], to: "end" },
          { key: "again", name: "Again", from: ["end"], to: "a" },
          { key: "tag", name: "Tag", from: ["a"], to: "end", actions: [{ type: "create", service: "crm", model: "whales", body: {} }] },
        ],
      },
    });
    const p = await expectApiError(broken, 422);
    expect(p.problem.errors).toEqual([
      { path: "transitions.1.from.0", message: "Transition again leaves the terminal state end" },
      { path: "transitions.2.actions.0.model", message: "The crm service has no model whales" },
    ]);
    const unreachable = sdk().POST("/v1/workflows/templates", { body: { ...counter(), states: [...counter().states, { key: "island", name: "Island" }] } });
    expect((await expectApiError(unreachable, 422)).problem.errors).toEqual([
      { path: "states.2", message: "State island cannot be reached from the initial state open" },
    ]);
    const noEnd = sdk().POST("/v1/workflows/templates", { body: { name: "x", initial_state: "a", states: [{ key: "a", name: "A" }], transitions: [] } });
    expect((await expectApiError(noEnd, 422)).problem.errors).toContainEqual({
      path: "states",
      message: "No terminal state: every workflow needs a state where it ends",
    });
    await expectApiError(sdk(editor).POST("/v1/workflows/templates", { body: counter() }), 403);
  });
});

describe("instances", () => {
  it("go through several steps with role-guarded transitions, and record who took each", async () => {
    const t = await createTemplate({
      name: unique("expense"),
      initial_state: "draft",
      states: [
        { key: "draft", name: "Draft" },
        { key: "submitted", name: "Submitted" },
        { key: "checked", name: "Checked" },
        { key: "paid", name: "Paid", terminal: true },
      ],
      transitions: [
        { key: "submit", name: "Submit", from: ["draft"], to: "submitted" },
        { key: "check", name: "Check", from: ["submitted"], to: "checked", roles: ["editor", "admin"] },
        { key: "pay", name: "Pay", from: ["checked"], to: "paid", roles: ["admin"] },
      ],
    });
    const i = await start(t.id, { data: { amount: 120 } });
    expect(i).toMatchObject({ template_id: t.id, template_version: 1, state: "draft", version: 1, data: { amount: 120 }, subject: null });
    expect(i.id).toMatch(UUID);
    await expectApiError(take(i.id, { transition: "submit" }, viewer), 403);
    expect(await ok(take(i.id, { transition: "submit" }, editor))).toMatchObject({ state: "submitted", version: 2 });
    expect((await getInstance(i.id, sdk(editor))).available_transitions).toEqual([{ key: "check", name: "Check", to: "checked" }]);
    await expectApiError(take(i.id, { transition: "pay" }), 409);
    expect(await ok(take(i.id, { transition: "check", expected_version: 2 }, editor))).toMatchObject({ state: "checked", version: 3 });
    expect((await getInstance(i.id, sdk(editor))).available_transitions).toEqual([]);
    await expectApiError(take(i.id, { transition: "pay" }, editor), 403);
    await expectApiError(take(i.id, { transition: "pay", expected_version: 2 }), 409);
    expect(await ok(take(i.id, { transition: "pay", expected_version: 3, data: { ref: "T-1" } }))).toMatchObject({ state: "paid", version: 4, terminal: true });
    const h = await history(i.id);
    expect(h.map((e) => [e.version, e.transition, e.from, e.to])).toEqual([
      [1, null, null, "draft"],
      [2, "submit", "draft", "submitted"],
      [3, "check", "submitted", "checked"],
      [4, "pay", "checked", "paid"],
    ]);
    expect(h[3]).toMatchObject({ actor: { type: "user" }, data: { ref: "T-1" }, request_id: expect.stringMatching(/\S/), time: expect.stringMatching(/Z$/) });
    expect(h[2]!.actor.id).not.toBe(h[3]!.actor.id);
  });

  it("serialize 50 concurrent transitions: every allowed one succeeds once, version and history exact", async () => {
    const t = await createTemplate(counter());
    const i = await start(t.id);
    const results = await Promise.all(Array.from({ length: 50 }, (_, n) => take(i.id, { transition: "tick", data: { n } })));
    expect(results.map((r) => r.response.status)).toEqual(Array(50).fill(200));
    expect(results.map((r) => r.data.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, n) => n + 2));
    // Fifty more, all expecting version 51: one wins, 49 get 409.
    const raced = await Promise.all(Array.from({ length: 50 }, () => statusOf(take(i.id, { transition: "close", expected_version: 51 }))));
    expect(raced.sort()).toEqual([200, ...Array(49).fill(409)]);
    const h = await history(i.id);
    expect(h.map((e) => e.version)).toEqual(Array.from({ length: 52 }, (_, n) => n + 1));
    expect(new Set(h.slice(1, 51).map((e) => e.data.n)).size).toBe(50);
    expect(await getInstance(i.id)).toMatchObject({ state: "closed", version: 52 });
  });

  it("leave the state unchanged when an action fails, and return the service's error", async () => {
    const file = await upload("wf-fail.txt", "x");
    const fileTags = async () => (await ok(sdk().withResponse.GET("/v1/documents/files/{id}", { params: { path: { id: file.id } } }))).tags;
    const t = await createTemplate({
      ...counter(),
      transitions: [
        {
          key: "tag",
          name: "Tag",
          from: ["open"],
          to: "closed",
          actions: [{ type: "update", service: "documents", model: "files", id: "{{subject.id}}", body: { tags: ["{{data.tag}}"] } }],
        },
      ],
    });
    const i = await start(t.id, { subject: { service: "documents", model: "files", id: file.id } });
    const failed = await expectApiError(take(i.id, { transition: "tag", data: { tag: "no,commas" } }), 424);
    expect(failed.problem).toMatchObject({ action: { index: 0, service: "documents", model: "files", status: 422 }, cause: { status: 422 } });
    expect(await getInstance(i.id)).toMatchObject({ state: "open", version: 1, data: {} });
    expect(await history(i.id)).toHaveLength(1);
    expect(await fileTags()).toEqual([]);
    expect(await ok(take(i.id, { transition: "tag", data: { tag: "fine" } }))).toMatchObject({ state: "closed", version: 2 });
    expect(await fileTags()).toEqual(["fine"]);
  });

  it("a child workflow started by an action completes its parent's waiting step", async () => {
    const child = await createTemplate({ ...counter(), transitions: [counter().transitions[1]!] });
    const parent = await createTemplate({
      name: unique("parent"),
      initial_state: "new",
      states: [
        { key: "new", name: "New" },
        { key: "waiting", name: "Waiting for the check", wait_for_children: true, on_children_done: "finish" },
        { key: "done", name: "Done", terminal: true },
      ],
      transitions: [
        {
          key: "delegate",
          name: "Delegate",
          from: ["new"],
          to: "waiting",
          actions: [{ type: "start_workflow", template_id: child.id, data: { for: "{{instance.id}}" } }],
        },
        { key: "finish", name: "Finish", from: ["waiting"], to: "done" },
      ],
    });
    const p = await start(parent.id);
    const waiting = await ok(take(p.id, { transition: "delegate" }));
    expect(waiting).toMatchObject({ state: "waiting", children: [{ template_id: child.id, state: "open", terminal: false }] });
    const c = await getInstance(waiting.children[0]!.id);
    expect(c).toMatchObject({ parent_id: p.id, data: { for: p.id } });
    await ok(take(c.id, { transition: "close" }));
    const done = await until(
      async () => {
        const r = await getInstance(p.id);
        return r.state === "done" ? r : undefined;
      },
      10_000,
      "the parent to move on",
    );
    expect(done).toMatchObject({ version: 3, children: [{ id: c.id, state: "closed", terminal: true }] });
    expect((await history(p.id))[2]).toMatchObject({ transition: "finish", actor: { type: "system", id: null } });
  });

  it("push every transition to a WebSocket watcher (token as a subprotocol, as a browser sends it)", async () => {
    const t = await createTemplate(counter());
    const i = await start(t.id);
    const url = `${baseUrl().replace(/^http/, "ws")}/v1/workflows/instances/${i.id}/events`;
    const ws = new WebSocket(url, ["bearer", viewer]);
    const messages: Json[] = [];
    ws.addEventListener("message", (e) => {
      messages.push(JSON.parse(String(e.data)));
    });
    await new Promise<void>((resolve, reject) => {
      ws.addEventListener("open", () => resolve());
      ws.addEventListener("error", () => reject(new Error("WebSocket failed to open")));
    });
    expect(ws.protocol).toBe("bearer");
    for (let n = 0; n < 5; n++) await ok(take(i.id, { transition: "tick", data: { n } }));
    await Promise.all(Array.from({ length: 5 }, () => take(i.id, { transition: "tick" })));
    await ok(take(i.id, { transition: "close" }));
    await until(async () => (messages.length >= 12 ? true : undefined), 10_000, "12 messages");
    expect(messages[0]).toMatchObject({ type: "snapshot", instance: { id: i.id, version: 1, state: "open" } });
    expect(messages.slice(1).map((m) => m.version)).toEqual(Array.from({ length: 11 }, (_, n) => n + 2));
    expect(messages.slice(1, 6).map((m) => m.data.n)).toEqual([0, 1, 2, 3, 4]);
    expect(messages[11]).toMatchObject({ type: "transition", transition: "close", from: "open", to: "closed", terminal: true });
    ws.close();
    // Without a token there is no socket.
    const refused = new WebSocket(url);
    const outcome = await new Promise<string>((resolve) => {
      refused.addEventListener("open", () => resolve("open"));
      refused.addEventListener("error", () => resolve("error"));
    });
    expect(outcome).toBe("error");
  });

  it("are invisible to a second organization: 404 for its templates and instances", async () => {
    const theirs = sdk((await registerOrg("Other workflows", "another long password", "other")).token);
    await expectApiError(theirs.GET("/v1/workflows/templates/{id}", { params: { path: { id: DEMO_TEMPLATE } } }), 404);
    await expectApiError(theirs.GET("/v1/workflows/instances/{id}", { params: { path: { id: DEMO_INSTANCE } } }), 404);
    await expectApiError(theirs.GET("/v1/workflows/instances/{id}/history", { params: { path: { id: DEMO_INSTANCE } } }), 404);
    await expectApiError(
      theirs.POST("/v1/workflows/instances/{id}/transitions", { params: { path: { id: DEMO_INSTANCE } }, body: { transition: "submit" } }),
      404,
    );
    expect((await ok(theirs.withResponse.GET("/v1/workflows/instances"))).data).toEqual([]);
    expect((await ok(theirs.withResponse.GET("/v1/workflows/templates"))).data).toEqual([]);
    // Their own template and instance work, and are just as invisible to the demo organization.
    const t = await createTemplate(counter(), theirs);
    const i = await start(t.id, {}, theirs);
    await expectApiError(sdk().GET("/v1/workflows/instances/{id}", { params: { path: { id: i.id } } }), 404);
    await expectApiError(sdk().GET("/v1/workflows/templates/{id}", { params: { path: { id: t.id } } }), 404);
    expect((await getInstance(DEMO_INSTANCE)).id).toBe(DEMO_INSTANCE);
  });
});

describe("timeouts", () => {
  it("a state's timeout fires by itself and takes on_timeout, as the system", async () => {
    const t = await createTemplate(counter({ timeout_seconds: 2, on_timeout: "close" }));
    const i = await start(t.id);
    expect(Date.parse(i.timeout_at!) - Date.parse(i.created_at)).toBe(2000);
    const closed = await until(
      async () => {
        const r = await getInstance(i.id);
        return r.state === "closed" ? r : undefined;
      },
      15_000,
      "the timeout",
    );
    expect(closed).toMatchObject({ version: 2, timeout_at: null });
    expect((await history(i.id))[1]).toMatchObject({ transition: "close", actor: { type: "system", id: null } });
  });

  it("still fires after the local platform restarts", async () => {
    const stateDir = mkdtempSync(join(tmpdir(), "buildly-e2e-restart-"));
    // The second platform is not the one checkedFetch knows, so these calls use the SDK's own fetch.
    const connect = (base: string) =>
      createClient({ baseUrl: base, auth: { type: "password", username: "admin@demo.buildly.dev", password: "buildly-demo-password" }, retries: 0 });
    try {
      let platform = await startPlatform(stateDir);
      let client = connect(platform.baseUrl);
      const t = await createTemplate(counter({ timeout_seconds: 3, on_timeout: "close" }), client);
      const i = await start(t.id, {}, client);
      await platform.stop();
      // Down past the deadline: the alarm is due while nothing runs.
      await new Promise((r) => setTimeout(r, Math.max(0, Date.parse(i.timeout_at!) - Date.now()) + 500));
      platform = await startPlatform(stateDir);
      try {
        client = connect(platform.baseUrl);
        // The list reads D1 only, so nothing but the alarm wakes the instance's object.
        const listed = await until(
          async () => {
            const r = await ok(client.withResponse.GET("/v1/workflows/instances", { params: { query: { template_id: t.id } } }));
            return r.data[0]?.state === "closed" ? r : undefined;
          },
          30_000,
          "the alarm after the restart",
        );
        expect(listed.data).toMatchObject([{ id: i.id, state: "closed", terminal: true, version: 2 }]);
        const h = await ok(client.withResponse.GET("/v1/workflows/instances/{id}/history", { params: { path: { id: i.id } } }));
        expect(h.data[1]).toMatchObject({ transition: "close", actor: { type: "system" } });
      } finally {
        await platform.stop();
      }
    } finally {
      rmSync(stateDir, { recursive: true, force: true });
    }
  }, 900_000);
});
