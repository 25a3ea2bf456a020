import type { Schema } from "@buildly/sdk";
import { useState } from "preact/hooks";
import { follow } from "../router.ts";
import { can, usePages, useSession } from "../session.ts";
import { ActionResult, ErrorBox, Loading, Pager, Section, useAction, when } from "../ui.tsx";
import { recordHref } from "./records.tsx";

type File = Schema<"Documents_File">;

const size = (n: number) => (n < 1024 ? `${n} B` : n < 1024 * 1024 ? `${(n / 1024).toFixed(1)} KiB` : `${(n / 1024 / 1024).toFixed(1)} MiB`);

/** Files of the documents service: a page at a time, uploaded (multipart) and downloaded. */
export function Files() {
  const { api, me } = useSession();
  const [name, setName] = useState("");
  const pages = usePages((cursor) => api.GET("/v1/documents/files", { params: { query: { limit: 10, cursor, name: name || undefined } } }), [name]);
  const download = useAction();
  const upload = useAction();
  const [uploaded, setUploaded] = useState<File | undefined>();
  const save = (f: File) =>
    download.run(async () => {
      const blob = await api.GET("/v1/documents/files/{id}/content", { params: { path: { id: f.id } }, parseAs: "blob" });
      const url = URL.createObjectURL(blob as Blob);
      const a = document.createElement("a");
      a.href = url;
      a.download = f.name;
      document.body.append(a);
      a.click();
      a.remove();
      setTimeout(() => URL.revokeObjectURL(url), 60_000);
      return `Downloaded ${f.name}.`;
    });
  const row = (f: File) => (
    <>
      <a href={recordHref("documents", "files", f.id)} onClick={(e) => follow(e, recordHref("documents", "files", f.id))}>
        {f.name}
      </a>{" "}
      <span class="muted">
        {size(f.size)}, {f.content_type}, version {f.version}, {when(f.updated_at)}
        {f.tags.length ? ` · ${f.tags.join(", ")}` : ""}
      </span>{" "}
      <button type="button" disabled={download.busy} onClick={() => save(f)} aria-label={`Download ${f.name}`}>
        Download
      </button>
    </>
  );
  return (
    <Section title="Files" id="files">
      <div class="filters">
        <label>
          Name is
          <input
            value={name}
            onChange={(e) => {
              pages.reset();
              setName(e.currentTarget.value.trim());
            }}
            autocomplete="off"
          />
        </label>
      </div>
      <ErrorBox error={pages.error} />
      {pages.loading && <Loading what="files" />}
      <ul class="list">
        {pages.data?.data.map((f) => (
          <li key={f.id}>{row(f)}</li>
        ))}
      </ul>
      {pages.data && !pages.data.data.length && <p class="muted">No files.</p>}
      <Pager label="File pages" pages={pages} />
      <ActionResult {...download} />
      {can(me, "documents", "create") && (
        <form
          class="form"
          aria-label="Upload a file"
          onSubmit={(e) => {
            e.preventDefault();
            const form = e.currentTarget;
            const data = new FormData(form);
            const picked = data.get("file");
            if (!(picked instanceof Blob) || !picked.size) return upload.setError({ title: "Choose a file", detail: "An empty file is not uploaded." });
            if (!String(data.get("tags") ?? "").trim()) data.delete("tags");
            setUploaded(undefined);
            upload.run(async () => {
              // The browser writes the multipart body (and its boundary); the SDK sends it as it is.
              const f = await api.POST("/v1/documents/files", { body: data as never });
              setUploaded(f);
              form.reset();
              pages.first();
              return `Uploaded ${f.name} (${size(f.size)}).`;
            });
          }}
        >
          <h3>Upload a file</h3>
          <label>
            File <input name="file" type="file" required />
          </label>
          <label>
            Tags (comma-separated) <input name="tags" autocomplete="off" />
          </label>
          <button type="submit" class="primary" disabled={upload.busy}>
            Upload
          </button>
          <ActionResult {...upload} />
          {uploaded && <p data-testid="uploaded">{row(uploaded)}</p>}
        </form>
      )}
    </Section>
  );
}
