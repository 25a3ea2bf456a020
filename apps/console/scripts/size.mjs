// The first page's JavaScript (every script index.html loads, and the modules they preload),
// gzip-compressed, must stay under 200 KiB. Not a timing: the bytes a phone downloads first.
import { readFileSync } from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";
import { gzipSync } from "node:zlib";

export const BUDGET_BYTES = 200 * 1024;
const OUT = fileURLToPath(new URL("../../../workers/console/public/", import.meta.url));

export function checkSize(dir = OUT) {
  const html = readFileSync(path.join(dir, "index.html"), "utf8");
  const files = [...html.matchAll(/<(?:script|link)[^>]+(?:src|href)="\/console\/([^"]+\.js)"/g)].map((m) => m[1]);
  if (!files.length) throw new Error("console size check: index.html loads no script");
  let total = 0;
  for (const f of new Set(files)) total += gzipSync(readFileSync(path.join(dir, f)), { level: 9 }).length;
  const kib = (total / 1024).toFixed(1);
  if (total > BUDGET_BYTES) {
    console.error(`console: the first page's JavaScript is ${kib} KiB gzip, over the ${BUDGET_BYTES / 1024} KiB budget`);
    process.exit(1);
  }
  console.log(`console: built; the first page's JavaScript is ${kib} KiB gzip (budget ${BUDGET_BYTES / 1024} KiB)`);
}

if (process.argv[1] === fileURLToPath(import.meta.url)) checkSize();
