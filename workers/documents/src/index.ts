import { logicServiceEntrypoint, refuseDirectFetch } from "@buildly/shared";
import { app, SERVICE } from "./app";
import { models } from "./models";
import { sweep } from "./storage/purge";

/** The gateway's way in: typed RPC that carries the identity context (see packages/shared). */
export const DocumentsService = logicServiceEntrypoint<Env>(SERVICE, app, { models });

export default {
  fetch: refuseDirectFetch,
  /** The cron trigger (wrangler.toml): finishes interrupted deletions and abandoned uploads. */
  async scheduled(_controller, env, ctx) {
    ctx.waitUntil(sweep(env).then((report) => console.log(JSON.stringify({ level: "info", msg: "sweep", service: SERVICE, ...report }))));
  },
} satisfies ExportedHandler<Env>;
