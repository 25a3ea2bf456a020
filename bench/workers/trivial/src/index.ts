// Scenario (a): a fixed small body, so the number is what workerd (plus `wrangler dev`'s
// own proxy in front of it) costs per request on this machine, with no code of ours in it.
export default {
  fetch(): Response {
    return new Response("ok\n", { headers: { "content-type": "text/plain; charset=utf-8" } });
  },
} satisfies ExportedHandler;
