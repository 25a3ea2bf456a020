import { describe, expect, it } from "vitest";
import { EVENT_TYPE_PATTERN, PlatformEventSchema } from "../src/events";

describe("event types: <service>.<model>.<action>", () => {
  it("accepts the platform's types, and a service name with hyphens as new-service allows", () => {
    for (const type of ["crm.contact.created", "identity.refresh_token.reuse_detected", "work-orders.item.created", "a1-b2-c3.item.deleted"]) {
      expect(EVENT_TYPE_PATTERN.test(type), type).toBe(true);
    }
  });

  it("refuses anything else", () => {
    for (const type of [
      "crm.contact",
      "crm.contact.created.x",
      "CRM.contact.created",
      "-crm.contact.created",
      "crm-.contact.created",
      "work--orders.item.created",
      "crm.con-tact.created",
      "crm.contact.*",
      "",
    ]) {
      expect(EVENT_TYPE_PATTERN.test(type), type).toBe(false);
    }
    const event = {
      specversion: "1.0",
      id: "e1",
      source: "/buildly/crm",
      type: "crm.contact.created",
      time: "2026-01-01T00:00:00.000Z",
      subject: "s",
      datacontenttype: "application/json",
      organizationid: "o",
      actortype: "user",
      actorid: "u",
      requestid: null,
      data: {},
    };
    expect(PlatformEventSchema.safeParse(event).success).toBe(true);
    expect(PlatformEventSchema.safeParse({ ...event, type: "crm-.contact.created" }).success).toBe(false);
  });
});
