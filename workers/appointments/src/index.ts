import { logicServiceEntrypoint, refuseDirectFetch, sweepOutbox } from "@buildly/shared";
import { app, SERVICE } from "./app";
import { models } from "./models";

/** The gateway's way in: typed RPC that carries the identity context (see packages/shared). */
export const AppointmentsService = logicServiceEntrypoint<Env>(SERVICE, app, { models });

/** Serializes each calendar's overlap-checked writes. */
export { CalendarWriter } from "./scheduling/calendar-writer";

export default {
  fetch: refuseDirectFetch,
  /** The cron trigger (wrangler.toml): relays outbox events a relay left behind. */
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(sweepOutbox(env).then((report) => console.log(JSON.stringify({ level: "info", msg: "outbox sweep", service: SERVICE, ...report }))));
  },
} satisfies ExportedHandler<Env>;
