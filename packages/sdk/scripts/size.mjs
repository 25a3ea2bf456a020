// The SDK's runtime, minified (esbuild, ESM, every dependency bundled; the generated types weigh
// nothing at run time): prints its size and fails above the budget. The test script runs it.
import { build } from "esbuild";

const BUDGET = 15 * 1024;
const result = await build({
  entryPoints: [new URL("../src/index.ts", import.meta.url).pathname],
  bundle: true,
  minify: true,
  write: false,
  format: "esm",
  platform: "neutral",
  mainFields: ["module", "main"],
  logLevel: "silent",
});
const bytes = result.outputFiles[0].contents.byteLength;
const kib = (bytes / 1024).toFixed(1);
if (bytes > BUDGET) {
  console.error(`@buildly/sdk runtime: ${kib} KiB minified, over the ${BUDGET / 1024} KiB budget`);
  process.exit(1);
}
console.log(`@buildly/sdk runtime: ${kib} KiB minified (budget ${BUDGET / 1024} KiB)`);
