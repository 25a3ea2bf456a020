import { createServiceApp, registerMeta } from "@buildly/shared";
import { registerFiles } from "./routes/files";
import { registerFolders } from "./routes/folders";
import { registerVersions } from "./routes/versions";

export const SERVICE = "documents";

export function buildApp() {
  const app = createServiceApp<Env>(SERVICE);
  registerFolders(app);
  registerFiles(app);
  registerVersions(app);
  registerMeta(app, {
    title: "Buildly Documents",
    description: "Folders (a tree) and files: metadata in D1, bodies streamed into R2, every version kept, tags, " + "downloads with ETag and byte ranges.",
  });
  return app;
}

export const app = buildApp();
