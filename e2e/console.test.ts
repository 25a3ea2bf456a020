// The web console (apps/console, served by workers/console through the gateway at /console/): signed
// in through the hosted login (code + PKCE) in Debian's headless Chromium, as the demo admin and the
// demo viewer, each page doing a real action, with axe-core checking each page for serious and
// critical accessibility violations.
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import AxeBuilder from "@axe-core/playwright";
import { type Browser, chromium, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anon, baseUrl, DEMO_ADMIN, DEMO_PASSWORD, sdk, unique } from "./helpers";
import { CHROMIUM, CHROMIUM_ARGS } from "./paths";

const DEMO_VIEWER = "viewer@demo.buildly.dev";
const DEMO_TEMPLATE = "7e0f1a00-0000-4000-8000-000000000001";
const DEMO_INSTANCE = "7e0f1a00-0000-4000-8000-0000000000a1";
const noBrowser = !existsSync(CHROMIUM) && !process.env.CI;

describe("the console over HTTP", () => {
  it("serves its page and hashed files from the platform's origin, with a CSP that allows only that origin", async () => {
    const res = await anon("/console/");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toMatch(/default-src 'none'.*script-src 'self'.*connect-src 'self'/);
    const html = await res.text();
    expect(html).not.toMatch(/https?:\/\//i);
    const scripts = [...html.matchAll(/src="([^"]+)"/g)].map((m) => m[1]!);
    expect(scripts.length).toBeGreaterThan(0);
    for (const s of scripts) {
      expect(s).toMatch(/^\/console\/assets\//);
      const asset = await anon(s);
      expect(asset.status, s).toBe(200);
      expect(asset.headers.get("cache-control")).toMatch(/immutable/);
      await asset.arrayBuffer();
    }
    // A page of the app (the router draws it) is the same document; /console itself redirects.
    const deep = await anon("/console/data");
    expect(deep.status).toBe(200);
    expect(await deep.text()).toBe(html);
    const bare = await anon("/console", { redirect: "manual" });
    expect(bare.status).toBe(308);
    expect(bare.headers.get("location")).toMatch(/\/console\/$/);
    const post = await anon("/console/", { method: "POST" });
    expect(post.status).toBe(405);
    await post.arrayBuffer();
  });
});

describe.skipIf(noBrowser)("the console in headless Chromium", () => {
  let browser: Browser;
  let clientId: string;
  let receiver: Server;
  let webhookId: string;
  let hookUrl: string;
  let instanceId: string;
  const outside: string[] = [];

  beforeAll(async () => {
    const admin = sdk();
    const clients = await admin.GET("/v1/clients", { params: { query: { limit: 100 } } });
    clientId = clients.data.find((c) => c.first_party)!.client_id;
    // A webhook receiver on this machine, subscribed to contacts, so a delivery exists to redeliver.
    receiver = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(204).end());
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    hookUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/console-hook`;
    const hook = await admin.POST("/v1/webhooks", { body: { url: hookUrl, events: ["crm.contact.created"] } });
    webhookId = hook.id;
    // A fresh instance of the demo approval (the demo's own may already be approved by another test), in draft.
    const demo = await admin.GET("/v1/workflows/instances/{id}", { params: { path: { id: DEMO_INSTANCE } } });
    const started = await admin.POST("/v1/workflows/instances", {
      body: {
        template_id: DEMO_TEMPLATE,
        subject: demo.subject ?? undefined,
        data: { ...demo.data, signoff_start: "2026-12-20T10:00:00Z", signoff_end: "2026-12-20T10:30:00Z" },
      },
    });
    instanceId = started.id;
    // More contacts than one page of the console's list (10), so there is a next page to go to.
    await Promise.all(
      Array.from({ length: 11 }, (_, i) =>
        admin.POST("/v1/crm/contacts", { body: { first_name: "Paged", last_name: `Contact ${i}`, email: `${unique("paged").toLowerCase()}@example.com` } }),
      ),
    );
    browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 20_000 });
  }, 120_000);

  afterAll(async () => {
    // The subscription would otherwise get a delivery for every contact the later test files create.
    if (webhookId) await sdk().DELETE("/v1/webhooks/{id}", { params: { path: { id: webhookId } } });
    await browser?.close();
    await new Promise((r) => receiver?.close(r));
  });

  async function signIn(email: string, width = 1400): Promise<Page> {
    const context = await browser.newContext({ viewport: { width, height: 1000 } });
    const page = await context.newPage();
    const origin = new URL(baseUrl()).origin;
    page.on("request", (r) => {
      if (!r.url().startsWith(origin) && !r.url().startsWith("data:")) outside.push(r.url());
    });
    await page.goto(`${baseUrl()}/console/?client_id=${clientId}`);
    // No session yet: the silent check comes back signed out, and the button opens the hosted login.
    await page.getByRole("button", { name: "Sign in", exact: true }).click({ timeout: 20_000 });
    await page.getByLabel("Email").fill(email);
    await page.getByLabel("Password").fill(DEMO_PASSWORD);
    await page.getByRole("button", { name: "Sign in", exact: true }).click();
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor({ timeout: 20_000 });
    return page;
  }

  async function open(page: Page, link: string) {
    await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: link }).click();
    await page.getByRole("heading", { level: 1, name: link }).waitFor();
  }

  async function axe(page: Page, where: string) {
    const { violations } = await new AxeBuilder({ page }).analyze();
    const bad = violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    expect(bad, `axe on ${where}`).toEqual([]);
  }

  it("as the admin: every page, each with a real action, and a reload stays signed in", async () => {
    const page = await signIn(DEMO_ADMIN);
    // Overview: the services' health, the organization, recent activity.
    await page.getByRole("region", { name: "Services" }).getByText("crm").waitFor();
    await page.getByRole("region", { name: "Organization" }).getByText("Demo", { exact: false }).first().waitFor();
    await axe(page, "overview");

    // A reload keeps the session (a silent authorize against the hosted login's session).
    await page.reload();
    await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor({ timeout: 20_000 });

    // Data: create a contact, book it an appointment, see it joined.
    await open(page, "Data");
    const last = unique("Console");
    const newContact = page.getByRole("form", { name: "New contact" });
    await newContact.getByLabel("First name").fill("Grace");
    await newContact.getByLabel("Last name").fill(last);
    await newContact.getByLabel("Email").fill(`${last.toLowerCase()}@example.com`);
    await newContact.getByRole("button", { name: "Create contact" }).click();
    await newContact.getByText(`Created Grace ${last}.`).waitFor();
    const detail = page.getByRole("region", { name: `Grace ${last}` });
    await detail.getByText("No appointments.").waitFor();
    const booking = detail.getByRole("form", { name: "New appointment" });
    await booking.getByLabel("Title").fill("Console intro call");
    await booking.getByLabel("Calendar").selectOption({ label: "Support desk" });
    await booking.getByLabel("Starts").fill("2027-03-03T07:10");
    await booking.getByLabel("Allow overlap", { exact: false }).check();
    await booking.getByRole("button", { name: "Book appointment" }).click();
    await detail.getByRole("list", { name: "Appointments of this contact" }).getByText("Console intro call").waitFor();
    await page.getByRole("button", { name: "Next page" }).click();
    await page.getByText("Page 2").waitFor();
    await axe(page, "data");

    // Workflows: the submitted instance, approved with its button; the live view shows the state.
    // Opened by its link (a full page load: the silent sign-in brings the browser back to it).
    await open(page, "Workflows");
    const instances = page.getByRole("region", { name: "Instances" });
    await instances.getByLabel("State").fill("draft");
    await instances.getByLabel("State").press("Tab");
    await instances
      .getByRole("button", { name: /Document approval/ })
      .first()
      .waitFor();
    await page.goto(`${baseUrl()}/console/workflows?instance=${instanceId}`);
    await page.getByRole("heading", { level: 1, name: "Workflows" }).waitFor({ timeout: 20_000 });
    const view = page.getByRole("region", { name: "Instance", exact: true });
    await view.getByText("(live)").waitFor({ timeout: 20_000 });
    await view.getByTestId("instance-state").getByText("draft").waitFor();
    // Someone else submits it: the change arrives over the WebSocket, with no reload.
    await sdk().POST("/v1/workflows/instances/{id}/transitions", { params: { path: { id: instanceId } }, body: { transition: "submit" } });
    await view.getByTestId("instance-state").getByText("in_review").waitFor({ timeout: 20_000 });
    await view.getByRole("button", { name: "Approve" }).click();
    await view.getByTestId("instance-state").getByText("approved").waitFor();
    await view.getByText("approve: in_review", { exact: false }).waitFor();
    const approved = await sdk().GET("/v1/workflows/instances/{id}", { params: { path: { id: instanceId } } });
    expect(approved).toMatchObject({ state: "approved", terminal: true });
    await axe(page, "workflows");

    // People: invite a user.
    await open(page, "People");
    const invite = page.getByRole("form", { name: "Invite a user" });
    const email = `${unique("invitee").toLowerCase()}@example.com`;
    await invite.getByLabel("Email").fill(email);
    await invite.getByRole("button", { name: "Send invitation" }).click();
    await invite.getByText(`Invited ${email} as viewer.`).waitFor();
    await page.getByRole("region", { name: "Invitations" }).getByText(email).first().waitFor();
    await axe(page, "people");

    // Events and audit: verify the chain.
    await open(page, "Events and audit");
    await page.getByRole("button", { name: "Verify the chain" }).click();
    await page.getByTestId("verify-result").getByText("The chain is intact", { exact: false }).waitFor();
    await axe(page, "audit");

    // Webhooks: the contact created above was delivered to our receiver; redeliver it.
    await expect
      .poll(async () => (await sdk().GET("/v1/webhooks/{id}/deliveries", { params: { path: { id: webhookId } } })).data.length, { timeout: 20_000 })
      .toBeGreaterThan(0);
    await open(page, "Webhooks");
    await page.getByRole("button", { name: hookUrl, exact: true }).click();
    const deliveries = page.getByRole("region", { name: "Deliveries" });
    await deliveries.getByRole("button", { name: "Redeliver" }).first().click();
    await deliveries.getByText("Redelivery of crm.contact.created queued.").waitFor();
    await axe(page, "webhooks");
    expect(outside).toEqual([]);
    await page.context().close();
  }, 300_000);

  it("as the viewer on a phone: reads every page, sees no write action, and the API's 403 still shows as a problem", async () => {
    const page = await signIn(DEMO_VIEWER, 390);
    await page.getByRole("region", { name: "Services" }).getByText("crm").waitFor();
    await axe(page, "overview (viewer, 390 px)");
    // The page fits the phone's width: nothing scrolls sideways.
    expect(await page.evaluate("document.documentElement.scrollWidth")).toBeLessThanOrEqual(390);

    await open(page, "Data");
    await page.getByRole("region", { name: "Contacts" }).getByRole("listitem").first().waitFor();
    expect(await page.getByRole("form", { name: "New contact" }).count()).toBe(0);
    await page.getByRole("region", { name: "Contacts" }).getByRole("button").first().click();
    await page.getByRole("heading", { level: 3, name: "Appointments" }).waitFor();
    expect(await page.getByRole("form", { name: "New appointment" }).count()).toBe(0);
    await axe(page, "data (viewer)");

    await open(page, "Workflows");
    await page.getByRole("region", { name: "Instances" }).getByRole("button").first().click();
    await page.getByRole("region", { name: "Instance", exact: true }).getByTestId("instance-state").waitFor();
    expect(await page.getByRole("region", { name: "Instance", exact: true }).getByRole("button").count()).toBe(0);

    // Users are for admins: the API's 403 shows as its problem, with the request id; roles are readable.
    await open(page, "People");
    const usersAlert = page.getByRole("region", { name: "Users" }).getByRole("alert");
    await usersAlert.getByText("Request id", { exact: false }).waitFor();
    await expect.poll(() => usersAlert.textContent()).toMatch(/403/);
    await page.getByRole("region", { name: "Roles" }).getByText("viewer").first().waitFor();
    expect(await page.getByRole("form", { name: "Invite a user" }).count()).toBe(0);
    await axe(page, "people (viewer)");

    // So is the audit trail.
    await open(page, "Events and audit");
    const alert = page.getByRole("region", { name: "Audit trail" }).getByRole("alert");
    await alert.getByText("Request id", { exact: false }).waitFor();
    await expect.poll(() => alert.textContent()).toMatch(/403/);

    await open(page, "Webhooks");
    expect(await page.getByRole("button", { name: "Redeliver" }).count()).toBe(0);
    await axe(page, "webhooks (viewer)");
    expect(outside).toEqual([]);
    await page.context().close();
  }, 300_000);
});
