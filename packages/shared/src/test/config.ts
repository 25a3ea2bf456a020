// The vitest config of a logic service (Node side: import it from vitest.config.ts, never from a test).
import path from "node:path";
import { fileURLToPath } from "node:url";
import { cloudflareTest, readD1Migrations } from "@cloudflare/vitest-plugin";
import { defineConfig } from "vitest/config";

type Json = Parameters<typeof JSON.stringify>[0];

export interface ServiceTestOptions {
  /** The vitest project name (`vitest run --project <name>`). */
  name: string;
  /** The service's folder: pass `import.meta.dirname` from its vitest.config.ts. */
  dir: string;
  /** Also read `seed/*.sql` into the TEST_SEED binding, split into statements like the migrations. */
  seed?: boolean;
  /** Extra bindings beside TEST_MIGRATIONS (and TEST_SEED); they override wrangler.toml's vars. */
  bindings?: Record<string, Json>;
  /** D1 databases beyond wrangler.toml's, e.g. an empty MIGRATION_DB for migration tests. */
  d1Databases?: string[] | Record<string, string>;
}

const APPLY_MIGRATIONS = fileURLToPath(new URL("./apply-migrations.ts", import.meta.url));

/**
 * Tests inside workerd against the service's wrangler.toml bindings, with its migrations
 * applied to its D1 before the tests run (the same SQL `wrangler d1 migrations apply` runs).
 */
export function serviceTestConfig(options: ServiceTestOptions) {
  return defineConfig(async () => {
    const migrations = await readD1Migrations(path.join(options.dir, "migrations"));
    const bindings: Record<string, unknown> = { TEST_MIGRATIONS: migrations };
    if (options.seed) bindings.TEST_SEED = await readD1Migrations(path.join(options.dir, "seed"));
    return {
      plugins: [
        cloudflareTest({
          wrangler: { configPath: path.join(options.dir, "wrangler.toml") },
          miniflare: {
            bindings: { ...bindings, ...options.bindings } as Record<string, Json>,
            ...(options.d1Databases ? { d1Databases: options.d1Databases } : {}),
          },
        }),
      ],
      test: {
        name: options.name,
        silent: "passed-only" as const,
        testTimeout: 30_000,
        setupFiles: [APPLY_MIGRATIONS],
        // One workerd runtime and module graph for all of a service's test files instead of one per
        // file: the crm's tests took 118 s isolated and 33 s not, on the same loaded machine. The
        // files share the service's D1 and R2, so a test must not assume an empty table: each makes
        // its own records (its own organization) and reads those (checked with shuffled file order).
        isolate: false,
      },
    };
  });
}
