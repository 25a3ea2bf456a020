// Workflows, hardened (issue 17): loops of timeouts, half-run transitions, system-only transitions,
// bounded JSON, the children cap, watchers whose access ends, custom roles naming workflows.
import { runDurableObjectAlarm, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { SignJWT, importJWK } from "jose";
import { beforeAll, describe, expect, it } from "vitest";
import demoSql from "../seed/demo.sql?raw";
import { realObject } from "@buildly/shared/service";
import { MAX_SYSTEM_STREAK } from "../src/workflows/instance";
import { PASSWORD, bearer, call, expectProblem, json, login, registerOrganization, type Account, ok } from "./helpers";

let admin: Account;
let editor: { id: string; token: string };

const as = (token: string) => ({
  get: (path: string) => call(path, bearer(token)),
  post: (path: string, body: unknown) => call(path, bearer(token, json("POST", body))),
  put: (path: string, body: unknown) => call(path, bearer(token, json("PUT", body))),
  patch: (path: string, body: unknown) => call(path, bearer(token, json("PATCH", body))),
});

async function user(roles: string[]): Promise<{ id: string; token: string }> {
  const email = `wfh-${crypto.randomUUID()}@example.com`;
  const res = await as(admin.access_token).post("/v1/users", { email, name: "Someone", password: PASSWORD, roles });
  expect(res.status, await res.clone().text()).toBe(201);
  const { id } = await res.json<{ id: string }>();
  return { id, token: (await login(email)).access_token };
}

const createTemplate = (body: unknown) => ok(as(admin.access_token).post("/v1/workflows/templates", body), 201);
const start = (templateId: string, extra: Record<string, unknown> = {}, token = admin.access_token) =>
  ok(as(token).post("/v1/workflows/instances", { template_id: templateId, ...extra }), 201);
const take = (id: string, body: Record<string, unknown>, token = admin.access_token) => as(token).post(`/v1/workflows/instances/${id}/transitions`, body);
const read = (id: string) => ok(as(admin.access_token).get(`/v1/workflows/instances/${id}`));
const stubOf = (id: string) => env.WORKFLOWS.getByName(`${admin.organization_id}:${id}`);

/** Makes the instance's current timeout due now and runs its alarm, as workerd would when the time came. */
async function timeOut(id: string) {
  const stub = stubOf(id) as unknown as DurableObjectStub;
  const backdate = (shell: { inst?: { timeout_at: number | null } }) => {
    // The class is a lazy shell (lazyDurableObject): the state is on the real object behind it.
    const obj = realObject(shell);
    if (obj.inst?.timeout_at) obj.inst = { ...obj.inst, timeout_at: Date.now() - 1 };
  };
  // Typed loosely: the instance's own type is too deep for the checker here.
  const run = runInDurableObject as unknown as (s: unknown, fn: (obj: never) => void) => Promise<void>;
  await run(stub, backdate as never);
  await runDurableObjectAlarm(stub);
}

const end = { key: "end", name: "End", terminal: true };
const simple = (over: Record<string, unknown> = {}) => ({
  name: "Simple",
  initial_state: "open",
  states: [{ key: "open", name: "Open" }, end],
  transitions: [
    { key: "tick", name: "Tick", from: ["open"], to: "open" },
    { key: "close", name: "Close", from: ["open"], to: "end" },
  ],
  ...over,
});

beforeAll(async () => {
  admin = await registerOrganization("Workflows hardened");
  editor = await user(["editor"]);
});

describe("timeouts that loop by themselves", () => {
  const template = (states: unknown[], transitions: unknown[]) => ({ name: "Loop", initial_state: "a", states: [...states, end], transitions });

  it("are refused: into itself, into each other, through waiting for children", async () => {
    const self = await as(admin.access_token).post(
      "/v1/workflows/templates",
      template(
        [{ key: "a", name: "A", timeout_seconds: 1, on_timeout: "again" }],
        [
          { key: "again", name: "Again", from: ["a"], to: "a" },
          { key: "finish", name: "Finish", from: ["a"], to: "end" },
        ],
      ),
    );
    expect((await expectProblem(self)).errors).toEqual([{ path: "states.0", message: expect.stringMatching(/a -> a move on by themselves .* loop/) }]);

    const pair = await as(admin.access_token).post(
      "/v1/workflows/templates",
      template(
        [
          { key: "a", name: "A", timeout_seconds: 1, on_timeout: "to_b" },
          { key: "b", name: "B", timeout_seconds: 5, on_timeout: "to_a" },
        ],
        [
          { key: "to_b", name: "To B", from: ["a"], to: "b" },
          { key: "to_a", name: "To A", from: ["b"], to: "a" },
          { key: "finish", name: "Finish", from: ["a", "b"], to: "end" },
        ],
      ),
    );
    expect((await expectProblem(pair)).errors).toEqual([{ path: "states.0", message: expect.stringMatching(/a -> b -> a move on by themselves/) }]);

    // A waiting state whose children are done goes to a state that times out back into it.
    const mixed = await as(admin.access_token).post(
      "/v1/workflows/templates",
      template(
        [
          { key: "a", name: "A", wait_for_children: true, on_children_done: "to_b" },
          { key: "b", name: "B", timeout_seconds: 60, on_timeout: "to_a" },
        ],
        [
          { key: "to_b", name: "To B", from: ["a"], to: "b" },
          { key: "to_a", name: "To A", from: ["b"], to: "a" },
          { key: "finish", name: "Finish", from: ["b"], to: "end" },
        ],
      ),
    );
    expect((await expectProblem(mixed)).errors).toEqual([{ path: "states.0", message: expect.stringMatching(/a -> b -> a/) }]);
  });

  it("are accepted as a chain that ends, or a loop a person's transition closes", async () => {
    await createTemplate(
      template(
        [
          { key: "a", name: "A", timeout_seconds: 1, on_timeout: "to_b" },
          { key: "b", name: "B", timeout_seconds: 1, on_timeout: "finish" },
        ],
        [
          { key: "to_b", name: "To B", from: ["a"], to: "b" },
          { key: "back", name: "Back", from: ["b"], to: "a" },
          { key: "finish", name: "Finish", from: ["b"], to: "end" },
        ],
      ),
    );
  });

  it(`an instance of a looping template stored before the check stops after ${MAX_SYSTEM_STREAK} system transitions in a row, until a person's`, async () => {
    // Written straight into D1, as a template stored before the check would be.
    const id = crypto.randomUUID();
    const now = new Date().toISOString();
    const definition = {
      initial_state: "a",
      states: [
        { key: "a", name: "A", terminal: false, timeout_seconds: 1, on_timeout: "to_b" },
        { key: "b", name: "B", terminal: false, timeout_seconds: 1, on_timeout: "to_a" },
        { ...end },
      ],
      transitions: [
        { key: "to_b", name: "To B", from: ["a"], to: "b" },
        { key: "to_a", name: "To A", from: ["b"], to: "a" },
        { key: "nudge", name: "Nudge", from: ["a", "b"], to: "a" },
        { key: "finish", name: "Finish", from: ["a", "b"], to: "end" },
      ],
    };
    await env.DB.batch([
      env.DB.prepare("INSERT INTO workflow_templates (id, organization_id, latest_version, created_at, updated_at) VALUES (?, ?, 1, ?, ?)").bind(
        id,
        admin.organization_id,
        now,
        now,
      ),
      env.DB.prepare(
        "INSERT INTO workflow_template_versions (template_id, version, organization_id, name, definition, created_at) VALUES (?, 1, ?, 'Old loop', ?, ?)",
      ).bind(id, admin.organization_id, JSON.stringify(definition), now),
    ]);
    // A long timeout so that only the test's alarms move it.
    const i = await start(id);
    for (let n = 0; n < MAX_SYSTEM_STREAK + 5; n++) await timeOut(i.id);
    const stopped = await read(i.id);
    expect(stopped).toMatchObject({ version: 1 + MAX_SYSTEM_STREAK, timeout_at: null });
    await timeOut(i.id);
    expect(await read(i.id)).toMatchObject({ version: 1 + MAX_SYSTEM_STREAK });

    // A person's transition: the timeouts run again.
    const nudged = await ok(take(i.id, { transition: "nudge" }, editor.token));
    expect(nudged).toMatchObject({ state: "a", version: 2 + MAX_SYSTEM_STREAK, timeout_at: expect.any(String) });
    await timeOut(i.id);
    expect(await read(i.id)).toMatchObject({ state: "b", version: 3 + MAX_SYSTEM_STREAK });
  }, 120_000);
});

describe("system-only transitions", () => {
  const expiring = {
    name: "Expiring",
    initial_state: "review",
    states: [
      { key: "review", name: "Review", timeout_seconds: 604800, on_timeout: "expire" },
      { key: "done", name: "Done", terminal: true },
      { key: "expired", name: "Expired", terminal: true },
    ],
    transitions: [
      { key: "approve", name: "Approve", from: ["review"], to: "done" },
      { key: "expire", name: "Expire", from: ["review"], to: "expired", system_only: true },
    ],
  };

  it("are refused to every caller (403), left out of available_transitions, and taken by the timeout", async () => {
    const t = await createTemplate(expiring);
    expect(t.transitions[1]).toMatchObject({ key: "expire", system_only: true });
    const i = await start(t.id);
    expect(i.available_transitions.map((x: any) => x.key)).toEqual(["approve"]);
    for (const token of [editor.token, admin.access_token]) {
      const res = await take(i.id, { transition: "expire" }, token);
      expect(res.status).toBe(403);
      expect(await expectProblem(res)).toMatchObject({
        type: "https://buildly.dev/problems/system-only-transition",
        detail: expect.stringMatching(/taken only by the instance itself/),
      });
    }
    expect(await read(i.id)).toMatchObject({ state: "review", version: 1 });
    await timeOut(i.id);
    expect(await read(i.id)).toMatchObject({ state: "expired", version: 2, terminal: true });
  });

  it("must be taken by a timeout or children finishing, and name no roles", async () => {
    const res = await as(admin.access_token).post("/v1/workflows/templates", {
      ...expiring,
      transitions: [
        { key: "approve", name: "Approve", from: ["review"], to: "done", system_only: true },
        { key: "expire", name: "Expire", from: ["review"], to: "expired", system_only: true, roles: ["admin"] },
      ],
    });
    expect((await expectProblem(res)).errors).toEqual([
      { path: "transitions.0.system_only", message: expect.stringMatching(/nothing ever could/) },
      { path: "transitions.1.roles", message: expect.stringMatching(/system-only/) },
    ]);
  });

  it("the demo template's expire is one", async () => {
    const sql = demoSql;
    const definition = /'(\{"initial_state":"draft".*?)'/.exec(sql)![1]!;
    const expire = JSON.parse(definition).transitions.find((t: any) => t.key === "expire");
    expect(expire).toMatchObject({ system_only: true });
  });
});

describe("bounded JSON", () => {
  const deepArray = (n: number) => JSON.parse("[".repeat(n) + "]".repeat(n));
  const deepObject = (n: number) => {
    let v: unknown = 1;
    for (let i = 0; i < n; i++) v = { a: v };
    return v;
  };
  const withBody = (body: unknown) =>
    simple({
      transitions: [
        { key: "tick", name: "Tick", from: ["open"], to: "open", actions: [{ type: "create", service: "crm", model: "contacts", body }] },
        { key: "close", name: "Close", from: ["open"], to: "end" },
      ],
    });

  it("templates: a 40,000-deep action body, deep objects, wide objects and large strings answer 422, naming the place", async () => {
    const cases: [unknown, RegExp, string][] = [
      [{ x: deepArray(40_000) }, /deeper than 16/, "transitions.0.actions.0.body.x"],
      [deepObject(17), /deeper than 16/, `transitions.0.actions.0.body${".a".repeat(16)}`],
      [{ list: [[[[[[[[[[[[[[[[1]]]]]]]]]]]]]]]] }, /deeper than 16/, "transitions.0.actions.0.body.list.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0"],
      [Object.fromEntries(Array.from({ length: 201 }, (_, k) => [`k${k}`, k])), /at most 200 keys/, "transitions.0.actions.0.body"],
      [{ list: Array.from({ length: 1001 }, () => 0) }, /at most 1000 items/, "transitions.0.actions.0.body.list"],
      [{ s: "x".repeat(16 * 1024 + 1) }, /at most 16384 characters/, "transitions.0.actions.0.body.s"],
    ];
    for (const [body, message, path] of cases) {
      const res = await as(admin.access_token).post("/v1/workflows/templates", withBody(body));
      expect(res.status, path).toBe(422);
      const p = await expectProblem(res);
      expect(p.errors).toContainEqual({ path: expect.stringContaining(path), message: expect.stringMatching(message) });
    }
    // Right at the limits: stored, and its instances work.
    const t = await createTemplate(withBody({ nested: deepObject(14), s: "x".repeat(16 * 1024) }));
    const i = await start(t.id);
    expect(await read(i.id)).toMatchObject({ state: "open" });
  });

  it("instance data, a child's data and transition data are held to the same bounds", async () => {
    const t = await createTemplate(simple());
    // 40,000 deep is over the body limit already; 1,000 deep fits in it.
    const huge = await as(admin.access_token).post("/v1/workflows/instances", { template_id: t.id, data: { x: deepArray(40_000) } });
    expect(huge.status).toBe(413);
    await expectProblem(huge);
    const deep = await as(admin.access_token).post("/v1/workflows/instances", { template_id: t.id, data: { x: deepArray(1000) } });
    expect(deep.status).toBe(422);
    expect((await expectProblem(deep)).errors).toContainEqual({ path: `data.x${".0".repeat(15)}`, message: expect.stringMatching(/deeper than 16/) });
    const i = await start(t.id);
    const wide = await take(i.id, { transition: "tick", data: Object.fromEntries(Array.from({ length: 201 }, (_, k) => [`k${k}`, k])) });
    expect(wide.status).toBe(422);
    const deepTransition = await take(i.id, { transition: "tick", data: { x: deepObject(20) } });
    expect(deepTransition.status).toBe(422);
    expect(await read(i.id)).toMatchObject({ version: 1 });
    const child = await as(admin.access_token).post("/v1/workflows/templates", {
      ...simple(),
      transitions: [
        { key: "tick", name: "Tick", from: ["open"], to: "open", actions: [{ type: "start_workflow", template_id: t.id, data: { x: deepArray(100) } }] },
        { key: "close", name: "Close", from: ["open"], to: "end" },
      ],
    });
    expect((await expectProblem(child)).errors).toContainEqual({
      path: expect.stringContaining("transitions.0.actions.0.data.x"),
      message: expect.stringMatching(/deeper than 16/),
    });
  });
});

describe("a child's data filled from placeholders", () => {
  it("is held to the instance data quota: 422 and no child started", async () => {
    const child = await createTemplate(simple({ name: "Child" }));
    const t = await createTemplate(
      simple({
        transitions: [
          {
            key: "tick",
            name: "Tick",
            from: ["open"],
            to: "open",
            actions: [{ type: "start_workflow", template_id: child.id, data: { a: "{{data.big}}", b: "{{data.big}}" } }],
          },
          { key: "close", name: "Close", from: ["open"], to: "end" },
        ],
      }),
    );
    const big = Object.fromEntries(Array.from({ length: 200 }, (_, k) => [`k${k}`, "x".repeat(200)]));
    const i = await start(t.id, { data: { big } });
    const res = await take(i.id, { transition: "tick" });
    expect(res.status).toBe(422);
    expect(await expectProblem(res)).toMatchObject({ quota: "instance_data_bytes", errors: [{ path: "transitions.tick.actions.0.data" }] });
    expect(await read(i.id)).toMatchObject({ version: 1, children: [] });
  });
});

describe("the children cap", () => {
  let parentTemplate: string;
  beforeAll(async () => {
    const child = await createTemplate(simple({ name: "Child" }));
    const startChild = { type: "start_workflow", template_id: child.id, data: {} };
    const p = await createTemplate(
      simple({
        name: "Spawner",
        transitions: [
          { key: "spawn5", name: "Five", from: ["open"], to: "open", actions: [startChild, startChild, startChild, startChild, startChild] },
          { key: "spawn1", name: "One", from: ["open"], to: "open", actions: [startChild] },
          { key: "close", name: "Close", from: ["open"], to: "end" },
        ],
      }),
    );
    parentTemplate = p.id;
  });

  it("counts the children a transition would start before it starts any: 100 exactly, also under concurrency", async () => {
    const i = await start(parentTemplate);
    for (let n = 0; n < 19; n++) await ok(take(i.id, { transition: "spawn5" }));
    await ok(take(i.id, { transition: "spawn1" }));
    // 96 + 5 would be 101: refused, and none of the five started.
    const over = await take(i.id, { transition: "spawn5" });
    expect(over.status).toBe(409);
    expect(await expectProblem(over)).toMatchObject({ children: 96, max_children: 100, detail: expect.stringMatching(/has 96.*5 more/) });
    const at96: any = await read(i.id);
    expect(at96.children).toHaveLength(96);
    const listed: any = await ok(as(admin.access_token).get(`/v1/workflows/instances?limit=100&template_id=${at96.children[0].template_id}`));
    expect(listed.data.filter((r: any) => r.parent_id === i.id)).toHaveLength(96);

    // Ten at once for the last four places.
    const results = await Promise.all(Array.from({ length: 10 }, () => take(i.id, { transition: "spawn1" })));
    expect(results.map((r) => r.status).sort()).toEqual([200, 200, 200, 200, 409, 409, 409, 409, 409, 409]);
    const full: any = await read(i.id);
    expect(full.children).toHaveLength(100);
    expect(full.version).toBe(1 + 19 + 1 + 4);
    expect((await take(i.id, { transition: "spawn1" })).status).toBe(409);
  }, 120_000);
});

describe("a transition whose action fails after others ran", () => {
  const uploadFile = async (tags?: string[]) => {
    const file = await ok(
      call("/v1/documents/files?name=contract.txt", bearer(admin.access_token, { method: "POST", headers: { "content-type": "text/plain" }, body: "hello" })),
      201,
    );
    if (tags) await ok(call(`/v1/documents/files/${file.id}`, bearer(admin.access_token, json("PATCH", { tags }))));
    return file;
  };
  const contactsWith = async (email: string) => {
    const all: any = await ok(as(admin.access_token).get("/v1/crm/contacts?limit=100"));
    return all.data.filter((c: any) => c.email === email);
  };

  it("undoes what ran (a created record is deleted) and takes corrected data on the retry, by the same user or another", async () => {
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
            { type: "create", service: "crm", model: "contacts", body: { first_name: "Signer", last_name: "{{instance.id}}", email: "{{data.email}}" } },
            { type: "update", service: "documents", model: "files", id: "{{data.file_id}}", body: { tags: ["signed"] } },
          ],
        },
      ],
    });
    const file = await uploadFile();
    const i = await start(t.id);
    const first = `first-${crypto.randomUUID()}@example.com`;
    const failed = await take(i.id, { transition: "sign", data: { email: first, file_id: crypto.randomUUID() } }, editor.token);
    expect(failed.status).toBe(424);
    const p = await expectProblem(failed);
    expect(p).toMatchObject({ action: { index: 1, status: 404 }, undone: [expect.stringMatching(/^delete crm contacts /)] });
    expect(p.not_undone).toBeUndefined();
    expect(await contactsWith(first)).toEqual([]);
    expect(await read(i.id)).toMatchObject({ state: "draft", version: 1 });

    // The same data again fails the same way, and is undone again (no 409).
    const again = await take(i.id, { transition: "sign", data: { email: first, file_id: crypto.randomUUID() } }, editor.token);
    expect(again.status).toBe(424);
    expect(await contactsWith(first)).toEqual([]);

    // Corrected data, by an admin: both actions run afresh.
    const second = `second-${crypto.randomUUID()}@example.com`;
    const signed = await ok(take(i.id, { transition: "sign", data: { email: second, file_id: file.id } }));
    expect(signed).toMatchObject({ state: "signed", version: 2 });
    const history: any = await ok(as(admin.access_token).get(`/v1/workflows/instances/${i.id}/history`));
    expect(history.data[1].actions).toMatchObject([
      { type: "create", status: 201, replayed: false },
      { type: "update", status: 200, replayed: false, id: file.id },
    ]);
    expect(await contactsWith(second)).toHaveLength(1);
    expect(await contactsWith(first)).toEqual([]);
  });

  it("puts an updated record's fields back, and discards a child it started", async () => {
    const child = await createTemplate(simple({ name: "Child" }));
    const t = await createTemplate({
      name: "Tag, start, create",
      initial_state: "draft",
      states: [
        { key: "draft", name: "Draft" },
        { key: "done", name: "Done", terminal: true },
      ],
      transitions: [
        {
          key: "go",
          name: "Go",
          from: ["draft"],
          to: "done",
          actions: [
            { type: "update", service: "documents", model: "files", id: "{{data.file_id}}", body: { tags: ["{{data.tag}}"] } },
            { type: "start_workflow", template_id: child.id, data: { note: "{{data.tag}}" } },
            { type: "create", service: "crm", model: "contacts", body: { first_name: "X", last_name: "Y", email: "{{data.email}}" } },
          ],
        },
      ],
    });
    const file = await uploadFile(["before"]);
    const i = await start(t.id);
    // An email the CRM refuses: the third action fails.
    const failed = await take(i.id, { transition: "go", data: { file_id: file.id, tag: "after", email: "not an email" } }, editor.token);
    expect(failed.status).toBe(424);
    const p = await expectProblem(failed);
    expect(p.undone).toEqual([expect.stringMatching(/^discard child instance /), `restore documents files ${file.id}`]);
    const childId = (p.undone as string[])[0]!.split(" ").pop()!;
    expect(await ok(as(admin.access_token).get(`/v1/documents/files/${file.id}`))).toMatchObject({ tags: ["before"] });
    expect((await as(admin.access_token).get(`/v1/workflows/instances/${childId}`)).status).toBe(404);
    const listed: any = await ok(as(admin.access_token).get(`/v1/workflows/instances?template_id=${child.id}`));
    expect(listed.data).toEqual([]);

    const email = `fixed-${crypto.randomUUID()}@example.com`;
    const done = await ok(take(i.id, { transition: "go", data: { file_id: file.id, tag: "fixed", email } }, editor.token));
    expect(done).toMatchObject({ state: "done", children: [{ id: childId }] });
    expect(await ok(as(admin.access_token).get(`/v1/workflows/instances/${childId}`))).toMatchObject({ data: { note: "fixed" }, version: 1 });
    expect(await ok(as(admin.access_token).get(`/v1/documents/files/${file.id}`))).toMatchObject({ tags: ["fixed"] });
  });
});

describe("custom roles naming workflows", () => {
  it("grant read, create and update on workflows, and nothing without the key", async () => {
    const mk = async (name: string, permissions: Record<string, string[]>) => ok(as(admin.access_token).post("/v1/roles", { name, permissions }), 201);
    await mk("wf-reader", { workflows: ["read"] });
    await mk("wf-runner", { workflows: ["read", "create", "update"] });
    await mk("crm-only", { crm: ["read"] });
    const reader = await user(["wf-reader"]);
    const runner = await user(["wf-runner"]);
    const outsider = await user(["crm-only"]);
    const t = await createTemplate(simple());

    const i = await start(t.id, {}, runner.token);
    expect(i.available_transitions.map((x: any) => x.key)).toEqual(["tick", "close"]);
    await ok(take(i.id, { transition: "tick" }, runner.token));
    expect(await ok(as(reader.token).get(`/v1/workflows/instances/${i.id}`))).toMatchObject({ version: 2, available_transitions: [] });
    expect((await as(reader.token).get("/v1/workflows/instances")).status).toBe(200);
    expect((await as(reader.token).post("/v1/workflows/instances", { template_id: t.id })).status).toBe(403);
    expect((await take(i.id, { transition: "tick" }, reader.token)).status).toBe(403);
    expect((await as(outsider.token).get(`/v1/workflows/instances/${i.id}`)).status).toBe(403);

    const bad = await as(admin.access_token).post("/v1/roles", { name: "wf-typo", permissions: { workflow: ["read"] } });
    expect((await expectProblem(bad)).errors).toEqual([{ path: "permissions.workflow", message: "Unknown service" }]);
  });
});

describe("watchers whose access ends", () => {
  async function watch(token: string, id: string) {
    const res = await call(`/v1/workflows/instances/${id}/events`, { headers: { upgrade: "websocket", "sec-websocket-protocol": `bearer, ${token}` } });
    expect(res.status).toBe(101);
    const ws = res.webSocket!;
    const messages: any[] = [];
    let closed: { code: number; reason: string } | undefined;
    ws.addEventListener("message", (e) => messages.push(JSON.parse(e.data as string)));
    ws.addEventListener("close", (e) => {
      closed = { code: e.code, reason: e.reason };
    });
    ws.accept();
    return { ws, messages, closed: () => closed };
  }

  async function until<T>(probe: () => T | undefined): Promise<T> {
    for (;;) {
      const v = probe();
      if (v !== undefined) return v;
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  it("a deactivated user, a user whose roles lose workflows and a role that loses them get nothing more: closed with 4403", async () => {
    await ok(as(admin.access_token).post("/v1/roles", { name: "wf-watcher", permissions: { workflows: ["read"] } }), 201);
    await ok(as(admin.access_token).post("/v1/roles", { name: "crm-viewer", permissions: { crm: ["read"] } }), 201);
    const role: any = (await ok<any>(as(admin.access_token).get("/v1/roles?limit=100"))).data.find((r: any) => r.name === "wf-watcher");
    const deactivated = await user(["editor"]);
    const demoted = await user(["editor"]);
    const byRole = await user(["wf-watcher"]);
    const t = await createTemplate(simple());
    const i = await start(t.id);
    const watchers = {
      admin: await watch(admin.access_token, i.id),
      deactivated: await watch(deactivated.token, i.id),
      demoted: await watch(demoted.token, i.id),
      byRole: await watch(byRole.token, i.id),
    };
    await ok(take(i.id, { transition: "tick" }));
    await until(() => (Object.values(watchers).every((w) => w.messages.length === 2) ? true : undefined));

    await ok(as(admin.access_token).patch(`/v1/users/${deactivated.id}`, { status: "deactivated" }));
    await ok(as(admin.access_token).put(`/v1/users/${demoted.id}/roles`, { roles: ["crm-viewer"] }));
    await ok(as(admin.access_token).patch(`/v1/roles/${role.id}`, { permissions: { crm: ["read"] } }));

    await ok(take(i.id, { transition: "tick" }));
    await ok(take(i.id, { transition: "tick" }));
    await until(() => (watchers.admin.messages.length === 4 ? true : undefined));
    for (const w of [watchers.deactivated, watchers.demoted, watchers.byRole]) {
      expect(await until(w.closed)).toMatchObject({ code: 4403 });
      expect(w.messages.map((m) => m.version ?? m.instance.version)).toEqual([1, 2]);
    }
    expect(watchers.admin.closed()).toBeUndefined();
    expect(watchers.admin.messages.map((m) => m.version ?? m.instance.version)).toEqual([1, 2, 3, 4]);
    watchers.admin.ws.close(1000, "bye");
  });

  it("a token that expires closes its socket by the alarm, with nothing broadcast", async () => {
    const key = await importJWK(JSON.parse((env as any).IDP_PRIVATE_JWK), "ES256");
    const exp = Math.floor(Date.now() / 1000) + 2;
    const token = await new SignJWT({ tenant: admin.organization_id, groups: ["viewer"], scope: "read" })
      .setProtectedHeader({ alg: "ES256", kid: "idp-key-1" })
      .setIssuer("https://idp.example")
      .setAudience("buildly")
      .setSubject("external-watcher")
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(key);
    const t = await createTemplate(simple());
    const i = await start(t.id);
    const w = await watch(token, i.id);
    expect(await until(w.closed)).toMatchObject({ code: 4401 });
    expect(w.messages).toHaveLength(1);
    expect(await read(i.id)).toMatchObject({ version: 1 });
  });
});

describe("quotas of an organization", () => {
  // The test configuration's WORKFLOW_QUOTAS: 60 templates, 20 versions each, 1 MiB of templates, 150 running instances.
  const small = (n: number) => simple({ name: `Template ${n}` });
  /** A template of about `size` bytes as stored: strings in an action's body. */
  const sized = (n: number, size: number) => {
    const keys = Math.ceil((size - 900) / 15_000);
    const body = Object.fromEntries(Array.from({ length: keys }, (_, k) => [`k${k}`, "x".repeat(Math.floor((size - 900) / keys))]));
    return simple({
      name: `Big ${n}`,
      transitions: [
        { key: "tick", name: "Tick", from: ["open"], to: "open", actions: [{ type: "create", service: "crm", model: "contacts", body }] },
        { key: "close", name: "Close", from: ["open"], to: "end" },
      ],
    });
  };
  const statusesOf = (rs: Response[]) => rs.map((r) => r.status).sort();

  it("a template version over 64 KiB as stored is 413, naming the quota", async () => {
    const res = await as(admin.access_token).post("/v1/workflows/templates", sized(0, 70_000));
    expect(res.status).toBe(413);
    expect(await expectProblem(res)).toMatchObject({ type: "https://buildly.dev/problems/quota-exceeded", quota: "template_bytes", limit: 65536 });
  });

  it("templates per organization hold exactly under concurrent creates; deleting one frees a place", async () => {
    const org = await registerOrganization("Template quota");
    const post = (body: unknown) => as(org.access_token).post("/v1/workflows/templates", body);
    for (let n = 0; n < 50; n++) expect((await post(small(n))).status).toBe(201);
    const burst = await Promise.all(Array.from({ length: 20 }, (_, n) => post(small(100 + n))));
    expect(statusesOf(burst)).toEqual([...Array(10).fill(201), ...Array(10).fill(422)]);
    const refused = burst.find((r) => r.status === 422)!;
    expect(await expectProblem(refused)).toMatchObject({ type: "https://buildly.dev/problems/quota-exceeded", quota: "templates", limit: 60 });
    const page: any = await ok(as(org.access_token).get("/v1/workflows/templates?limit=100"));
    expect(page.data).toHaveLength(60);
    expect((await call(`/v1/workflows/templates/${page.data[0].id}`, bearer(org.access_token, { method: "DELETE" }))).status).toBe(204);
    expect((await post(small(999))).status).toBe(201);
  }, 120_000);

  it("versions per template hold exactly under concurrent changes", async () => {
    const t = await createTemplate(small(0));
    const put = (n: number) => as(admin.access_token).put(`/v1/workflows/templates/${t.id}`, small(n));
    for (let n = 2; n <= 15; n++) expect((await put(n)).status).toBe(200);
    const burst = await Promise.all(Array.from({ length: 10 }, (_, n) => put(100 + n)));
    expect(statusesOf(burst)).toEqual([...Array(5).fill(200), ...Array(5).fill(422)]);
    expect(await expectProblem(burst.find((r) => r.status === 422)!)).toMatchObject({ quota: "versions_per_template", limit: 20 });
    expect(await ok(as(admin.access_token).get(`/v1/workflows/templates/${t.id}`))).toMatchObject({ version: 20 });
    expect(await ok(as(admin.access_token).get(`/v1/workflows/templates/${t.id}?version=20`))).toMatchObject({ version: 20 });
  });

  it("the bytes of an organization's templates hold exactly under concurrent creates", async () => {
    const org = await registerOrganization("Template bytes quota");
    const post = (n: number) => as(org.access_token).post("/v1/workflows/templates", sized(n, 60_000));
    for (let n = 0; n < 15; n++) expect((await post(n)).status).toBe(201);
    // 17 fit in 1 MiB, 18 do not.
    const burst = await Promise.all(Array.from({ length: 6 }, (_, n) => post(100 + n)));
    expect(statusesOf(burst)).toEqual([201, 201, 422, 422, 422, 422]);
    expect(await expectProblem(burst.find((r) => r.status === 422)!)).toMatchObject({ quota: "template_bytes_total", limit: 1048576 });
  });

  it("running instances per organization hold exactly under concurrent starts; one that ends frees a place", async () => {
    const org = await registerOrganization("Instance quota");
    const t = await ok(as(org.access_token).post("/v1/workflows/templates", small(0)), 201);
    const startOne = () => as(org.access_token).post("/v1/workflows/instances", { template_id: t.id, data: { note: "x".repeat(1000) } });
    const first: any[] = [];
    for (let batch = 0; batch < 29; batch++) first.push(...(await Promise.all(Array.from({ length: 5 }, () => ok(startOne(), 201)))));
    const burst = await Promise.all(Array.from({ length: 10 }, startOne));
    expect(statusesOf(burst)).toEqual([...Array(5).fill(201), ...Array(5).fill(422)]);
    expect(await expectProblem(burst.find((r) => r.status === 422)!)).toMatchObject({ quota: "running_instances", limit: 150 });
    await ok(take(first[0].id, { transition: "close" }, org.access_token));
    expect((await startOne()).status).toBe(201);
    expect((await startOne()).status).toBe(422);
    // The index keeps no instance data once the object holds it.
    const row = await env.DB.prepare("SELECT init FROM workflow_instances WHERE id = ?").bind(first[1].id).first<{ init: string }>();
    expect(JSON.parse(row!.init).data).toEqual({});
    expect(await ok(as(org.access_token).get(`/v1/workflows/instances/${first[1].id}`))).toMatchObject({ data: { note: "x".repeat(1000) } });
  }, 120_000);
});
