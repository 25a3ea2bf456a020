/**
 * `load`, run on the first call and its promise shared by every call after; a load that fails is
 * forgotten, so the next call tries again (what is built on first use: lazy-routes.ts's route
 * groups, entrypoint.ts's models).
 */
export function loadOnce<T>(load: () => Promise<T>): () => Promise<T> {
  let loading: Promise<T> | undefined;
  return () =>
    (loading ??= load().catch((err) => {
      loading = undefined;
      throw err;
    }));
}

/**
 * `build`, run on the first call and its result kept: what is built on first use and is needed
 * synchronously (the zod schemas the start-up path would otherwise build at its top level,
 * entrypoint.ts's argument checks, context.ts's identity context).
 */
export function builtOnce<T>(build: () => T): () => T {
  let built: { value: T } | undefined;
  return () => (built ??= { value: build() }).value;
}
