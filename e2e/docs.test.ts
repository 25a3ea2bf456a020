import { existsSync, mkdirSync } from "node:fs";
import { join } from "node:path";
import { chromium } from "playwright-core";
import { describe, expect, it } from "vitest";
import { api, baseUrl } from "./helpers";
import { ARTIFACTS_DIR, CHROMIUM, CHROMIUM_ARGS } from "./paths";

/** Every URL the page loads from its markup: <script src>, <link href>, <img src>. */
function assetUrls(html: string): string[] {
  const urls: string[] = [];
  for (const m of html.matchAll(/<(script|link|img)\b[^>]*>/gi)) {
    const attr = /\b(?:src|href)\s*=\s*["']([^"']*)["']/i.exec(m[0]);
    if (attr) urls.push(attr[1]!);
  }
  return urls;
}

/** The little of a DOM element the page callbacks below read (the e2e project has no DOM types). */
type PageElement = { className: string; getAttribute(name: string): string | null; querySelector(selector: string): PageElement | null };
const HTTP_METHODS = ["get", "put", "post", "delete", "options", "head", "patch", "trace"] as const;
/** The gateway's last tag's last operation: the end of swagger-ui's list, far below the first screen. */
const DEEP_LINKED = { tag: "Webhooks", operationId: "redeliverWebhookDelivery", op: "post /v1/webhooks/{id}/deliveries/{delivery_id}/redeliver" };

describe("GET /docs (swagger-ui from our own assets)", () => {
  it("is an HTML page whose every script and stylesheet is a same-origin path that answers 200", async () => {
    const res = await api("/docs");
    expect(res.status).toBe(200);
    expect(res.headers.get("content-type")).toMatch(/^text\/html/);
    expect(res.headers.get("content-security-policy")).toMatch(/script-src 'self'/);
    const html = await res.text();

    // No CDN (nor any other host) anywhere in the page, protocol-relative included.
    expect(html).not.toMatch(/https?:\/\//i);
    expect(html).not.toMatch(/["'(]\/\//);

    const urls = assetUrls(html);
    expect(urls).toEqual(expect.arrayContaining(["/docs/vendor/swagger-ui-bundle.js", "/docs/vendor/swagger-ui.css", "/docs/init.js"]));
    for (const url of urls) {
      expect(url, url).toMatch(/^\/[^/]/);
      const asset = await api(url);
      const body = await asset.arrayBuffer();
      expect(asset.status, url).toBe(200);
      expect(body.byteLength, url).toBeGreaterThan(0);
    }
    const bundle = await api("/docs/vendor/swagger-ui-bundle.js");
    expect(bundle.headers.get("content-type")).toMatch(/javascript/);
    await bundle.arrayBuffer();
    const init = await (await api("/docs/init.js")).text();
    expect(init).toContain('"/openapi.json"');
  });

  const noBrowser = !existsSync(CHROMIUM) && !process.env.CI;
  it("draws every tag and operation of /openapi.json in headless Chromium, as a reader scrolls, with no request leaving 127.0.0.1", async (ctx) => {
    if (noBrowser) {
      console.warn(`[e2e] ${CHROMIUM} is missing: the browser check of /docs is skipped (run e2e/ensure-chromium.sh). In CI it always runs.`);
      ctx.skip(`${CHROMIUM} is missing; run e2e/ensure-chromium.sh`);
    }
    // What swagger-ui must draw: each operation ("get /health") and each tag that has one
    // (an operation without tags goes under swagger-ui's "default").
    const doc = (await (await api("/openapi.json")).json()) as { paths: Record<string, Record<string, { tags?: string[] }>> };
    const wantOps = new Set<string>();
    const wantTags = new Set<string>();
    let pairs = 0;
    for (const [path, item] of Object.entries(doc.paths)) {
      for (const method of HTTP_METHODS) {
        const op = item[method];
        if (!op) continue;
        wantOps.add(`${method} ${path}`);
        for (const tag of op.tags?.length ? op.tags : ["default"]) {
          wantTags.add(tag);
          pairs++;
        }
      }
    }
    for (const op of ["get /health", "get /v1/crm/contacts/{id}", "get /v1/documents/files", "get /v1/appointments/calendars", DEEP_LINKED.op]) {
      expect(wantOps, op).toContain(op);
    }

    const origin = new URL(baseUrl());
    const browser = await chromium.launch({ executablePath: CHROMIUM, args: CHROMIUM_ARGS, timeout: 20_000 });
    try {
      const page = await browser.newPage({ viewport: { width: 1280, height: 1800 } });
      const requests: string[] = [];
      const errors: string[] = [];
      page.on("request", (r) => requests.push(r.url()));
      page.on("pageerror", (e) => errors.push(String(e)));
      page.on("console", (m) => {
        if (m.type() === "error") errors.push(m.text());
      });

      // Opened on a deep link to the list's last operation: swagger-ui fetches /openapi.json,
      // scrolls down to that operation and opens it.
      const res = await page.goto(new URL(`/docs#/${DEEP_LINKED.tag}/${DEEP_LINKED.operationId}`, origin).href, { waitUntil: "load" });
      expect(res?.status()).toBe(200);
      await page.locator(`#operations-${DEEP_LINKED.tag}-${DEEP_LINKED.operationId}.is-open`).waitFor({ state: "visible", timeout: 150_000 });
      // swagger-ui (5.35) windows a list of 150 or more tags and operations: it draws only what
      // is on screen (plus a few), and the rest as the window scrolls; back at the top, the list's
      // first item (data-index 0) is drawn again.
      await page.evaluate("scrollTo(0, 0)");
      const windowed = (await page.locator(".operations-virtual").count()) > 0;
      if (windowed) await page.locator('.operations-virtual__item[data-index="0"]').waitFor({ state: "attached", timeout: 15_000 });
      await expect.poll(() => page.locator(".info .title").textContent()).toContain("Buildly Edge API");
      mkdirSync(ARTIFACTS_DIR, { recursive: true });
      await page.screenshot({ path: join(ARTIFACTS_DIR, "docs.png"), fullPage: false });

      // Scroll down half a window at a time, each time waiting for the next item to be drawn, and
      // collect what was drawn on the way, until the list's last item (tags + their operations) is.
      const lastIndex = wantTags.size + pairs - 1;
      const drawnOps = new Set<string>();
      const drawnTags = new Set<string>();
      for (;;) {
        const drawn = await page.locator("#swagger-ui").evaluate((root) => ({
          ops: Array.from(root.querySelectorAll(".opblock"), (el: PageElement) => {
            const method = /\bopblock-(get|put|post|delete|options|head|patch|trace)\b/.exec(el.className)?.[1];
            return `${method} ${el.querySelector("[data-path]")?.getAttribute("data-path")}`;
          }),
          tags: Array.from(root.querySelectorAll(".opblock-tag[data-tag]"), (el: PageElement) => el.getAttribute("data-tag") ?? ""),
          indices: Array.from(root.querySelectorAll(".operations-virtual__item"), (el: PageElement) => Number(el.getAttribute("data-index"))),
        }));
        for (const op of drawn.ops) drawnOps.add(op);
        for (const tag of drawn.tags) drawnTags.add(tag);
        const last = Math.max(-1, ...drawn.indices);
        if (!windowed || last >= lastIndex) break;
        // The window draws a contiguous run of items: scroll half a window down, again while nothing
        // new is drawn (an open operation can be taller than that), until the run reaches past the
        // last item seen.
        await expect
          .poll(
            async () => {
              await page.evaluate("scrollBy(0, innerHeight / 2)");
              return page
                .locator("#swagger-ui")
                .evaluate((root) =>
                  Math.max(-1, ...Array.from(root.querySelectorAll(".operations-virtual__item"), (el: PageElement) => Number(el.getAttribute("data-index")))),
                );
            },
            { timeout: 30_000, interval: 250 },
          )
          .toBeGreaterThan(last);
      }
      expect(
        [...wantTags].filter((tag) => !drawnTags.has(tag)),
        "tags never drawn",
      ).toEqual([]);
      expect(
        [...wantOps].filter((op) => !drawnOps.has(op)),
        "operations never drawn",
      ).toEqual([]);

      expect(requests).toContain(new URL("/openapi.json", origin).href);
      const offsite = requests.filter((u) => {
        const url = new URL(u);
        if (url.protocol === "data:" || url.protocol === "blob:") return false;
        return url.hostname !== "127.0.0.1" || url.port !== origin.port;
      });
      expect(offsite).toEqual([]);
      expect(errors).toEqual([]);
    } finally {
      await browser.close();
    }
  }, 240_000);
});
