// examples/quickstart.ts runs against the e2e platform as a user would run it (a Node process
// with the gateway's URL and an API client's credentials), and must get to its last step.
import { execFile } from "node:child_process";
import { createClient } from "@buildly/sdk";
import { expect, it } from "vitest";
import { REPO_ROOT } from "./paths";
import { baseUrl, checkedFetch, registerOrg, unique } from "./helpers";

it("examples/quickstart.ts: client credentials, a joined write, pagination, a verified webhook", { timeout: 180_000 }, async () => {
  const org = await registerOrg("SDK example", undefined, "example");
  const admin = createClient({ baseUrl: baseUrl(), auth: { type: "token", token: org.token }, fetch: checkedFetch });
  const robot = await admin.POST("/v1/clients", { body: { name: unique("quickstart"), roles: ["admin"] } });
  const { code, stdout, stderr } = await new Promise<{ code: number | null; stdout: string; stderr: string }>((resolve) => {
    const child = execFile(
      process.execPath,
      ["examples/quickstart.ts"],
      {
        cwd: REPO_ROOT,
        env: { ...process.env, BUILDLY_URL: baseUrl(), BUILDLY_CLIENT_ID: robot.client_id, BUILDLY_CLIENT_SECRET: robot.client_secret },
        timeout: 170_000,
      },
      (_err, stdout, stderr) => resolve({ code: child.exitCode, stdout, stderr }),
    );
  });
  expect(code, `${stdout}\n${stderr}`).toBe(0);
  expect(stdout).toMatch(/contact \S+ created with 1 appointment\(s\): Intro call/);
  expect(stdout).toMatch(/found Grace Hopper while paging/);
  expect(stdout).toMatch(/verified webhook: crm\.contact\.created for \S+/);
});
