import type { EventActor, PlatformEvent } from "@buildly/shared";
import type { TemplateInput } from "../workflows/schemas";
import { GATEWAY_SOURCE, gatewayEvent } from "./emit";

/**
 * What a workflow template's events carry: its name and shape (state and transition keys), not
 * the whole definition (actions may be large); GET /v1/workflows/templates/{id}?version= has it.
 */
export function templateEvent(
  actor: EventActor,
  type: "workflows.template.created" | "workflows.template.updated" | "workflows.template.deleted",
  organizationId: string,
  id: string,
  input: TemplateInput | null,
  version: number | null,
): PlatformEvent {
  const data: Record<string, unknown> = { id };
  if (input) {
    Object.assign(data, {
      version,
      name: input.name,
      description: input.description ?? null,
      initial_state: input.initial_state,
      states: input.states.map((s) => s.key),
      transitions: input.transitions.map((t) => t.key),
    });
  }
  return gatewayEvent(actor, type, { subject: id, organizationid: organizationId, data });
}

/** One transition of a workflow instance (from the instance's history, written with its index row). */
export interface TransitionRecord {
  instance_id: string;
  organization_id: string;
  template_id: string;
  version: number;
  transition: string | null;
  from: string | null;
  to: string;
  actor: { type: string; id: string | null };
  time: string;
  request_id: string | null;
  data: Record<string, unknown>;
  actions: unknown[];
  subject: unknown;
}

/**
 * The event of one transition. Its id is derived from the instance and the version it made, so
 * the index write that carries it may run again (a retry, a restarted object): the outbox keeps
 * one row (INSERT OR IGNORE) and the consumer records the id once.
 */
export function transitionEvent(t: TransitionRecord): PlatformEvent {
  const actortype = t.actor.type === "user" || t.actor.type === "client" ? t.actor.type : "system";
  return gatewayEvent(
    { source: GATEWAY_SOURCE, actortype, actorid: actortype === "system" ? null : t.actor.id, requestid: t.request_id },
    "workflows.instance.transitioned",
    {
      id: `wf-${t.instance_id}-v${t.version}`,
      time: t.time,
      subject: t.instance_id,
      organizationid: t.organization_id,
      data: {
        id: t.instance_id,
        template_id: t.template_id,
        transition: t.transition,
        from: t.from,
        to: t.to,
        version: t.version,
        subject: t.subject,
        data: t.data,
        actions: t.actions,
      },
    },
  );
}
