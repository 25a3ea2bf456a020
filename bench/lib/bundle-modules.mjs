// The source module of each line of an unminified esbuild bundle, from the `// path` comment
// esbuild writes above every module it inlines (bench/profile.mjs and bench/startup-profile.mjs
// name a profile's bundle frames with it).
import { readFileSync } from "node:fs";

/**
 * The module comments of the bundle at `file`: `count` of them, and `at(line)`, the module whose
 * comment is the nearest above that 0-based line (undefined above the first), as esbuild wrote it
 * (relative paths such as `../../node_modules/.pnpm/...`).
 */
export function bundleModules(file) {
  const starts = [];
  readFileSync(file, "utf8")
    .split("\n")
    .forEach((line, i) => {
      const m = /^\/\/ (\S+\.(?:[cm]?[jt]sx?|json))$/.exec(line);
      if (m) starts.push([i, m[1]]);
    });
  const at = (line) => {
    let lo = 0;
    let hi = starts.length - 1;
    let found;
    while (lo <= hi) {
      const mid = (lo + hi) >> 1;
      if (starts[mid][0] <= line) {
        found = starts[mid][1];
        lo = mid + 1;
      } else hi = mid - 1;
    }
    return found;
  };
  return { count: starts.length, at };
}
