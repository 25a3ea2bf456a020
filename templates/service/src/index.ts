import { logicServiceEntrypoint, refuseDirectFetch, sweepOutbox } from "@buildly/shared";
import { app, SERVICE } from "./app";
import { models } from "./models";

/** The gateway's way in: typed RPC that carries the identity context (see packages/shared). */
export const __Service__Service = logicServiceEntrypoint<Env>(SERVICE, app, { models });

export default {
  fetch: refuseDirectFetch,
  /** The cron trigger (wrangler.toml): relays outbox events a relay left behind. */
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(sweepOutbox(env).then((report) => console.log(JSON.stringify({ level: "info", msg: "outbox sweep", service: SERVICE, ...report }))));
  },
} satisfies ExportedHandler<Env>;
