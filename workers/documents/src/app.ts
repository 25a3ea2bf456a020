import { createServiceApp, registerMeta } from "@buildly/shared";
import { registerFiles } from "./routes/files";


export const SERVICE = "documents";

export function buildApp() {
  const app = createServiceApp<Env>(SERVICE);
  registerFiles(app);
  registerMeta(app, {
    title: "Buildly Documents",
    description: "Files: metadata in D1, bodies streamed into R2 (folders, versions and tags come as the platform grows).",
  });
  return app;
}

export const app = buildApp();
