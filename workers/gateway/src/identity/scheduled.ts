import { desc, eq } from "drizzle-orm";
import { logError, sweepOutbox } from "@buildly/shared";
import { rotateSigningKey } from "./keys";
import { CLOCK_SKEW_SECONDS } from "./tokens";
import { db } from "./db/client";
import { signingKeys } from "./db/schema";
import { deliverPending } from "./mail-outbox";
import { eventsKept, pruneEvents } from "../events/retention";
import { enforceRetention } from "../privacy/retention";
import { sweepSigninState } from "./signin/codes";
import { sweepSpentTokens } from "./mfa/sealed";

/** Daily: rotate the signing key once it is KEY_ROTATION_DAYS old, deliver pending mail, sweep expired sign-in state, enforce retention policies. */
export async function rotateIfDue(env: Env, now = Date.now()): Promise<string | undefined> {
  const e = env;
  const secret = e.SIGNING_KEYS_SECRET;
  if (!secret) return undefined;
  const maxAgeMs = (Number(e.KEY_ROTATION_DAYS) || 30) * 86_400_000;
  const active = await db(env.DB).select().from(signingKeys).where(eq(signingKeys.status, "active")).orderBy(desc(signingKeys.created_at)).get();
  if (active && now - Date.parse(active.created_at) < maxAgeMs) return undefined;
  const ttl = Number(e.ACCESS_TOKEN_TTL_SECONDS) || 900;
  return rotateSigningKey(env.DB, secret, ttl + CLOCK_SKEW_SECONDS);
}

/** The every-minute cron (wrangler.toml): only the outbox sweep. */
export const OUTBOX_CRON = "* * * * *";

export const scheduled: ExportedHandlerScheduledHandler<Env> = async (controller, env, ctx) => {
  ctx.waitUntil(sweepOutbox(env).catch((err) => logError("scheduled", "gateway", err, { during: "outbox sweep" })));
  if (controller.cron === OUTBOX_CRON) return;
  ctx.waitUntil(
    Promise.all([
      rotateIfDue(env).catch((err) => logError("scheduled", "gateway", err, { during: "key rotation" })),
      deliverPending(env).catch((err) => logError("scheduled", "gateway", err, { during: "mail delivery" })),
      pruneEvents(env.DB, eventsKept(env)).catch((err) => logError("scheduled", "gateway", err, { during: "events retention" })),
      sweepSigninState(env.DB).catch((err) => logError("scheduled", "gateway", err, { during: "sign-in sweep" })),
      sweepSpentTokens(env.DB).catch((err) => logError("scheduled", "gateway", err, { during: "second-factor sweep" })),
      enforceRetention(env).catch((err) => logError("scheduled", "gateway", err, { during: "retention policies" })),
    ]),
  );
};
