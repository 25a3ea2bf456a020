// A throwaway OTLP/HTTP collector for the bench's export-on rows: takes POST /v1/traces and
// /v1/metrics as a collector does (200, `{}`), keeps nothing but counts, and answers GET /stats
// with them, so the bench can show the export really ran. Runs in its own process: its CPU is not
// counted in the server CPU of the rows.
//   node otlp-sink.mjs <port>
import { createServer } from "node:http";

const port = Number(process.argv[2]);
const stats = { trace_posts: 0, spans: 0, metric_posts: 0, bytes: 0, malformed: 0 };

createServer((req, res) => {
  const chunks = [];
  req.on("data", (c) => chunks.push(c));
  req.on("end", () => {
    const body = Buffer.concat(chunks);
    stats.bytes += body.length;
    if (req.method === "GET" && req.url === "/stats") {
      res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify(stats));
      return;
    }
    if (req.method === "POST" && (req.url === "/v1/traces" || req.url === "/v1/metrics")) {
      try {
        const payload = JSON.parse(body.toString("utf8"));
        if (req.url === "/v1/traces") {
          stats.trace_posts++;
          for (const rs of payload.resourceSpans ?? []) for (const ss of rs.scopeSpans ?? []) stats.spans += ss.spans?.length ?? 0;
        } else stats.metric_posts++;
        res.writeHead(200, { "content-type": "application/json" }).end("{}");
      } catch {
        stats.malformed++;
        res.writeHead(400).end();
      }
      return;
    }
    res.writeHead(404).end();
  });
}).listen(port, "127.0.0.1");
