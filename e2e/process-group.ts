import { appendFileSync } from "node:fs";

// The platform runs in a process group of its own (detached), so stopping it reaches wrangler,
// workerd and esbuild together. Shared by the suite's platform and the restart test's second one.

export function groupAlive(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch {
    return false;
  }
}

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // ESRCH: the group is already gone.
  }
}

/**
 * For whoever started this run (scripts/test.sh passes BUILDLY_E2E_PGID_FILE): if it must stop the
 * run early, a signal may end vitest before any teardown runs, so it stops every group listed
 * there itself. One line per platform: the suite's shared one and any a test file starts.
 */
export function registerGroup(pgid: number): void {
  const file = process.env.BUILDLY_E2E_PGID_FILE;
  if (file) appendFileSync(file, `${pgid}\n`);
}
