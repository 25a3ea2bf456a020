// One spelling per path before routing and every check (src/http/canonical-path.ts).
import { describe, expect, it } from "vitest";
import { canonicalPath, pathnameOf } from "../src/http/canonical-path";
import { call, expectProblem } from "./helpers";

describe("pathnameOf", () => {
  it("reads a request URL's path as the URL parser does", () => {
    for (const url of [
      "https://gateway.example/v1/crm/contacts",
      "https://gateway.example/v1/crm/contacts?limit=5&join=documents",
      "https://gateway.example/v1/crm/contacts?next=/a/b?c#frag",
      "https://gateway.example/v1/crm/c%6Fntacts/%2e%2E/x#a?b",
      "http://127.0.0.1:8787/",
      "http://127.0.0.1:8787/?a=1",
      "https://user:p%40ss@gateway.example:8443/v1//crm///contacts/",
      "https://[::1]:8787/v1/crm/contacts/caf%C3%A9%20x",
      "https://gateway.example",
    ]) {
      const request = new Request(url);
      expect(pathnameOf(request.url), url).toBe(new URL(request.url).pathname);
    }
  });
});

describe("canonicalPath", () => {
  it("decodes percent-encoded unreserved characters, upper- and lower-case hex alike, once", () => {
    expect(canonicalPath("/v1/appointments/%61ppointments")).toEqual({ ok: true, path: "/v1/appointments/appointments" });
    expect(canonicalPath("/v1/appointments/appointment%73")).toEqual({ ok: true, path: "/v1/appointments/appointments" });
    expect(canonicalPath("/v1/crm/c%6Fntacts/%2D%2e%5F%7E%7e")).toEqual({ ok: true, path: "/v1/crm/contacts/-._~~" });
    expect(canonicalPath("/%76%31/%63%72%6d/%43ontacts")).toEqual({ ok: true, path: "/v1/crm/Contacts" });
    // Decoded once: %25 stays, so %2561 is the text "%61", not "a".
    expect(canonicalPath("/v1/appointments/%2561ppointments")).toEqual({ ok: true, path: "/v1/appointments/%2561ppointments" });
    // Other encodings are kept, hex made upper-case.
    expect(canonicalPath("/v1/documents/files/caf%c3%a9%20x")).toEqual({ ok: true, path: "/v1/documents/files/caf%C3%A9%20x" });
  });

  it("makes runs of / one, keeps a trailing /, and refuses what no route takes", () => {
    expect(canonicalPath("/v1//crm///contacts")).toEqual({ ok: true, path: "/v1/crm/contacts" });
    expect(canonicalPath("/v1/crm/contacts/")).toEqual({ ok: true, path: "/v1/crm/contacts/" });
    expect(canonicalPath("//")).toEqual({ ok: true, path: "/" });
    // Dots inside a segment are no dot segment (the fast path for plain paths must agree).
    for (const plain of ["/.well-known/openid-configuration", "/v1/crm/contacts/.x", "/v1/crm/..x/y.", "/v1/a.b/c..", "/"]) {
      expect(canonicalPath(plain), plain).toEqual({ ok: true, path: plain });
    }
    for (const refused of [
      "/v1/crm%2Fcontacts",
      "/v1/crm%2fcontacts",
      "/v1/crm%5Ccontacts",
      "/v1/crm/contacts\\x",
      "/v1/crm/%00",
      "/v1/crm/%1f",
      "/v1/crm/%7F",
      "/v1/crm/%zz",
      "/v1/crm/%4",
      "/v1/crm/%",
      "/v1/crm/%2e%2e/x",
      "/v1/crm/%2E/x",
      "/v1/crm/./x",
      "/v1/crm/..",
    ]) {
      expect(canonicalPath(refused).ok, refused).toBe(false);
    }
  });
});

describe("the gateway's paths", () => {
  it("routes an encoded spelling of its own paths like the plain one", async () => {
    expect((await call("/%68ealth")).status).toBe((await call("/health")).status);
    const docs = await call("/%6Fpenapi.json");
    expect(docs.status).toBe(200);
  });

  it("answers 400 problem+json for a path with no canonical form", async () => {
    for (const path of ["/v1/crm%2Fcontacts", "/v1/crm/contacts/%00", "/v1/crm/%zz", "/v1/crm/contacts/%2E%2E%2Fx"]) {
      const res = await call(path);
      expect(res.status, path).toBe(400);
      await expectProblem(res);
    }
  });
});
