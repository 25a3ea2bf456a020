import { logicServiceEntrypoint, refuseDirectFetch, sweepOutbox } from "@buildly/shared/service";
import { app, SERVICE } from "./app";

/** The gateway's way in: typed RPC that carries the identity context (see packages/shared). */
export const DocumentsService = logicServiceEntrypoint<Env>(SERVICE, app, { models: () => import("./models").then((m) => m.models) });

/** The every-minute cron: only the outbox sweep. */
const OUTBOX_CRON = "* * * * *";

export default {
  fetch: refuseDirectFetch,
  /**
   * The cron triggers (wrangler.toml): every minute the outbox sweep relays events a relay left
   * behind; the half-hourly one also finishes interrupted deletions and abandoned uploads.
   */
  async scheduled(controller, env, ctx) {
    ctx.waitUntil(sweepOutbox(env).then((report) => console.log(JSON.stringify({ level: "info", msg: "outbox sweep", service: SERVICE, ...report }))));
    if (controller.cron === OUTBOX_CRON) return;
    // The purge sweep (and the tables it uses) loads when this cron first runs, not at start-up.
    ctx.waitUntil(
      import("./storage/purge")
        .then(({ sweep }) => sweep(env))
        .then((report) => console.log(JSON.stringify({ level: "info", msg: "sweep", service: SERVICE, ...report }))),
    );
  },
} satisfies ExportedHandler<Env>;
