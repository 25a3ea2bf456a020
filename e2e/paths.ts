import { fileURLToPath } from "node:url";

/** The repository root: scripts/dev.sh and scripts/migrate.sh run from here, as a developer runs them. */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Screenshots and the platform's log of the last run (gitignored). */
export const ARTIFACTS_DIR = fileURLToPath(new URL("./.artifacts/", import.meta.url));

/** Debian's Chromium (e2e/ensure-chromium.sh installs it) and the flags it runs with here: headless, and no background networking (this machine's closed network refuses it). */
export const CHROMIUM = "/usr/bin/chromium";
export const CHROMIUM_ARGS = [
  "--headless",
  "--no-sandbox",
  "--disable-gpu",
  "--disable-quic",
  "--no-first-run",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-sync",
];
