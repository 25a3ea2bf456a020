// Screenshots of the console's main pages for the README, made from a running platform so they
// stay current: `npm run dev` in one shell, then `node scripts/screenshots.mjs [gateway URL]`
// (default http://127.0.0.1:8787). Signs in through the hosted login as the demo admin in Debian's
// headless Chromium (as the e2e tests do, through playwright-core) and writes docs/images/console-*.png.
import { mkdirSync } from "node:fs";
import { fileURLToPath } from "node:url";
import { chromium } from "playwright-core";

const base = (process.argv[2] ?? process.env.GW ?? "http://127.0.0.1:8787").replace(/\/+$/, "");
const out = fileURLToPath(new URL("../docs/images/", import.meta.url));
const CHROMIUM = process.env.CHROMIUM ?? "/usr/bin/chromium";
const ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
const DEMO = { email: "admin@demo.buildly.dev", password: "buildly-demo-password" };
const ADA = "6f1d4b52-0c3e-4a8e-9b1a-2d7c5e9f0a01";
const DEMO_INSTANCE = "7e0f1a00-0000-4000-8000-0000000000a1";

// The demo organization's console client (its id is fixed by the demo seed; asked for, in case this state predates it).
async function consoleClient() {
  const token = await fetch(`${base}/v1/auth/token`, {
    method: "POST",
    headers: { "content-type": "application/x-www-form-urlencoded" },
    body: new URLSearchParams({ grant_type: "password", username: DEMO.email, password: DEMO.password }),
  }).then((r) => r.json());
  if (!token.access_token) throw new Error(`The demo admin could not sign in at ${base}: ${JSON.stringify(token)}`);
  const clients = await fetch(`${base}/v1/clients?limit=100`, { headers: { authorization: `Bearer ${token.access_token}` } }).then((r) => r.json());
  return clients.data.find((c) => c.first_party).client_id;
}

const shots = [
  { file: "console-overview.png", path: "/console/", wait: { region: "Services", text: "crm" } },
  { file: "console-data.png", path: `/console/data?record=crm/contacts/${ADA}`, wait: { region: "Related records", text: "appointments" } },
  { file: "console-workflows.png", path: `/console/workflows?instance=${DEMO_INSTANCE}`, wait: { region: "Instance", text: "(live)" } },
  { file: "console-people.png", path: "/console/people", wait: { region: "Roles", text: "viewer" } },
  { file: "console-audit.png", path: "/console/audit", wait: { region: "Audit trail", text: "#" } },
];

/** Every section has drawn its data (no "Loading …" left), and nothing has the focus ring. */
async function settled(page) {
  await page.waitForFunction(() => ![...document.querySelectorAll("[role=status]")].some((e) => e.textContent?.startsWith("Loading")), null, {
    timeout: 30_000,
  });
  await page.evaluate(() => document.activeElement instanceof HTMLElement && document.activeElement.blur());
}

const client = await consoleClient();
mkdirSync(out, { recursive: true });
const browser = await chromium.launch({ executablePath: CHROMIUM, args: ARGS });
try {
  const page = await (await browser.newContext({ viewport: { width: 1400, height: 900 } })).newPage();
  await page.goto(`${base}/console/?client_id=${client}`);
  await page.getByRole("button", { name: "Sign in", exact: true }).click({ timeout: 30_000 });
  await page.getByLabel("Email").fill(DEMO.email);
  await page.getByLabel("Password").fill(DEMO.password);
  await page.getByRole("button", { name: "Sign in", exact: true }).click();
  await page.getByRole("heading", { level: 1, name: "Overview" }).waitFor({ timeout: 30_000 });
  for (const s of shots) {
    await page.goto(base + s.path);
    await page.getByRole("region", { name: s.wait.region, exact: true }).getByText(s.wait.text, { exact: false }).first().waitFor({ timeout: 30_000 });
    await settled(page);
    await page.screenshot({ path: out + s.file });
    console.log(`wrote docs/images/${s.file}`);
  }
  // The same console on a phone.
  await page.setViewportSize({ width: 390, height: 844 });
  await page.goto(`${base}/console/data`);
  await page.getByRole("region", { name: "Contacts" }).getByRole("listitem").first().waitFor({ timeout: 30_000 });
  await settled(page);
  await page.screenshot({ path: `${out}console-phone.png` });
  console.log("wrote docs/images/console-phone.png");
} finally {
  await browser.close();
}
