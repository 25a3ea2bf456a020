// Copies swagger-ui's browser files into public/docs/vendor so the docs page needs no CDN.
import { cpSync, mkdirSync } from "node:fs";
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";

const require = createRequire(import.meta.url);
const here = dirname(fileURLToPath(import.meta.url));
const dist = dirname(require.resolve("swagger-ui-dist/package.json"));
const out = join(here, "..", "public", "docs", "vendor");
mkdirSync(out, { recursive: true });
for (const file of ["swagger-ui-bundle.js", "swagger-ui.css", "favicon-32x32.png", "LICENSE"]) {
  cpSync(join(dist, file), join(out, file));
}
console.log(`docs assets copied to ${out}`);
