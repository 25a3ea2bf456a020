// The web console (apps/console, served by workers/console through the gateway at /console/): signed
// in through the hosted login (code + PKCE) in Debian's headless Chromium, as the demo admin and the
// demo viewer, each page doing a real action, with axe-core checking each page for serious and
// critical accessibility violations.
import { existsSync } from "node:fs";
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import AxeBuilder from "@axe-core/playwright";
import { type Browser, chromium, type Locator, type Page } from "playwright-core";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { anon, baseUrl, DEMO_ADMIN, DEMO_PASSWORD, listAll, sdk, unique } from "./helpers";
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
  const issuer = () => `http://127.0.0.1:${(receiver.address() as AddressInfo).port}`;
  // One sign-in per role for the whole file: the admin's page is shared by the admin's tests.
  let adminPage: Page | undefined;
  const asAdmin = async () => (adminPage ??= await signIn(DEMO_ADMIN));

  beforeAll(async () => {
    const admin = sdk();
    const clients = await admin.GET("/v1/clients", { params: { query: { limit: 100 } } });
    clientId = clients.data.find((c) => c.first_party)!.client_id;
    // A webhook receiver on this machine, subscribed to contacts, so a delivery exists to redeliver.
    // It also answers an OpenID discovery document, so the People page can connect it as an identity provider.
    receiver = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        if (req.url !== "/.well-known/openid-configuration") return res.writeHead(204).end();
        res.writeHead(200, { "content-type": "application/json" }).end(
          JSON.stringify({
            issuer: issuer(),
            authorization_endpoint: `${issuer()}/auth`,
            token_endpoint: `${issuer()}/token`,
            jwks_uri: `${issuer()}/jwks`,
            code_challenge_methods_supported: ["S256"],
          }),
        );
      });
    });
    await new Promise<void>((r) => receiver.listen(0, "127.0.0.1", r));
    hookUrl = `${issuer()}/console-hook`;
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
    // Later files sign the demo admin in with a password: never leave the second factor required.
    await sdk().PUT("/v1/organizations/current/second-factor-policy", { body: { require_for_admins: false } });
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
    await settled(page);
  }

  /**
   * Until the page shows no "Loading …": a list that arrives moves what is below it, and a click
   * aimed while the layout moves can land beside its button (the People page loads six lists).
   */
  async function settled(page: Page) {
    await expect
      .poll(
        () =>
          page
            .getByRole("status")
            .filter({ hasText: /^Loading / })
            .count(),
        { timeout: 20_000 },
      )
      .toBe(0);
  }

  /** Waits for a form's success text; on a timeout, says what the form shows instead (its error, or still working). */
  async function shows(form: Locator, text: string) {
    try {
      await form.getByText(text).waitFor({ timeout: 30_000 });
    } catch (err) {
      const now = ((await form.textContent().catch(() => "(the form is gone)")) ?? "").replace(/\s+/g, " ");
      throw new Error(`${(err as Error).message.split("\n")[0]}; the form shows: ${now}`);
    }
  }

  /** One view of the Data page (its own navigation: Companies, Files, Search, ...). */
  async function dataView(page: Page, link: string) {
    if (!(await page.getByRole("heading", { level: 1, name: "Data" }).count())) await open(page, "Data");
    await page.getByRole("navigation", { name: "Data" }).getByRole("link", { name: link, exact: true }).click();
    await page.getByRole("navigation", { name: "Data" }).getByRole("link", { name: link, exact: true }).and(page.locator("[aria-current=page]")).waitFor();
  }

  async function axe(page: Page, where: string) {
    const { violations } = await new AxeBuilder({ page }).analyze();
    const bad = violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => `${v.id} (${v.impact}): ${v.nodes.map((n) => n.target.join(" ")).join(", ")}`);
    expect(bad, `axe on ${where}`).toEqual([]);
  }

  it("opens with the demo organization's documented console link", () => {
    // The seed gives the demo organization's console client a fixed id (docs/console.md, README).
    expect(clientId).toBe("0c000000-0000-4000-8000-000000000001");
  });

  it("as the admin: every page, each with a real action, and a reload stays signed in", async () => {
    const page = await asAdmin();
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
    // The template drawn as a graph: its states as boxes, its transitions as arrows.
    const graph = page.getByRole("img", { name: /^Document approval as a graph: Draft to In review by Submit for review/ });
    await graph.waitFor();
    expect(await graph.locator("g.state").count()).toBe(4);
    expect(await graph.locator("g.edge").count()).toBeGreaterThanOrEqual(4);
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
    await shows(invite, `Invited ${email} as viewer.`);
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
    // Rotate the secret: the new one is shown once.
    const hooks = page.getByRole("region", { name: "Subscriptions" });
    await hooks.getByRole("button", { name: `Rotate the secret of ${hookUrl}` }).click();
    await hooks.getByRole("button", { name: /^Yes, rotate/ }).click();
    await expect.poll(() => hooks.getByTestId("webhook-secret").textContent()).toMatch(/^whsec_\S{20,}$/);
    // A paused (or disabled) endpoint is enabled again with its button.
    await sdk().PATCH("/v1/webhooks/{id}", { params: { path: { id: webhookId } }, body: { status: "paused" } });
    await open(page, "Overview");
    await open(page, "Webhooks");
    await page.getByRole("button", { name: `Re-enable ${hookUrl}` }).click();
    await page.getByText(`${hookUrl} is active again.`).waitFor();
    expect((await sdk().GET("/v1/webhooks/{id}", { params: { path: { id: webhookId } } })).status).toBe("active");
    await axe(page, "webhooks");
    expect(outside).toEqual([]);
  }, 300_000);

  it("as the admin: companies, deals, calendars, files, search and a record's related and join records", async () => {
    const page = await asAdmin();
    const name = unique("Console Co");
    // Companies: create one, then edit it.
    await dataView(page, "Companies");
    const newCompany = page.getByRole("form", { name: "New company" });
    await newCompany.getByLabel("Name").fill(name);
    await newCompany.getByLabel("Domain").fill("console.example");
    await newCompany.getByRole("button", { name: "Create" }).click();
    await newCompany.getByText(`Created ${name}.`).waitFor();
    await page.getByRole("button", { name: `Edit ${name}` }).click();
    const edit = page.getByRole("form", { name: "Edit company" });
    await edit.getByLabel("Domain").fill("renamed.example");
    await edit.getByRole("button", { name: "Save" }).click();
    await edit.getByText(`Saved ${name}.`).waitFor();
    await page.getByRole("region", { name: "Companies" }).getByText("renamed.example").waitFor();
    await axe(page, "data: companies");

    // Deals: create one in a stage of the default pipeline.
    await dataView(page, "Deals");
    const deal = unique("Console deal");
    const newDeal = page.getByRole("form", { name: "New deal" });
    await newDeal.getByLabel("Title").fill(deal);
    await newDeal.getByLabel("Amount").fill("1200");
    await newDeal.getByLabel(/^Stage/).selectOption({ label: "Proposal" });
    await newDeal.getByRole("button", { name: "Create" }).click();
    await newDeal.getByText(`Created ${deal}.`).waitFor();
    await page
      .getByRole("region", { name: "Deals" })
      .getByText(/12\.00 · Proposal/)
      .first()
      .waitFor();
    await axe(page, "data: deals");

    // Calendars: create one.
    await dataView(page, "Calendars");
    const calendar = unique("Console calendar");
    const newCalendar = page.getByRole("form", { name: "New calendar" });
    await newCalendar.getByLabel("Name").fill(calendar);
    await newCalendar.getByLabel(/^Time zone/).fill("Europe/Berlin");
    await newCalendar.getByRole("button", { name: "Create" }).click();
    await newCalendar.getByText(`Created ${calendar}.`).waitFor();
    await axe(page, "data: calendars");

    // Files: upload one, download it back.
    await dataView(page, "Files");
    const fileName = `${unique("console-note").toLowerCase()}.txt`;
    const upload = page.getByRole("form", { name: "Upload a file" });
    await upload.getByLabel("File").setInputFiles({ name: fileName, mimeType: "text/plain", buffer: Buffer.from("written in the console\n") });
    await upload.getByLabel(/^Tags/).fill("console");
    await upload.getByRole("button", { name: "Upload" }).click();
    await upload.getByText(`Uploaded ${fileName} (23 B).`).waitFor();
    const [download] = await Promise.all([page.waitForEvent("download"), upload.getByRole("button", { name: `Download ${fileName}` }).click()]);
    expect(download.suggestedFilename()).toBe(fileName);
    const body = await download.createReadStream().then(async (s) => {
      const chunks: Buffer[] = [];
      for await (const c of s) chunks.push(c as Buffer);
      return Buffer.concat(chunks).toString();
    });
    expect(body).toBe("written in the console\n");
    await axe(page, "data: files");

    // Search across services finds the company; its link opens the record.
    await dataView(page, "Search");
    await page.getByRole("searchbox").fill(name);
    await page.getByRole("button", { name: "Search", exact: true }).click();
    await page.getByRole("list", { name: "Search results" }).getByRole("link", { name }).click();
    await page.getByRole("region", { name }).getByText("renamed.example").waitFor();
    await axe(page, "data: search and a company");

    // The demo contact Ada: her related records from other services (one joined read), a join record
    // to the uploaded file added here, and the link followed to the file's own record.
    await page.goto(`${baseUrl()}/console/data?record=crm/contacts/6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01`);
    const related = page.getByRole("region", { name: "Related records" });
    await related.getByRole("list", { name: "Related appointments" }).getByRole("link").first().waitFor({ timeout: 20_000 });
    await related.getByRole("list", { name: "Related documents" }).getByRole("link").first().waitFor();
    const files = await sdk().GET("/v1/documents/files", { params: { query: { name: fileName } } });
    const link = page.getByRole("form", { name: "Link a record" });
    await link.getByLabel("Relationship").selectOption({ label: "documents (documents.files)" });
    await link.getByLabel("Id of the related record").fill(files.data[0]!.id);
    await link.getByRole("button", { name: "Link" }).click();
    const joins = page.getByRole("region", { name: "Join records" });
    await joins.getByText("Linked.").waitFor();
    await related.getByRole("link", { name: fileName }).waitFor();
    await axe(page, "data: a contact's record");
    await related.getByRole("link", { name: fileName }).click();
    await page.getByRole("region", { name: fileName }).waitFor();
    await page.getByRole("region", { name: "Related records" }).getByRole("link", { name: "Ada Lovelace" }).waitFor();

    await dataView(page, "Relationships");
    await page.getByRole("region", { name: "Relationships" }).getByText("platform default", { exact: false }).first().waitFor();
    await axe(page, "data: relationships");
    expect(outside).toEqual([]);
  }, 300_000);

  it("as the admin: API clients, identity providers, the second-factor policy, and an invitation's link a newcomer joins with", async () => {
    const page = await asAdmin();
    await open(page, "People");
    // An API client: its secret shown once, then revoked.
    const clients = page.getByRole("region", { name: "API clients" });
    const bot = unique("console-bot");
    const newClient = clients.getByRole("form", { name: "New API client" });
    await newClient.getByLabel("Name").fill(bot);
    await newClient.getByRole("checkbox", { name: "viewer" }).check();
    await newClient.getByRole("button", { name: "Create client" }).click();
    await expect.poll(() => clients.getByTestId("client-secret").textContent()).toMatch(/^\S{20,}$/);
    await clients.getByText(`Created ${bot}.`).waitFor();
    await clients
      .getByRole("button", { name: `Revoke ${bot}` })
      .first()
      .click();
    await clients.getByRole("button", { name: `Yes, revoke ${bot}` }).click();
    await clients.getByText(`Revoked ${bot}.`).waitFor();
    const listed = await listAll<{ name: string }>("/v1/clients");
    expect(listed.find((c) => c.name === bot)).toMatchObject({ status: "revoked", roles: ["viewer"] });

    // An identity provider (this file's receiver answers its discovery document), connected then disconnected.
    const idps = page.getByRole("region", { name: "Identity providers" });
    const idp = unique("Console IdP");
    const connect = idps.getByRole("form", { name: "Connect an identity provider" });
    await connect.getByLabel("Name").fill(idp);
    await connect.getByLabel("Issuer").fill(issuer());
    await connect.getByLabel("Client id at the provider").fill("buildly");
    await connect.getByLabel("Client secret at the provider").fill("a secret at the provider");
    await connect.getByLabel(/^Email domains/).fill(`${unique("idp").toLowerCase()}.example`);
    await connect.getByRole("button", { name: "Connect" }).click();
    await idps.getByText(`Connected ${idp}.`, { exact: false }).waitFor();
    await idps.getByText(issuer(), { exact: true }).waitFor();
    await axe(page, "people (admin, every section)");
    await idps.getByRole("button", { name: `Disconnect ${idp}` }).click();
    await idps.getByRole("button", { name: /^Yes, disconnect/ }).click();
    await idps.getByText(`Disconnected ${idp}.`).waitFor();
    expect((await sdk().GET("/v1/organizations/current/identity-providers")).data.some((p) => p.name === idp)).toBe(false);

    // The second-factor policy: required, then optional again (later files sign the demo admin in with a password).
    const policy = page.getByRole("form", { name: "Second-factor policy" });
    await policy.getByLabel("Require a second factor for admins").check();
    await policy.getByRole("button", { name: "Save policy" }).click();
    await policy.getByText("Admins now need a second factor", { exact: false }).waitFor();
    expect((await sdk().GET("/v1/organizations/current/second-factor-policy")).require_for_admins).toBe(true);
    await policy.getByLabel("Require a second factor for admins").uncheck();
    await policy.getByRole("button", { name: "Save policy" }).click();
    await policy.getByText("A second factor is now optional for admins.").waitFor();
    expect((await sdk().GET("/v1/organizations/current/second-factor-policy")).require_for_admins).toBe(false);

    // An invitation: its link carries the organization's console client; a newcomer in another
    // browser opens it, chooses a password, signs in on the hosted login and lands in the console.
    const invite = page.getByRole("form", { name: "Invite a user" });
    const email = `${unique("newcomer").toLowerCase()}@example.com`;
    await invite.getByLabel("Email").fill(email);
    await invite.getByRole("button", { name: "Send invitation" }).click();
    const joinLink = (await invite.getByTestId("invitation-link").textContent())!;
    expect(joinLink).toMatch(new RegExp(`/console/join\\?client_id=${clientId}#invitation=`));
    const newcomer = await (await browser.newContext({ viewport: { width: 390, height: 900 } })).newPage();
    await newcomer.goto(joinLink);
    await newcomer.getByLabel("Your name").fill("Newcomer");
    await newcomer.getByLabel("Password (at least 10 characters)").fill("a newcomer's long password");
    await newcomer.getByLabel("The same password again").fill("a newcomer's long password");
    await axe(newcomer, "join");
    await newcomer.getByRole("button", { name: "Join and sign in" }).click();
    await newcomer.getByLabel("Email").fill(email);
    await newcomer.getByLabel("Password").fill("a newcomer's long password");
    await newcomer.getByRole("button", { name: "Sign in", exact: true }).click();
    await newcomer.getByRole("heading", { level: 1, name: "Overview" }).waitFor({ timeout: 20_000 });
    await newcomer.getByText("Newcomer", { exact: false }).first().waitFor();
    await newcomer.context().close();
  }, 300_000);

  it("a transition on a stale version (someone else moved the instance) shows the new state, not an error page", async () => {
    const admin = sdk();
    const demo = await admin.GET("/v1/workflows/instances/{id}", { params: { path: { id: DEMO_INSTANCE } } });
    const started = await admin.POST("/v1/workflows/instances", { body: { template_id: DEMO_TEMPLATE, subject: demo.subject ?? undefined, data: demo.data } });
    // A second page of the admin's browser whose live updates never arrive (its WebSocket is held
    // open and silent), so the page keeps the version it loaded.
    const page = await (await asAdmin()).context().newPage();
    await page.routeWebSocket(/\/v1\/workflows\/instances\//, () => {});
    await page.goto(`${baseUrl()}/console/workflows?instance=${started.id}`);
    const view = page.getByRole("region", { name: "Instance", exact: true });
    await view.getByTestId("instance-state").getByText("draft").waitFor({ timeout: 20_000 });
    await admin.POST("/v1/workflows/instances/{id}/transitions", { params: { path: { id: started.id } }, body: { transition: "submit" } });
    await view.getByRole("button", { name: "Submit for review" }).click();
    await view.getByText("It changed meanwhile; it is now in in_review", { exact: false }).waitFor();
    await view.getByTestId("instance-state").getByText("in_review").waitFor();
    expect(await view.getByRole("alert").count()).toBe(0);
    await view.getByRole("button", { name: "Approve" }).waitFor();
    await page.close();
  }, 120_000);

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

    for (const [view, form] of [
      ["Companies", "New company"],
      ["Deals", "New deal"],
      ["Calendars", "New calendar"],
      ["Files", "Upload a file"],
    ] as const) {
      await dataView(page, view);
      await page.getByRole("region", { name: view }).getByRole("listitem").first().waitFor();
      expect(await page.getByRole("form", { name: form }).count(), view).toBe(0);
      expect(await page.getByRole("button", { name: /^Edit / }).count(), view).toBe(0);
    }
    await axe(page, "data: files (viewer)");
    await page.getByRole("region", { name: "Files" }).getByRole("link").first().click();
    await page.getByRole("region", { name: "Join records" }).waitFor();
    expect(await page.getByRole("form", { name: "Link a record" }).count()).toBe(0);
    await axe(page, "data: a record (viewer)");

    await open(page, "Workflows");
    await page.getByRole("region", { name: "Instances" }).getByRole("listitem").getByRole("button").first().click();
    await page.getByRole("region", { name: "Instance", exact: true }).getByTestId("instance-state").waitFor();
    expect(await page.getByRole("region", { name: "Instance", exact: true }).getByRole("button").count()).toBe(0);

    // Users are for admins: the API's 403 shows as its problem, with the request id; roles are readable.
    await open(page, "People");
    const usersAlert = page.getByRole("region", { name: "Users" }).getByRole("alert");
    await usersAlert.getByText("Request id", { exact: false }).waitFor();
    await expect.poll(() => usersAlert.textContent()).toMatch(/403/);
    await page.getByRole("region", { name: "Roles" }).getByText("viewer").first().waitFor();
    expect(await page.getByRole("form", { name: "Invite a user" }).count()).toBe(0);
    for (const section of ["API clients", "Identity providers", "Second factor"]) expect(await page.getByRole("region", { name: section }).count()).toBe(0);
    await axe(page, "people (viewer)");

    // So is the audit trail.
    await open(page, "Events and audit");
    const alert = page.getByRole("region", { name: "Audit trail" }).getByRole("alert");
    await alert.getByText("Request id", { exact: false }).waitFor();
    await expect.poll(() => alert.textContent()).toMatch(/403/);

    await open(page, "Webhooks");
    await page.getByRole("region", { name: "Subscriptions" }).getByRole("alert").waitFor();
    expect(await page.getByRole("button", { name: "Redeliver" }).count()).toBe(0);
    expect(await page.getByRole("button", { name: /^(Rotate|Re-enable) / }).count()).toBe(0);
    await axe(page, "webhooks (viewer)");
    expect(outside).toEqual([]);
    await page.context().close();
  }, 300_000);
});
