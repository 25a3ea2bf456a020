/**
 * A per-isolate cache whose entries are never served older than `ttlMs`, refreshed in the
 * background once they are half that old, so a steady caller never waits on the database
 * after its first request (only one that comes back after a whole `ttlMs` of silence does).
 * `forget` makes the next read load afresh, and a background refresh that started before a
 * `forget` does not write its older answer back.
 */
export class RefreshAheadCache<T> {
  private entries = new Map<string, { at: number; value: T; refreshing: boolean }>();
  private epoch = 0;

  constructor(
    private readonly ttlMs: number,
    private readonly maxEntries: number,
  ) {}

  async get(
    key: string,
    load: () => Promise<T>,
    opts: { fresh?: boolean; waitUntil?: (p: Promise<unknown>) => void; valid?: (v: T) => boolean } = {},
  ): Promise<T> {
    const now = Date.now();
    const hit = this.entries.get(key);
    if (!opts.fresh && hit && now - hit.at < this.ttlMs && (!opts.valid || opts.valid(hit.value))) {
      if (opts.waitUntil && !hit.refreshing && now - hit.at >= this.ttlMs / 2) {
        hit.refreshing = true;
        const epoch = this.epoch;
        opts.waitUntil(
          load().then(
            (value) => {
              if (this.epoch === epoch) this.set(key, value);
            },
            () => {
              hit.refreshing = false;
            },
          ),
        );
      }
      return hit.value;
    }
    const epoch = this.epoch;
    const value = await load();
    if (this.epoch === epoch) this.set(key, value);
    return value;
  }

  private set(key: string, value: T): void {
    if (this.entries.size >= this.maxEntries) this.entries.clear();
    this.entries.set(key, { at: Date.now(), value, refreshing: false });
  }

  /** Forgets the entries `which` selects (all of them without it). */
  forget(which?: (key: string, value: T) => boolean): void {
    this.epoch++;
    if (!which) this.entries.clear();
    else for (const [key, e] of this.entries) if (which(key, e.value)) this.entries.delete(key);
  }
}
