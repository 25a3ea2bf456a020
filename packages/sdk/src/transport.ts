import type { TokenSource } from "./auth.ts";
import { NetworkError } from "./errors.ts";

export interface RetryOptions {
  /** Retries after the first attempt (0: none). Default 3. */
  retries?: number;
  /** The first backoff; each retry doubles it, with full jitter. Default 300 ms. */
  baseDelayMs?: number;
  /** The longest wait, Retry-After included: an answer asking for more is returned as is. Default 30 s. */
  maxDelayMs?: number;
}

export interface TransportOptions extends RetryOptions {
  baseUrl: string;
  tokens: TokenSource | undefined;
  fetch: typeof fetch;
  /** Add an Idempotency-Key to every POST and PATCH that has none (default true). */
  idempotencyKeys: boolean;
  headers?: ConstructorParameters<typeof Headers>[0];
}

const WRITES_WITH_KEYS = new Set(["POST", "PATCH"]);
const IDEMPOTENT = new Set(["GET", "HEAD", "OPTIONS", "PUT", "DELETE"]);

/** Retry-After as milliseconds (delay-seconds or an HTTP date), undefined when absent or unreadable. */
export function retryAfterMs(value: string | null, now = Date.now()): number | undefined {
  if (!value) return undefined;
  if (/^\d+$/.test(value.trim())) return Number(value.trim()) * 1000;
  const at = Date.parse(value);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

const sleep = (ms: number, signal?: AbortSignal | null) =>
  new Promise<void>((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const t = setTimeout(resolve, ms);
    signal?.addEventListener(
      "abort",
      () => {
        clearTimeout(t);
        reject(signal.reason);
      },
      { once: true },
    );
  });

/**
 * The fetch every typed call goes through: the access token, an Idempotency-Key on writes, one
 * renewal on a 401, and retries with backoff for 429 (after Retry-After), 503, a keyed 409 (the
 * same key still in progress) and network failures, only when repeating the request is safe
 * (an idempotent method, or a write carrying an Idempotency-Key).
 */
export function transport(o: TransportOptions): (input: Request) => Promise<Response> {
  const retries = o.retries ?? 3;
  const base = o.baseDelayMs ?? 300;
  const max = o.maxDelayMs ?? 30_000;
  return async (input: Request) => {
    const method = input.method.toUpperCase();
    const headers = new Headers(o.headers);
    for (const [k, v] of input.headers) headers.set(k, v);
    if (o.idempotencyKeys && WRITES_WITH_KEYS.has(method) && !headers.has("idempotency-key")) headers.set("idempotency-key", crypto.randomUUID());
    const keyed = headers.get("idempotency-key");
    if (!keyed) headers.delete("idempotency-key");
    const safe = IDEMPOTENT.has(method) || !!keyed;
    // The body is read once, so that every attempt sends the same bytes.
    const body = input.body ? await input.arrayBuffer() : undefined;
    const ownAuth = headers.has("authorization");
    let renewed = false;
    let token: string | undefined;
    for (let attempt = 0; ; attempt++) {
      if (o.tokens && !ownAuth) {
        token = await o.tokens.accessToken();
        headers.set("authorization", `Bearer ${token}`);
      }
      let res: Response;
      try {
        res = await o.fetch(new Request(input.url, { method, headers, body, signal: input.signal, redirect: input.redirect }));
      } catch (err) {
        if (input.signal?.aborted) throw err;
        if (!safe || attempt >= retries)
          throw new NetworkError(`${method} ${new URL(input.url).pathname} failed: ${err instanceof Error ? err.message : String(err)}`, err);
        await sleep(backoff(base, attempt, max), input.signal);
        continue;
      }
      if (res.status === 401 && o.tokens?.renewable && !ownAuth && !renewed) {
        // The token may have been revoked or its key rotated: one new token, one more try.
        renewed = true;
        await res.body?.cancel();
        await o.tokens.accessToken(token);
        attempt--;
        continue;
      }
      const retryable = res.status === 429 || res.status === 503 || (res.status === 409 && !!keyed && res.headers.has("retry-after"));
      if (!retryable || !safe || attempt >= retries) return res;
      const asked = retryAfterMs(res.headers.get("retry-after"));
      const wait = asked ?? backoff(base, attempt, max);
      if (wait > max) return res;
      await res.body?.cancel();
      await sleep(wait, input.signal);
    }
  };
}

function backoff(base: number, attempt: number, max: number): number {
  return Math.min(max, Math.random() * base * 2 ** attempt);
}
