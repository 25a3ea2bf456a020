import { logicServiceEntrypoint, refuseDirectFetch } from "@buildly/shared";
import { app, SERVICE } from "./app";

/** The gateway's way in: typed RPC that carries the identity context (see packages/shared). */
export const CrmService = logicServiceEntrypoint<Env>(SERVICE, app);

export default {
  fetch: refuseDirectFetch,
} satisfies ExportedHandler<Env>;
