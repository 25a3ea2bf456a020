import { logicServiceEntrypoint, refuseDirectFetch, sweepOutbox } from "@buildly/shared/service";
import { app, SERVICE } from "./app";

/** The gateway's way in: typed RPC that carries the identity context (see packages/shared). */
/** The models (and their schemas) load on the first data mesh call, not at start-up. */
export const __Service__Service = logicServiceEntrypoint<Env>(SERVICE, app, { models: () => import("./models").then((m) => m.models) });

export default {
  fetch: refuseDirectFetch,
  /** The cron trigger (wrangler.toml): relays outbox events a relay left behind. */
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(sweepOutbox(env).then((report) => console.log(JSON.stringify({ level: "info", msg: "outbox sweep", service: SERVICE, ...report }))));
  },
} satisfies ExportedHandler<Env>;
