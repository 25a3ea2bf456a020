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
