import { createServiceApp, crudRoutes, lazyRoutes, registerMeta } from "@buildly/shared/service";

export const SERVICE = "documents";

export function buildApp() {
  const app = createServiceApp<Env>(SERVICE);
  // Each group's schemas and routes are built on its first request (packages/shared/src/lazy-routes.ts).
  lazyRoutes(app, crudRoutes("folders"), () => import("./routes/folders").then((m) => m.registerFolders));
  lazyRoutes(app, [...crudRoutes("files"), ["get", "/files/{id}/content"], ["put", "/files/{id}/content"]], () =>
    import("./routes/files").then((m) => m.registerFiles),
  );
  lazyRoutes(
    app,
    [
      ["get", "/files/{id}/versions"],
      ["get", "/files/{id}/versions/{version}/content"],
    ],
    () => import("./routes/versions").then((m) => m.registerVersions),
  );
  registerMeta(app, {
    title: "Buildly Documents",
    description: "Folders (a tree) and files: metadata in D1, bodies streamed into R2, every version kept, tags, " + "downloads with ETag and byte ranges.",
  });
  return app;
}

export const app = buildApp();
