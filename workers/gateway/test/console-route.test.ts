// The console's route (src/upstream/console.ts): /console/* on the gateway's origin answered by the
// console's own Worker (workers/console, its bundle and built files) through the CONSOLE binding.
import { describe, expect, it } from "vitest";
import { call } from "./helpers";

describe("/console/", () => {
  it("is the console's page, its files and its app paths, with the console's CSP", async () => {
    const page = await call("/console/");
    expect(page.status).toBe(200);
    expect(page.headers.get("content-type")).toMatch(/^text\/html/);
    expect(page.headers.get("content-security-policy")).toContain("connect-src 'self'");
    const html = await page.text();
    const script = /src="(\/console\/assets\/[^"]+\.js)"/.exec(html)?.[1];
    expect(script).toBeDefined();
    const js = await call(script!);
    expect(js.status).toBe(200);
    expect(js.headers.get("content-type")).toMatch(/javascript/);
    expect(js.headers.get("cache-control")).toContain("immutable");
    await js.arrayBuffer();
    // An app path (the callback) is the same page; the bare prefix redirects to the slash.
    const callback = await call("/console/callback?code=x&state=y");
    expect(callback.status).toBe(200);
    expect(await callback.text()).toBe(html);
    const bare = await call("/console?client_id=abc", { redirect: "manual" });
    expect(bare.status).toBe(308);
    expect(bare.headers.get("location")).toBe("https://gateway.example/console/?client_id=abc");
  });

  it("answers only GET and HEAD (405 with Allow from the gateway), and nothing outside /console/", async () => {
    const post = await call("/console/", { method: "POST" });
    expect(post.status).toBe(405);
    expect(post.headers.get("allow")).toBe("GET, HEAD");
    await post.arrayBuffer();
    const head = await call("/console/", { method: "HEAD" });
    expect(head.status).toBe(200);
    const near = await call("/consoles/");
    expect(near.status).toBe(404);
    await near.arrayBuffer();
  });
});
