// Workflows (src/workflows/): templates in D1, one Durable Object per instance, through the gateway.
import { runDurableObjectAlarm } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { beforeAll, describe, expect, it } from "vitest";
import { PASSWORD, bearer, call, json, login, expectProblem, registerOrganization, type Account, ok, waitFor } from "./helpers";
import { COUNTER_TEMPLATE } from "./workflow-helpers";

let admin: Account;
let other: Account;
let editor: string;
let viewer: string;
let approver: string;

const as = (token: string) => ({
  get: (path: string) => call(path, bearer(token)),
  post: (path: string, body: unknown) => call(path, bearer(token, json("POST", body))),
  put: (path: string, body: unknown) => call(path, bearer(token, json("PUT", body))),
  delete: (path: string) => call(path, bearer(token, { method: "DELETE" })),
});

async function userWithRoles(roles: string[]): Promise<string> {
  const email = `wf-${crypto.randomUUID()}@example.com`;
  const res = await call("/v1/users", bearer(admin.access_token, json("POST", { email, name: "Someone", password: PASSWORD, roles })));
  expect(res.status, await res.clone().text()).toBe(201);
  return (await login(email)).access_token;
}

/** draft -> review -> approved | rejected, with approve/reject only for the approver role. */
const approval = (name = "Approval") => ({
  name,
  description: "Two steps and a decision",
  initial_state: "draft",
  states: [
    { key: "draft", name: "Draft" },
    { key: "review", name: "In review" },
    { key: "approved", name: "Approved", terminal: true },
    { key: "rejected", name: "Rejected", terminal: true },
  ],
  transitions: [
    { key: "submit", name: "Submit", from: ["draft"], to: "review" },
    { key: "withdraw", name: "Withdraw", from: ["review"], to: "draft" },
    { key: "approve", name: "Approve", from: ["review"], to: "approved", roles: ["approver"] },
    { key: "reject", name: "Reject", from: ["review"], to: "rejected", roles: ["approver", "admin"] },
  ],
});

/** One state that can be re-entered forever (tick) and an end. */
const counter = COUNTER_TEMPLATE;

async function createTemplate(body: unknown, token = admin.access_token) {
  return ok(as(token).post("/v1/workflows/templates", body), 201);
}

async function start(templateId: string, extra: Record<string, unknown> = {}, token = admin.access_token) {
  return ok(as(token).post("/v1/workflows/instances", { template_id: templateId, ...extra }), 201);
}

const take = (id: string, body: Record<string, unknown>, token = admin.access_token) => as(token).post(`/v1/workflows/instances/${id}/transitions`, body);

async function historyOf(id: string, token = admin.access_token) {
  const entries: any[] = [];
  let cursor: string | null = null;
  do {
    const page: any = await ok(as(token).get(`/v1/workflows/instances/${id}/history?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ""}`));
    entries.push(...page.data);
    cursor = page.next_cursor;
  } while (cursor);
  return entries;
}

beforeAll(async () => {
  admin = await registerOrganization("Workflows");
  other = await registerOrganization("Workflows elsewhere");
  const role = await call("/v1/roles", bearer(admin.access_token, json("POST", { name: "approver", permissions: { "*": ["read"] } })));
  expect(role.status).toBe(201);
  editor = await userWithRoles(["editor"]);
  viewer = await userWithRoles(["viewer"]);
  approver = await userWithRoles(["approver"]);
});

describe("templates", () => {
  it("admins create, list, read and version them; others read", async () => {
    const t = await createTemplate(approval("Versioned"));
    expect(t).toMatchObject({ version: 1, name: "Versioned", initial_state: "draft", created_by: admin.user_id });
    expect(t.states[0]).toMatchObject({ key: "draft", terminal: false });

    expect((await as(editor).post("/v1/workflows/templates", approval())).status).toBe(403);
    expect((await as(viewer).put(`/v1/workflows/templates/${t.id}`, approval())).status).toBe(403);
    expect(await ok(as(viewer).get(`/v1/workflows/templates/${t.id}`))).toMatchObject({ id: t.id, version: 1 });

    const v2 = await ok(as(admin.access_token).put(`/v1/workflows/templates/${t.id}`, { ...approval("Versioned 2"), initial_state: "review" }));
    expect(v2).toMatchObject({ id: t.id, version: 2, name: "Versioned 2", initial_state: "review" });
    expect(await ok(as(viewer).get(`/v1/workflows/templates/${t.id}`))).toMatchObject({ version: 2 });
    expect(await ok(as(viewer).get(`/v1/workflows/templates/${t.id}?version=1`))).toMatchObject({ version: 1, name: "Versioned" });

    const list: any = await ok(as(viewer).get("/v1/workflows/templates?limit=100"));
    expect(list.data.find((x: any) => x.id === t.id)).toMatchObject({ version: 2 });
  });

  it("concurrent changes get distinct versions", async () => {
    const t = await createTemplate(approval("Racing"));
    const results = await Promise.all([1, 2, 3, 4, 5].map((i) => ok(as(admin.access_token).put(`/v1/workflows/templates/${t.id}`, approval(`Racing ${i}`)))));
    expect(results.map((r: any) => r.version).sort()).toEqual([2, 3, 4, 5, 6]);
  });

  it("answer 422 naming every problem of the graph", async () => {
    const bad = {
      name: "Broken",
      initial_state: "nowhere",
      states: [
        { key: "a", name: "A" },
        { key: "a", name: "A again" },
        { key: "end", name: "End", terminal: true },
      ],
      transitions: [
        { key: "go", name: "Go", from: ["a", "ghost"], to: "end" },
        { key: "back", name: "Back", from: ["end"], to: "limbo" },
      ],
    };
    const res = await as(admin.access_token).post("/v1/workflows/templates", bad);
    expect(res.status).toBe(422);
    const body = await expectProblem(res);
    expect(body.errors).toEqual(
      expect.arrayContaining([
        { path: "initial_state", message: "Unknown state nowhere" },
        { path: "states.1.key", message: "Duplicate state key a" },
        { path: "transitions.0.from.1", message: "Unknown state ghost" },
        { path: "transitions.1.from.0", message: "Transition back leaves the terminal state end" },
        { path: "transitions.1.to", message: "Unknown state limbo" },
      ]),
    );
    expect(body.detail).toContain("Unknown state ghost");
  });

  it("answer 422 for unreachable states, no terminal state, bad timeouts and waits", async () => {
    const cases: [unknown, string, RegExp][] = [
      [{ ...counter, states: [...counter.states, { key: "island", name: "Island" }] }, "states.2", /island cannot be reached/],
      [
        {
          ...counter,
          states: [
            { key: "open", name: "Open" },
            { key: "closed", name: "Closed" },
          ],
        },
        "states",
        /No terminal state/,
      ],
      [{ ...counter, states: [{ key: "open", name: "Open", timeout_seconds: 5 }, counter.states[1]] }, "states.0.on_timeout", /go together/],
      [
        { ...counter, states: [{ key: "open", name: "Open", timeout_seconds: 5, on_timeout: "nope" }, counter.states[1]] },
        "states.0.on_timeout",
        /not a transition leaving/,
      ],
      [{ ...counter, states: [{ key: "open", name: "Open", wait_for_children: true }, counter.states[1]] }, "states.0.on_children_done", /name the transition/],
      [
        {
          ...counter,
          states: [{ key: "open", name: "Open" }, { key: "stuck", name: "Stuck" }, counter.states[1]],
          transitions: [...counter.transitions, { key: "trap", name: "Trap", from: ["open"], to: "stuck" }],
        },
        "states.1",
        /no way to a terminal state/,
      ],
    ];
    for (const [body, path, message] of cases) {
      const res = await as(admin.access_token).post("/v1/workflows/templates", body);
      expect(res.status, path).toBe(422);
      const p = await expectProblem(res);
      expect(p.errors.find((e: any) => e.path === path)?.message, JSON.stringify(p.errors)).toMatch(message);
    }
  });

  it("answer 422 for actions naming an unknown service, model or template", async () => {
    const withActions = (actions: unknown[]) => ({
      ...counter,
      transitions: [{ ...counter.transitions[0], actions }, counter.transitions[1]],
    });
    const res = await as(admin.access_token).post(
      "/v1/workflows/templates",
      withActions([
        { type: "create", service: "nosuch", model: "things", body: {} },
        { type: "update", service: "documents", model: "spreadsheets", id: "{{subject.id}}", body: {} },
        { type: "start_workflow", template_id: crypto.randomUUID() },
        { type: "update", service: "crm", model: "contacts", body: {} },
      ]),
    );
    expect(res.status).toBe(422);
    const p = await expectProblem(res);
    expect(p.errors).toEqual([
      { path: "transitions.0.actions.0.service", message: "Unknown service nosuch" },
      { path: "transitions.0.actions.1.model", message: "The documents service has no model spreadsheets" },
      { path: "transitions.0.actions.2.template_id", message: expect.stringMatching(/^No workflow template/) },
      { path: "transitions.0.actions.3.id", message: "An update names the record to update" },
    ]);
    // Known service and model pass.
    await createTemplate(withActions([{ type: "create", service: "crm", model: "contacts", body: { first_name: "x" } }]));
  });

  it("are deleted only when no running instance uses them", async () => {
    const t = await createTemplate(counter);
    const i = await start(t.id);
    const refused = await as(admin.access_token).delete(`/v1/workflows/templates/${t.id}`);
    expect(refused.status).toBe(409);
    expect((await expectProblem(refused)).detail).toMatch(/^1 running instance/);
    await ok(take(i.id, { transition: "close" }));
    expect((await as(admin.access_token).delete(`/v1/workflows/templates/${t.id}`)).status).toBe(204);
    expect((await as(admin.access_token).get(`/v1/workflows/templates/${t.id}`)).status).toBe(404);
    // The finished instance stays readable.
    expect(await ok(as(admin.access_token).get(`/v1/workflows/instances/${i.id}`))).toMatchObject({ state: "closed", terminal: true });
  });
});

describe("instances", () => {
  it("start at version 1 and follow role-guarded transitions", async () => {
    const t = await createTemplate(approval());
    const i = await start(t.id, { data: { title: "Q3 report" } }, editor);
    expect(i).toMatchObject({ template_id: t.id, template_version: 1, state: "draft", version: 1, data: { title: "Q3 report" }, subject: null });
    expect(i.id).toMatch(/^[0-9a-f-]{36}$/);
    expect((await as(viewer).post("/v1/workflows/instances", { template_id: t.id })).status).toBe(403);

    const submitted = await ok(take(i.id, { transition: "submit", data: { note: "ready" } }, editor));
    expect(submitted).toMatchObject({ state: "review", version: 2, data: { title: "Q3 report", note: "ready" } });
    expect(submitted.available_transitions.map((t: any) => t.key)).toEqual(["withdraw"]);

    const seenByApprover = await ok(as(approver).get(`/v1/workflows/instances/${i.id}`));
    expect(seenByApprover.available_transitions.map((t: any) => t.key)).toEqual(["approve", "reject"]);
    const seenByAdmin = await ok(as(admin.access_token).get(`/v1/workflows/instances/${i.id}`));
    expect(seenByAdmin.available_transitions.map((t: any) => t.key)).toEqual(["withdraw", "reject"]);

    const forbidden = await take(i.id, { transition: "approve" }, editor);
    expect(forbidden.status).toBe(403);
    expect((await expectProblem(forbidden)).detail).toBe("Only approver may take approve.");
    expect((await take(i.id, { transition: "withdraw" }, viewer)).status).toBe(403);
    expect((await take(i.id, { transition: "submit" }, editor)).status).toBe(409);
    expect((await take(i.id, { transition: "approve", expected_version: 1 }, approver)).status).toBe(409);
    const unknown = await take(i.id, { transition: "teleport" }, editor);
    expect(unknown.status).toBe(422);

    expect(await ok(take(i.id, { transition: "approve", expected_version: 2 }, approver))).toMatchObject({
      state: "approved",
      version: 3,
      terminal: true,
      available_transitions: [],
    });

    const history = await historyOf(i.id, viewer);
    expect(history.map((h) => [h.version, h.transition, h.from, h.to])).toEqual([
      [1, null, null, "draft"],
      [2, "submit", "draft", "review"],
      [3, "approve", "review", "approved"],
    ]);
    expect(history[1]).toMatchObject({ actor: { type: "user" }, data: { note: "ready" }, request_id: expect.any(String) });
    expect(history[2].time).toMatch(/Z$/);
  });

  it("serialize 50 concurrent transitions: each allowed one succeeds, the version rises by exactly one each", async () => {
    const t = await createTemplate(counter);
    const i = await start(t.id);
    const free = await Promise.all(Array.from({ length: 50 }, (_, n) => take(i.id, { transition: "tick", data: { n } })));
    const bodies = await Promise.all(free.map((r) => r.json<any>()));
    expect(free.map((r) => r.status)).toEqual(Array(50).fill(200));
    expect(bodies.map((b) => b.version).sort((a, b) => a - b)).toEqual(Array.from({ length: 50 }, (_, n) => n + 2));

    // All at the same expected version: exactly one wins.
    const raced = await Promise.all(Array.from({ length: 50 }, () => take(i.id, { transition: "tick", expected_version: 51 })));
    expect(raced.map((r) => r.status).sort()).toEqual([200, ...Array(49).fill(409)]);

    const history = await historyOf(i.id);
    expect(history.map((h) => h.version)).toEqual(Array.from({ length: 52 }, (_, n) => n + 1));
    expect(new Set(history.slice(1, 51).map((h) => h.data.n)).size).toBe(50);
    expect(await ok(as(admin.access_token).get(`/v1/workflows/instances/${i.id}`))).toMatchObject({ version: 52, state: "open" });
  });

  it("serialize transitions whose actions wait on a service: no two run at the same version", async () => {
    const t = await createTemplate({
      ...counter,
      transitions: [
        {
          ...counter.transitions[0],
          actions: [
            {
              type: "create",
              service: "crm",
              model: "contacts",
              body: { first_name: "Tick", last_name: "v{{instance.version}}", email: "t-{{instance.id}}-{{instance.version}}@example.com" },
            },
          ],
        },
        counter.transitions[1],
      ],
    });
    const i = await start(t.id);
    const results = await Promise.all(Array.from({ length: 10 }, () => take(i.id, { transition: "tick" })));
    expect(results.map((r) => r.status)).toEqual(Array(10).fill(200));
    const history = await historyOf(i.id);
    expect(history.map((h) => h.version)).toEqual(Array.from({ length: 11 }, (_, n) => n + 1));
    // Each ran its action once, at its own version: ten distinct contacts.
    const created = history.slice(1).map((h) => h.actions[0]);
    expect(created.every((a: any) => a.status === 201 && !a.replayed)).toBe(true);
    expect(new Set(created.map((a: any) => a.id)).size).toBe(10);
  });

  it("are listed from the D1 index, filtered and paginated, brought in step after each transition", async () => {
    const t = await createTemplate(counter);
    const ids = [];
    for (let n = 0; n < 3; n++) ids.push((await start(t.id)).id);
    await ok(take(ids[1]!, { transition: "close" }));
    // The index is written just after the answer (see "the index off the answer's path" in workflows-index.test.ts).
    const closed: any = await waitFor(async () => {
      const r: any = await ok(as(viewer).get(`/v1/workflows/instances?template_id=${t.id}&state=closed`));
      return r.data.length ? r : undefined;
    }, 15_000);
    expect(closed.data).toMatchObject([{ id: ids[1], version: 2, terminal: true, template_version: 1 }]);
    const open: any = await ok(as(viewer).get(`/v1/workflows/instances?template_id=${t.id}&state=open`));
    expect(open.data.map((r: any) => r.id)).toEqual([ids[0], ids[2]]);
    const page1: any = await ok(as(viewer).get(`/v1/workflows/instances?template_id=${t.id}&limit=2`));
    expect(page1.data).toHaveLength(2);
    const page2: any = await ok(as(viewer).get(`/v1/workflows/instances?template_id=${t.id}&limit=2&cursor=${encodeURIComponent(page1.next_cursor)}`));
    expect([...page1.data, ...page2.data].map((r: any) => r.id)).toEqual(ids);
    expect(page2.next_cursor).toBeNull();
  });

  it("catch the index up from the alarm when D1 could not be written", async () => {
    const t = await createTemplate(counter);
    const i = await start(t.id);
    // Make the index write fail for real, for this instance only, until the trigger goes.
    const trigger = `"fail_index_${i.id}"`;
    await env.DB.prepare(
      `CREATE TRIGGER ${trigger} BEFORE UPDATE ON workflow_instances WHEN OLD.id = '${i.id}' BEGIN SELECT RAISE(ABORT, 'index write refused'); END`,
    ).run();
    let moved: any;
    try {
      moved = await ok(take(i.id, { transition: "close" }));
      expect(moved).toMatchObject({ state: "closed", version: 2 });
      const stale: any = await ok(as(admin.access_token).get(`/v1/workflows/instances?template_id=${t.id}`));
      expect(stale.data[0]).toMatchObject({ state: "open", version: 1 });
    } finally {
      await env.DB.prepare(`DROP TRIGGER ${trigger}`).run();
    }
    expect(await runDurableObjectAlarm(env.WORKFLOWS.getByName(`${admin.organization_id}:${i.id}`))).toBe(true);
    const caught: any = await ok(as(admin.access_token).get(`/v1/workflows/instances?template_id=${t.id}`));
    expect(caught.data[0]).toMatchObject({ state: "closed", version: 2, terminal: true });
  });

  it("keep the template version they started with", async () => {
    const t = await createTemplate(counter);
    const old = await start(t.id);
    await ok(as(admin.access_token).put(`/v1/workflows/templates/${t.id}`, { ...counter, transitions: [counter.transitions[1]] }));
    const fresh = await start(t.id);
    expect(fresh.template_version).toBe(2);
    expect((await take(fresh.id, { transition: "tick" })).status).toBe(422);
    expect(await ok(take(old.id, { transition: "tick" }))).toMatchObject({ template_version: 1, version: 2 });
  });

  it("check the subject with the service's own read", async () => {
    const t = await createTemplate(counter);
    const contact = await ok(
      as(admin.access_token).post("/v1/crm/contacts", { first_name: "Sub", last_name: "Ject", email: `s-${crypto.randomUUID()}@example.com` }),
      201,
    );
    const subject = { service: "crm", model: "contacts", id: contact.id };
    expect(await start(t.id, { subject })).toMatchObject({ subject });
    // The document's WorkflowSubject is nullable: null is no subject, as leaving it out.
    expect(await start(t.id, { subject: null })).toMatchObject({ subject: null });
    const missing = await as(admin.access_token).post("/v1/workflows/instances", { template_id: t.id, subject: { ...subject, id: crypto.randomUUID() } });
    expect(missing.status).toBe(422);
    expect((await expectProblem(missing)).errors).toEqual([{ path: "subject.id", message: "Does not exist" }]);
    const model = await as(admin.access_token).post("/v1/workflows/instances", { template_id: t.id, subject: { ...subject, model: "whales" } });
    expect((await expectProblem(model)).errors).toEqual([{ path: "subject.model", message: "Unknown model" }]);
    // Another organization's record is not a subject of ours.
    const theirs = await as(other.access_token).post("/v1/workflows/instances", { template_id: t.id, subject });
    expect(theirs.status).toBe(422);
    const list: any = await ok(as(admin.access_token).get(`/v1/workflows/instances?subject_service=crm&subject_id=${contact.id}`));
    expect(list.data).toHaveLength(1);
  });

  it("are invisible to other organizations: 404 like a missing one", async () => {
    const t = await createTemplate(counter);
    const i = await start(t.id);
    const theirs = as(other.access_token);
    for (const path of [`/v1/workflows/templates/${t.id}`, `/v1/workflows/instances/${i.id}`, `/v1/workflows/instances/${i.id}/history`]) {
      const res = await theirs.get(path);
      expect(res.status, path).toBe(404);
      await expectProblem(res);
    }
    expect((await theirs.post(`/v1/workflows/instances/${i.id}/transitions`, { transition: "tick" })).status).toBe(404);
    expect((await theirs.post("/v1/workflows/instances", { template_id: t.id })).status).toBe(422);
    expect((await theirs.put(`/v1/workflows/templates/${t.id}`, counter)).status).toBe(404);
    expect((await theirs.delete(`/v1/workflows/templates/${t.id}`)).status).toBe(404);
    const listed: any = await ok(theirs.get(`/v1/workflows/instances?template_id=${t.id}`));
    expect(listed.data).toEqual([]);
    expect((await as(admin.access_token).get(`/v1/workflows/instances/${crypto.randomUUID()}`)).status).toBe(404);
    // Unchanged by their attempts.
    expect(await ok(as(admin.access_token).get(`/v1/workflows/instances/${i.id}`))).toMatchObject({ version: 1 });
  });
});

describe("timeouts", () => {
  it("a state's timeout takes its on_timeout transition from the alarm, as the system", async () => {
    const t = await createTemplate({
      ...counter,
      states: [{ key: "open", name: "Open", timeout_seconds: 1, on_timeout: "close" }, counter.states[1]],
    });
    const i = await start(t.id);
    expect(Date.parse(i.timeout_at) - Date.parse(i.created_at)).toBe(1000);
    const after = await waitFor(async () => {
      const r = await ok(as(admin.access_token).get(`/v1/workflows/instances/${i.id}`));
      return r.state === "closed" ? r : undefined;
    }, 15_000);
    expect(after).toMatchObject({ version: 2, timeout_at: null });
    const history = await historyOf(i.id);
    expect(history[1]).toMatchObject({ transition: "close", actor: { type: "system", id: null }, request_id: null });
    const listed: any = await waitFor(async () => {
      const r: any = await ok(as(admin.access_token).get(`/v1/workflows/instances?template_id=${t.id}`));
      return r.data[0]?.version === 2 ? r : undefined;
    }, 15_000);
    expect(listed.data[0]).toMatchObject({ state: "closed", version: 2 });
  });

  it("a transition that leaves the state first wins over the timeout, which then does nothing", async () => {
    const t = await createTemplate({
      ...counter,
      states: [{ key: "open", name: "Open", timeout_seconds: 1, on_timeout: "close" }, counter.states[1]],
    });
    const i = await start(t.id);
    await ok(take(i.id, { transition: "close" }));
    await new Promise((r) => setTimeout(r, 1300));
    expect(await historyOf(i.id)).toHaveLength(2);
  });

  it("a timeout transition cannot carry actions (no caller to act for)", async () => {
    const res = await as(admin.access_token).post("/v1/workflows/templates", {
      ...counter,
      states: [{ key: "open", name: "Open", timeout_seconds: 60, on_timeout: "close" }, counter.states[1]],
      transitions: [counter.transitions[0], { ...counter.transitions[1], actions: [{ type: "create", service: "crm", model: "contacts", body: {} }] }],
    });
    expect((await expectProblem(res)).errors).toEqual([
      { path: "transitions.1.actions", message: expect.stringMatching(/timeout of open.*cannot have actions/) },
    ]);
  });
});

describe("actions", () => {
  async function uploadFile() {
    const res = await call(
      "/v1/documents/files?name=contract.txt",
      bearer(admin.access_token, { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" }),
    );
    return ok(res, 201);
  }

  it("run as the caller; a failing one fails the transition, undoes the earlier ones and leaves the state unchanged; a retry does not apply the first twice", async () => {
    const t = await createTemplate({
      name: "Sign-off",
      initial_state: "draft",
      states: [
        { key: "draft", name: "Draft" },
        { key: "signed", name: "Signed", terminal: true },
      ],
      transitions: [
        {
          key: "sign",
          name: "Sign",
          from: ["draft"],
          to: "signed",
          actions: [
            {
              type: "create",
              service: "crm",
              model: "contacts",
              body: { first_name: "Signer", last_name: "{{instance.id}}", email: "{{data.email}}", tags: ["{{data.tag}}"] },
            },
            { type: "update", service: "documents", model: "files", id: "{{data.file_id}}", body: { tags: ["signed", "by:{{actor.id}}"] } },
          ],
        },
      ],
    });
    const file = await uploadFile();
    const email = `signer-${crypto.randomUUID()}@example.com`;
    const i = await start(t.id, { data: { email, tag: "signer" } });

    // The second action names a file that does not exist: 424, state and history unchanged.
    const failed = await take(i.id, { transition: "sign", data: { file_id: crypto.randomUUID() } });
    expect(failed.status).toBe(424);
    const p = await expectProblem(failed);
    expect(p).toMatchObject({
      type: "https://buildly.dev/problems/action-failed",
      action: { index: 1, service: "documents", model: "files", status: 404 },
      cause: { status: 404 },
    });
    // One sentence from the service, one stop: "...: No file has this id. The state is unchanged."
    expect(p.detail).toMatch(/^Action 2 \(.+\) failed with 404: .*[^.]\. The state is unchanged\. /);
    expect(await ok(as(admin.access_token).get(`/v1/workflows/instances/${i.id}`))).toMatchObject({ state: "draft", version: 1, data: { email } });
    expect(await historyOf(i.id)).toHaveLength(1);

    // The first attempt's contact was deleted when its second action failed; the retry creates it afresh and signs.
    const signed = await ok(take(i.id, { transition: "sign", data: { file_id: file.id } }));
    expect(signed).toMatchObject({ state: "signed", version: 2 });
    const [entry] = (await historyOf(i.id)).slice(1);
    expect(entry.actions).toMatchObject([
      { type: "create", service: "crm", model: "contacts", status: 201, replayed: false, id: expect.any(String) },
      { type: "update", service: "documents", model: "files", status: 200, replayed: false, id: file.id },
    ]);
    const contact = await ok(as(admin.access_token).get(`/v1/crm/contacts/${entry.actions[0].id}`));
    expect(contact).toMatchObject({ email, last_name: i.id, tags: ["signer"] });
    const contacts: any = await ok(as(admin.access_token).get(`/v1/crm/contacts?limit=100`));
    expect(contacts.data.filter((c: any) => c.email === email)).toHaveLength(1);
    expect(await ok(as(admin.access_token).get(`/v1/documents/files/${file.id}`))).toMatchObject({
      tags: expect.arrayContaining(["signed", `by:${admin.user_id}`]),
    });
  });

  it("need the caller's own permission on the service", async () => {
    const t = await createTemplate({
      ...counter,
      transitions: [
        { ...counter.transitions[0], roles: ["viewer"], actions: [{ type: "create", service: "crm", model: "contacts", body: { first_name: "No" } }] },
        counter.transitions[1],
      ],
    });
    const i = await start(t.id);
    const res = await take(i.id, { transition: "tick" }, viewer);
    expect(res.status).toBe(403);
    expect((await expectProblem(res)).detail).toMatch(/needs create on the crm service/);
    expect(await ok(as(admin.access_token).get(`/v1/workflows/instances/${i.id}`))).toMatchObject({ version: 1 });
  });
});

describe("process trees", () => {
  it("a child started by an action completes its parent's waiting step", async () => {
    const child = await createTemplate({
      name: "Check",
      initial_state: "todo",
      states: [
        { key: "todo", name: "To do" },
        { key: "done", name: "Done", terminal: true },
      ],
      transitions: [{ key: "finish", name: "Finish", from: ["todo"], to: "done" }],
    });
    const parent = await createTemplate({
      name: "Audit",
      initial_state: "start",
      states: [
        { key: "start", name: "Start" },
        { key: "checking", name: "Checking", wait_for_children: true },
        { key: "audited", name: "Audited", terminal: true },
      ],
      transitions: [
        {
          key: "check",
          name: "Start the checks",
          from: ["start"],
          to: "checking",
          actions: [
            { type: "start_workflow", template_id: child.id, data: { area: "books", parent_note: "{{data.note}}" } },
            { type: "start_workflow", template_id: child.id, data: { area: "stock" } },
          ],
        },
        { key: "complete", name: "Complete", from: ["checking"], to: "audited" },
      ],
    });
    const p = await start(parent.id, { data: { note: "yearly" } });
    const checking = await ok(take(p.id, { transition: "check" }));
    expect(checking).toMatchObject({ state: "checking", version: 2 });
    expect(checking.children).toHaveLength(2);
    const [c1, c2] = checking.children;
    const first = await ok(as(admin.access_token).get(`/v1/workflows/instances/${c1.id}`));
    expect(first).toMatchObject({ parent_id: p.id, template_id: child.id, state: "todo", data: { area: "books", parent_note: "yearly" } });
    const listed: any = await ok(as(admin.access_token).get(`/v1/workflows/instances?template_id=${child.id}`));
    expect(listed.data.map((r: any) => r.parent_id)).toEqual([p.id, p.id]);

    await ok(take(c1.id, { transition: "finish" }));
    expect(await ok(as(admin.access_token).get(`/v1/workflows/instances/${p.id}`))).toMatchObject({
      state: "checking",
      children: [
        { id: c1.id, terminal: true, state: "done" },
        { id: c2.id, terminal: false },
      ],
    });
    await ok(take(c2.id, { transition: "finish" }));
    // The parent moves on by itself, as the system.
    const done = await waitFor(async () => {
      const r = await ok(as(admin.access_token).get(`/v1/workflows/instances/${p.id}`));
      return r.state === "audited" ? r : undefined;
    }, 15_000);
    expect(done).toMatchObject({ version: 3, terminal: true });
    expect((await historyOf(p.id))[2]).toMatchObject({ transition: "complete", actor: { type: "system" } });
  });
});

describe("events", () => {
  it("a WebSocket watcher gets a snapshot and then every transition", async () => {
    const t = await createTemplate(counter);
    const i = await start(t.id);
    const res = await call(`/v1/workflows/instances/${i.id}/events`, { headers: { upgrade: "websocket", "sec-websocket-protocol": `bearer, ${viewer}` } });
    expect(res.status).toBe(101);
    expect(res.headers.get("sec-websocket-protocol")).toBe("bearer");
    const ws = res.webSocket!;
    const messages: any[] = [];
    ws.addEventListener("message", (e) => {
      messages.push(JSON.parse(e.data as string));
    });
    ws.accept();
    await Promise.all(Array.from({ length: 10 }, () => take(i.id, { transition: "tick" })));
    await ok(take(i.id, { transition: "close" }));
    await waitFor(async () => (messages.length >= 12 ? true : undefined), 15_000);
    expect(messages[0]).toMatchObject({ type: "snapshot", instance: { id: i.id, version: 1 } });
    expect(messages.slice(1).map((m) => m.version)).toEqual(Array.from({ length: 11 }, (_, n) => n + 2));
    expect(messages[11]).toMatchObject({ type: "transition", transition: "close", from: "open", to: "closed", terminal: true, actor: { type: "user" } });
    ws.close(1000, "bye");
  });

  it("needs a token, read permission and a WebSocket upgrade; other organizations get 404", async () => {
    const t = await createTemplate(counter);
    const i = await start(t.id);
    const path = `/v1/workflows/instances/${i.id}/events`;
    expect((await call(path, { headers: { upgrade: "websocket" } })).status).toBe(401);
    expect((await call(path, bearer(admin.access_token))).status).toBe(426);
    const theirs = await call(path, bearer(other.access_token, { headers: { upgrade: "websocket" } }));
    expect(theirs.status).toBe(404);
    await expectProblem(theirs);
  });
});

describe("demo-style start from the index", () => {
  it("an index row written straight into D1 (as the seed does) starts its object on first access", async () => {
    const t = await createTemplate(counter);
    const id = crypto.randomUUID();
    await env.DB.prepare(
      `INSERT INTO workflow_instances (id, organization_id, template_id, template_version, state, terminal, version, init, created_at, updated_at)
       VALUES (?, ?, ?, 1, 'open', 0, 1, ?, '2026-01-01T00:00:00.000Z', '2026-01-01T00:00:00.000Z')`,
    )
      .bind(id, admin.organization_id, t.id, JSON.stringify({ data: { seeded: true }, created_by: { type: "system", id: null } }))
      .run();
    expect(await ok(as(admin.access_token).get(`/v1/workflows/instances/${id}`))).toMatchObject({ id, state: "open", version: 1, data: { seeded: true } });
    expect(await ok(take(id, { transition: "close" }))).toMatchObject({ version: 2 });
    expect((await as(other.access_token).get(`/v1/workflows/instances/${id}`)).status).toBe(404);
  });
});

describe("OpenAPI", () => {
  it("documents every workflow route with its schemas in the gateway's document", async () => {
    const doc = await ok(call("/openapi.json"));
    const paths = doc.paths as Record<string, Record<string, any>>;
    expect(
      Object.keys(paths)
        .filter((p) => p.startsWith("/v1/workflows"))
        .sort(),
    ).toEqual([
      "/v1/workflows/instances",
      "/v1/workflows/instances/{id}",
      "/v1/workflows/instances/{id}/events",
      "/v1/workflows/instances/{id}/history",
      "/v1/workflows/instances/{id}/transitions",
      "/v1/workflows/templates",
      "/v1/workflows/templates/{id}",
    ]);
    const take = paths["/v1/workflows/instances/{id}/transitions"]!.post;
    expect(Object.keys(take.responses)).toEqual(expect.arrayContaining(["200", "403", "409", "424"]));
    expect(take.requestBody.content["application/json"].schema.$ref).toBe("#/components/schemas/WorkflowTransitionRequest");
    expect(paths["/v1/workflows/instances/{id}/events"]!.get.responses).toHaveProperty("101");
    expect(doc.components.schemas).toHaveProperty(["WorkflowTemplate"]);
    expect(doc.components.schemas).toHaveProperty(["WorkflowInstance"]);
  });
});
