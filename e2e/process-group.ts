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
