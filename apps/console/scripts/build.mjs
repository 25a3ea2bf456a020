// Builds the console (Vite) into workers/console/public, then checks the first page's JavaScript
// stays under its budget. Run by wrangler before `wrangler dev` / `wrangler deploy` of
// workers/console ([build] in its wrangler.toml), so `npm run dev`, `npm run deploy` and the test
// command (its deploy dry run) all build it.
import { fileURLToPath } from "node:url";
import { build } from "vite";
import { checkSize } from "./size.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
await build({ root, configFile: `${root}vite.config.ts`, logLevel: "warn" });
checkSize();
