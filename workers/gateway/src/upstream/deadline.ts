import { ApiError } from "@buildly/shared";

/**
 * Races a service call against its deadline. A late answer becomes 504,
 * a thrown one 502; the caller never hangs.
 */
export async function withDeadline<T>(service: string, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  let timer: number | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new ApiError(504, `The ${service} service did not answer within ${timeoutMs} ms.`, { extensions: { service } })),
      timeoutMs,
    );
  });
  try {
    return await Promise.race([
      call().catch((err: unknown) => {
        if (err instanceof ApiError) throw err;
        throw new ServiceCallError(service, err);
      }),
      timeout,
    ]);
  } finally {
    if (timer !== undefined) clearTimeout(timer);
  }
}

/** A failed call to a service: logged with its cause, answered as an opaque 502. */
export class ServiceCallError extends ApiError {
  readonly cause: unknown;
  constructor(service: string, cause: unknown) {
    super(502, `The ${service} service failed to answer.`, { extensions: { service } });
    this.cause = cause;
  }
}
