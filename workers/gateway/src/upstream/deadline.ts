import { ApiError } from "@buildly/shared/service";

/**
 * Races a service call against its deadline. A late answer becomes 504,
 * a thrown one 502; the caller never hangs.
 *
 * On every proxied request's path, so it allocates as little as it can: one promise settled by
 * whichever comes first, one timer cleared as soon as the call settles (no Promise.race, no
 * second promise for the timeout, no wrapper around the call's rejection).
 */
export function withDeadline<T>(service: string, timeoutMs: number, call: () => Promise<T>): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new ApiError(504, `The ${service} service did not answer within ${timeoutMs} ms.`, { extensions: { service } })),
      timeoutMs,
    );
    let pending: Promise<T>;
    try {
      pending = call();
    } catch (err) {
      clearTimeout(timer);
      reject(err);
      return;
    }
    pending.then(
      (value) => {
        clearTimeout(timer);
        resolve(value);
      },
      (err: unknown) => {
        clearTimeout(timer);
        reject(err instanceof ApiError ? err : new ServiceCallError(service, err));
      },
    );
  });
}

/** A failed call to a service: logged with its cause, answered as an opaque 502. */
export class ServiceCallError extends ApiError {
  readonly cause: unknown;
  constructor(service: string, cause: unknown) {
    super(502, `The ${service} service failed to answer.`, { extensions: { service } });
    this.cause = cause;
  }
}
