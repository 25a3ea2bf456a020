import { type TargetPolicy, targetProblem } from "./target";

/** Redirects followed per attempt; each hop's target is checked like the first. */
export const MAX_REDIRECTS = 3;
/** What is read of a receiver's answer: enough to tell it ended, never a huge body. */
export const MAX_RESPONSE_BYTES = 4096;

export interface SendResult {
  status: number | null;
  ok: boolean;
  error: string | null;
  durationMs: number;
}

/**
 * One POST of a delivery, with a deadline over every hop. Redirects are followed by hand
 * (redirect: "manual") so each Location is checked against the SSRF rules before it is fetched;
 * the same body and signature go to the new target.
 */
export async function send(url: string, body: string, headers: Record<string, string>, policy: TargetPolicy, timeoutMs: number): Promise<SendResult> {
  const started = Date.now();
  const done = (status: number | null, error: string | null): SendResult => ({
    status,
    ok: error === null && status !== null && status >= 200 && status < 300,
    error,
    durationMs: Date.now() - started,
  });
  const signal = AbortSignal.timeout(timeoutMs);
  let target = url;
  try {
    for (let hop = 0; hop <= MAX_REDIRECTS; hop++) {
      const refused = targetProblem(target, policy);
      if (refused) return done(null, `${hop ? "Redirect target" : "Target"} refused: ${refused}`);
      const res = await fetch(target, {
        method: "POST",
        headers: { "content-type": "application/json", "user-agent": "Buildly-Webhooks/1.0", ...headers },
        body,
        redirect: "manual",
        signal,
      });
      const location = res.headers.get("location");
      if ([301, 302, 303, 307, 308].includes(res.status) && location) {
        await res.body?.cancel();
        target = new URL(location, target).href;
        continue;
      }
      await drain(res, MAX_RESPONSE_BYTES);
      return done(res.status, res.status >= 200 && res.status < 300 ? null : `The receiver answered ${res.status}`);
    }
    return done(null, `More than ${MAX_REDIRECTS} redirects`);
  } catch (err) {
    if (signal.aborted) return done(null, `No answer within ${timeoutMs} ms`);
    return done(null, `The request failed: ${err instanceof Error ? err.message.slice(0, 200) : "network error"}`);
  }
}

/** Reads at most `max` bytes of the answer, then lets go of the rest. */
async function drain(res: Response, max: number): Promise<void> {
  if (!res.body) return;
  const reader = res.body.getReader();
  let read = 0;
  try {
    while (read < max) {
      const { done, value } = await reader.read();
      if (done) return;
      read += value.byteLength;
    }
  } finally {
    await reader.cancel().catch(() => {});
  }
}
