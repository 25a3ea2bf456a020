// Builds the console (Vite) into workers/console/public, then checks the first page's JavaScript
// stays under its budget. scripts/dev.sh and scripts/deploy.sh run it before wrangler starts (so
// the test command's deploy dry run builds it too).
//
// The test command starts the e2e platform (scripts/dev.sh) beside its deploy dry run, and a build
// empties the output folder first: a build whose inputs (this app's files and the SDK's source)
// are those of the files already there is skipped, so the second of the two never removes files
// the platform is serving.
import { createHash } from "node:crypto";
import { existsSync, readdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { build } from "vite";
import { checkSize } from "./size.mjs";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = fileURLToPath(new URL("../../../workers/console/public/", import.meta.url));
// Beside the output, not in it (everything in it is served).
const stamp = fileURLToPath(new URL("../../../workers/console/.build-inputs", import.meta.url));

function files(dir) {
  return readdirSync(dir, { withFileTypes: true }).flatMap((d) =>
    d.name === "node_modules" ? [] : d.isDirectory() ? files(path.join(dir, d.name)) : [path.join(dir, d.name)],
  );
}

const hash = createHash("sha256");
for (const f of [...files(root), ...files(fileURLToPath(new URL("../../../packages/sdk/src/", import.meta.url)))].sort()) {
  hash.update(`${path.relative(root, f)}\0`).update(readFileSync(f));
}
const inputs = hash.digest("hex");

if (existsSync(stamp) && readFileSync(stamp, "utf8") === inputs && existsSync(path.join(out, "index.html"))) {
  console.log("console: up to date (its sources have not changed since the last build)");
} else {
  await build({ root, configFile: `${root}vite.config.ts`, logLevel: "warn" });
  writeFileSync(stamp, inputs);
}
checkSize();
