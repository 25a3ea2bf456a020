import { DurableObject } from "cloudflare:workers";
import { ApiError, actorFromIdentity, eventDatabase, logError, toApiError, type EventActor, type Problem, type RpcResult } from "@buildly/shared/service";
import type { IdentityContext } from "@buildly/shared/service";
import type { AppointmentRow, CalendarRow } from "../db/schema";
import type { AppointmentCreate, AppointmentUpdate } from "../routes/appointments/appointments.schemas";
import type { CalendarUpdate } from "../routes/calendars/calendars.schemas";
import type * as writes from "./writes";

/** The writes (with the schemas and Temporal they use) load on the first write, not at start-up. */
const loadWrites = () => import("./writes");

export interface WriteContext {
  organization_id: string;
  request_id: string;
  /** Who acts, for the events the writes produce (the outbox triggers read it). */
  actor: EventActor;
}

/**
 * One per calendar (env.CALENDAR_WRITER.getByName(calendarId)): the only place that writes a
 * calendar's appointments, its time zone, or deletes it. D1 has no row locks, and its calls are
 * I/O during which a Durable Object's input gate lets other requests in, so "check for overlaps,
 * then insert" would race. Each write therefore waits for the one before it (a promise chain):
 * within a calendar they run strictly one after another. Nothing is kept in the object's storage.
 */
export class CalendarWriter extends DurableObject<Env> {
  #tail: Promise<unknown> = Promise.resolve();

  #exclusive<T>(work: () => Promise<T>): Promise<T> {
    const run = this.#tail.then(work);
    this.#tail = run.catch(() => undefined);
    return run;
  }

  /** The D1 the writes use: it records ctx.actor in each write's events and relays them afterwards. */
  #db(ctx: WriteContext): D1Database {
    return eventDatabase(this.env, ctx.actor, (p) => this.ctx.waitUntil(p));
  }

  /** Thrown errors lose their fields over RPC, so failures travel as problem values. */
  async #run<T>(ctx: WriteContext, work: () => Promise<T>): Promise<RpcResult<T>> {
    try {
      return { ok: true, data: await this.#exclusive(work) };
    } catch (err) {
      if (!(err instanceof ApiError)) logError(ctx.request_id, "appointments", err, { durable_object: "CalendarWriter" });
      return { ok: false, error: toApiError(err).toProblem(ctx.request_id) };
    }
  }

  createAppointment(ctx: WriteContext, calendarId: string, input: AppointmentCreate): Promise<RpcResult<AppointmentRow>> {
    return this.#run(ctx, async () => (await loadWrites()).createAppointment(this.#db(ctx), ctx.organization_id, calendarId, input));
  }

  updateAppointment(ctx: WriteContext, calendarId: string, id: string, input: AppointmentUpdate): Promise<RpcResult<writes.UpdateOutcome>> {
    return this.#run(ctx, async () => (await loadWrites()).updateAppointment(this.#db(ctx), ctx.organization_id, calendarId, id, input));
  }

  updateCalendar(ctx: WriteContext, calendarId: string, input: CalendarUpdate): Promise<RpcResult<CalendarRow>> {
    return this.#run(ctx, async () => (await loadWrites()).updateCalendar(this.#db(ctx), ctx.organization_id, calendarId, input));
  }

  deleteCalendar(ctx: WriteContext, calendarId: string): Promise<RpcResult<null>> {
    return this.#run(ctx, async () => {
      await (await loadWrites()).deleteCalendar(this.#db(ctx), ctx.organization_id, calendarId);
      return null;
    });
  }
}

/** Rebuilds the ApiError a CalendarWriter call returned. */
export function unwrap<T>(result: RpcResult<T>): T {
  if (result.ok) return result.data;
  const { type, title, status, detail, request_id: _rid, errors, ...extensions } = result.error as Problem;
  throw new ApiError(status, detail, { type, title, errors, extensions });
}

export function writerFor(env: Env, calendarId: string) {
  return (env.CALENDAR_WRITER as unknown as DurableObjectNamespace<CalendarWriter>).getByName(calendarId);
}

export function writeContext(identity: IdentityContext): WriteContext {
  return { organization_id: identity.organization_id, request_id: identity.request_id, actor: actorFromIdentity("appointments", identity) };
}
