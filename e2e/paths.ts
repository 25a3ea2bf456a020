import { fileURLToPath } from "node:url";

/** The repository root: scripts/dev.sh and scripts/migrate.sh run from here, as a developer runs them. */
export const REPO_ROOT = fileURLToPath(new URL("..", import.meta.url));
/** Screenshots and the platform's log of the last run (gitignored). */
export const ARTIFACTS_DIR = fileURLToPath(new URL("./.artifacts/", import.meta.url));
