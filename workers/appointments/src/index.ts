import { logicServiceEntrypoint, refuseDirectFetch } from "@buildly/shared";
import { app, SERVICE } from "./app";
import { models } from "./models";

/** The gateway's way in: typed RPC that carries the identity context (see packages/shared). */
export const AppointmentsService = logicServiceEntrypoint<Env>(SERVICE, app, { models });

/** Serializes each calendar's overlap-checked writes. */
export { CalendarWriter } from "./scheduling/calendar-writer";

export default {
  fetch: refuseDirectFetch,
} satisfies ExportedHandler<Env>;
