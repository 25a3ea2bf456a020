// The OpenAPI document states what the handlers enforce: each keyword below is checked in the
// served /openapi.json, and where it is a rule, against what the server answers.
import { describe, expect, it } from "vitest";
import { formBody, freshOrg, identity, postForm, rpc, text, upload, uploaded } from "./helpers";

async function openapi(): Promise<any> {
  const res = await rpc.handle(new Request("https://service.internal/openapi.json"), identity());
  expect(res.status).toBe(200);
  return res.json();
}

describe("the documents service's OpenAPI document", () => {
  it("says every PATCH body needs at least one field, as the server does", async () => {
    const doc = await openapi();
    for (const name of ["FileUpdate", "FolderUpdate"]) {
      expect(doc.components.schemas[name], name).toMatchObject({ type: "object", minProperties: 1, additionalProperties: false });
    }
    const { client } = freshOrg();
    const file = await uploaded(client);
    expect((await client.patch(`/files/${file.id}`, {})).status).toBe(422);
  });

  it("says upload forms take no other fields, and the server refuses them", async () => {
    const doc = await openapi();
    const upload = doc.paths["/files"].post.requestBody.content["multipart/form-data"].schema;
    expect(upload).toMatchObject({ type: "object", required: ["file"], additionalProperties: false });
    expect(Object.keys(upload.properties).sort()).toEqual(["file", "folder_id", "name", "tags"]);
    const version = doc.paths["/files/{id}/content"].put.requestBody.content["multipart/form-data"].schema;
    expect(version).toMatchObject({ type: "object", required: ["file"], additionalProperties: false });
    expect(Object.keys(version.properties)).toEqual(["file"]);

    const { client } = freshOrg();
    const B = "openapi-form";
    const extra = formBody(B, [
      { name: "file", filename: "a.txt", body: "x" },
      { name: "colour", body: "blue" },
    ]);
    const res = await postForm(client, "/files", B, extra);
    expect(res.status).toBe(422);
    expect((await res.json<any>()).errors.map((e: any) => e.path)).toEqual(["form.colour"]);
    const file = await uploaded(client);
    const named = formBody(B, [
      { name: "file", filename: "a.txt", body: "x" },
      { name: "name", body: "b.txt" },
    ]);
    expect((await postForm(client, `/files/${file.id}/content`, B, named, undefined, "PUT")).status).toBe(422);
  });

  it("states the name rules as a pattern that matches what the server accepts", async () => {
    const schemas = (await openapi()).components.schemas;
    const name = schemas.FileUpdate.properties.name;
    expect(name).toMatchObject({ minLength: 1, maxLength: 255, pattern: expect.any(String), not: { enum: [".", ".."] } });
    expect(schemas.FolderCreate.properties.name).toMatchObject({ pattern: name.pattern });
    const { client } = freshOrg();
    for (const candidate of ["report.pdf", "a b", "été", "a/b", "a\\b", "tab\there", "nul\u0000", "del\u007f", ".", "..", "...", ".hidden"]) {
      const allowed = new RegExp(name.pattern).test(candidate) && ![".", ".."].includes(candidate);
      const res = await upload(client, candidate, text("x"));
      expect(res.status, JSON.stringify(candidate)).toBe(allowed ? 201 : 422);
    }
  });

  it("describes the content-type rule for raw bodies and file parts, and types timestamps as date-times", async () => {
    const doc = await openapi();
    for (const [path, method] of [
      ["/files", "post"],
      ["/files/{id}/content", "put"],
    ] as const) {
      const content = doc.paths[path][method].requestBody.content;
      expect(content["application/octet-stream"].schema.description, path).toMatch(/media type per RFC 9110.*422 at header\.content-type/);
      expect(content["multipart/form-data"].schema.properties.file.description, path).toMatch(/422 at form\.file\.content-type/);
    }
    for (const name of ["File", "Folder", "FileVersion"]) {
      const schema = doc.components.schemas[name];
      if (!schema) continue;
      expect(schema.properties.created_at, name).toMatchObject({ format: "date-time" });
    }
    expect(doc.components.schemas.File.properties.updated_at).toMatchObject({ format: "date-time" });
  });
});
