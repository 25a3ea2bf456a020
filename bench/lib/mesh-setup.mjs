// The data mesh rows' data: a page of contacts (tagged, so one list call returns exactly them),
// each attending an appointment and linked to a demo document, all made through the gateway as
// a client would. Prints the tag.
//   node mesh-setup.mjs <gateway origin> <access token> <count>
const [origin, token, countText] = process.argv.slice(2);
const count = Number(countText);
const tag = `bench-mesh-${Date.now().toString(36)}`;
// The demo documents (workers/documents/seed/demo.sql).
const FILES = [1, 2, 3, 4, 5].map((n) => `d0c5a1e2-7f3b-4e6a-9c1d-3b2a1f0e9d0${n}`);

async function post(path, body) {
  const res = await fetch(origin + path, {
    method: "POST",
    headers: { authorization: `Bearer ${token}`, "content-type": "application/json" },
    body: JSON.stringify(body),
  });
  const text = await res.text();
  if (res.status !== 201) throw new Error(`POST ${path}: ${res.status} ${text}`);
  return JSON.parse(text);
}

/** Runs `work(i)` for i < n, `width` at a time. */
async function pool(n, width, work) {
  let next = 0;
  await Promise.all(
    Array.from({ length: width }, async () => {
      while (next < n) await work(next++);
    }),
  );
}

const calendar = await post("/v1/appointments/calendars", { name: "Bench", time_zone: "UTC" });
await pool(count, 8, async (i) => {
  const contact = await post("/v1/crm/contacts", { first_name: "Bench", last_name: `Mesh ${i}`, email: `${tag}-${i}@example.com`, tags: [tag] });
  const day = new Date(Date.UTC(2027, 0, 1) + i * 86_400_000).toISOString().slice(0, 10);
  await post("/v1/appointments/appointments", {
    calendar_id: calendar.id,
    title: `Bench meeting ${i}`,
    start: `${day}T10:00:00Z`,
    end: `${day}T10:30:00Z`,
    attendees: [{ contact_id: contact.id, email: contact.email, name: `Bench Mesh ${i}` }],
  });
  await post("/v1/mesh/joins", { relationship: "documents", origin_id: contact.id, related_id: FILES[i % FILES.length] });
});
console.log(tag);
