import { fileURLToPath } from "node:url";
import { defineConfig } from "vite";

/**
 * The console, built into workers/console/public (the console Worker's static assets). Served at
 * /console/ on the gateway's origin, so every file is asked for under that base.
 */
export default defineConfig({
  base: "/console/",
  root: fileURLToPath(new URL(".", import.meta.url)),
  // Preact's JSX, compiled by Vite's own transformer (no plugin needed).
  oxc: { jsx: { runtime: "automatic", importSource: "preact" } },
  build: {
    outDir: fileURLToPath(new URL("../../workers/console/public", import.meta.url)),
    emptyOutDir: true,
    target: "es2022",
    sourcemap: false,
    // Keep small files as files: the page's CSP allows no data: scripts or styles.
    assetsInlineLimit: 0,
  },
});
