// The SDK in one script: signs in as an API client (client credentials), creates a contact with
// an appointment in one joined write, pages through the contacts, and verifies the webhook the
// platform sends about the new contact.
//
//   BUILDLY_URL=http://127.0.0.1:8787 BUILDLY_CLIENT_ID=... BUILDLY_CLIENT_SECRET=... node examples/quickstart.ts
//
// The API client needs the admin role (webhooks are admins only). The webhook receiver listens on
// this machine, which `npm run dev` allows (WEBHOOKS_ALLOW_LOOPBACK); in production it is an https URL.
import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { ApiError, createClient, paginate, verifyWebhook } from "@buildly/sdk";

const baseUrl = process.env.BUILDLY_URL ?? "http://127.0.0.1:8787";
const api = createClient({
  baseUrl,
  auth: { type: "clientCredentials", clientId: process.env.BUILDLY_CLIENT_ID!, clientSecret: process.env.BUILDLY_CLIENT_SECRET! },
});

// A webhook receiver: hands each delivery's raw body and headers to whoever waits for one.
const deliveries: { body: string; headers: Record<string, string | string[] | undefined> }[] = [];
const receiver = createServer((req, res) => {
  let body = "";
  req.on("data", (chunk) => (body += chunk));
  req.on("end", () => {
    deliveries.push({ body, headers: req.headers });
    res.writeHead(204).end();
  });
});
await new Promise<void>((resolve) => receiver.listen(0, "127.0.0.1", resolve));
const hook = await api.POST("/v1/webhooks", {
  body: { url: `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hooks`, events: ["crm.contact.created"] },
});
console.log(`webhook ${hook.id} subscribed to crm.contact.created`);

try {
  // Contacts and appointments related by join records (a relationship is the organization's data:
  // an admin defines it once), so that one call can create a contact with its first appointment.
  await api
    .POST("/v1/mesh/relationships", {
      body: {
        key: "meetings",
        reverse_key: "guests",
        origin: { service: "crm", model: "contacts" },
        related: { service: "appointments", model: "appointments" },
        kind: "join_records",
      },
    })
    .catch((err) => {
      if (!(err instanceof ApiError && err.status === 409)) throw err; // defined by an earlier run
    });
  const calendar = await api.POST("/v1/appointments/calendars", { body: { name: "Sales calls", time_zone: "Europe/London" } });
  const start = new Date(Date.now() + 86_400_000);
  const contact = await api.POST("/v1/crm/contacts", {
    params: { query: { join: "meetings" } },
    body: {
      first_name: "Grace",
      last_name: "Hopper",
      email: `grace.${crypto.randomUUID().slice(0, 8)}@example.com`,
      _embedded: {
        meetings: [{ calendar_id: calendar.id, title: "Intro call", start: start.toISOString(), end: new Date(start.getTime() + 1_800_000).toISOString() }],
      },
    },
  });
  const appointments = contact._embedded?.meetings ?? [];
  console.log(`contact ${contact.id} created with ${appointments.length} appointment(s): ${appointments.map((a) => a.title).join(", ")}`);

  // Every contact, 50 a page.
  let count = 0;
  for await (const c of paginate((cursor) => api.GET("/v1/crm/contacts", { params: { query: { cursor, limit: 50 } } }))) {
    if (c.id === contact.id) console.log(`found ${c.first_name} ${c.last_name} while paging`);
    count++;
  }
  console.log(`${count} contacts in all`);

  // The platform's signed webhook about the new contact (delivered within seconds).
  const deadline = Date.now() + 60_000;
  for (;;) {
    const delivery = deliveries.shift();
    if (delivery) {
      const event = await verifyWebhook<{ type: string; subject: string }>(delivery.body, delivery.headers, hook.secret);
      if (event.subject === contact.id) {
        console.log(`verified webhook: ${event.type} for ${event.subject}`);
        break;
      }
    } else if (Date.now() > deadline) {
      throw new Error("no webhook arrived within a minute");
    } else {
      await new Promise((r) => setTimeout(r, 200));
    }
  }
} catch (err) {
  if (err instanceof ApiError) console.error(`the API answered ${err.status} ${err.title}: ${err.detail} (request ${err.requestId})`, err.errors);
  throw err;
} finally {
  await api.DELETE("/v1/webhooks/{id}", { params: { path: { id: hook.id } } });
  receiver.close();
}
