import { logicServiceEntrypoint, refuseDirectFetch } from "@buildly/shared";
import { app, SERVICE } from "./app";
import { models } from "./models";

/** The gateway's way in: typed RPC that carries the identity context (see packages/shared). */
export const __Service__Service = logicServiceEntrypoint<Env>(SERVICE, app, { models });

export default {
  fetch: refuseDirectFetch,
} satisfies ExportedHandler<Env>;
