import { createServer, type Server } from "node:http";

/*
 * A small OTLP/HTTP JSON receiver for the e2e suite (global-setup.ts starts it before the
 * platform, which exports to it): POST /v1/traces and /v1/metrics as a collector takes them;
 * GET /traces/<trace id> answers that trace's spans (each with its service.name), GET /metrics
 * the sums received so far per service, metric name and attribute set. Bounded: the oldest traces
 * go past MAX_TRACES.
 */
const MAX_TRACES = 20_000;
const MAX_BODY = 8 * 1024 * 1024;

type Attr = { key: string; value: Record<string, unknown> };
export interface ReceivedSpan {
  service: string;
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: number;
  attributes: Record<string, unknown>;
  links: { traceId: string; spanId: string }[];
  status: { code: number; message?: string };
  raw: string;
}
export interface ReceivedMetric {
  service: string;
  name: string;
  attributes: Record<string, unknown>;
  /** A sum's total, or a histogram's count of observations. */
  value: number;
  temporality: number;
}

const plain = (attrs: Attr[] = []) => Object.fromEntries(attrs.map((a) => [a.key, Object.values(a.value)[0]]));

export async function startOtlpReceiver(): Promise<{ url: string; server: Server }> {
  const traces = new Map<string, ReceivedSpan[]>();
  const metrics = new Map<string, ReceivedMetric>();
  let malformed = 0;
  const server = createServer((req, res) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on("data", (c: Buffer) => {
      size += c.length;
      if (size <= MAX_BODY) chunks.push(c);
    });
    req.on("end", () => {
      const url = new URL(req.url ?? "/", "http://receiver");
      const answer = (status: number, body: unknown) => {
        res.writeHead(status, { "content-type": "application/json" });
        res.end(JSON.stringify(body));
      };
      try {
        if (req.method === "POST" && url.pathname === "/v1/traces") {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          for (const rs of body.resourceSpans ?? []) {
            const service = String(plain(rs.resource?.attributes)["service.name"]);
            for (const ss of rs.scopeSpans ?? [])
              for (const s of ss.spans ?? []) {
                const list = traces.get(s.traceId) ?? [];
                list.push({ service, ...s, attributes: plain(s.attributes), links: s.links ?? [], raw: JSON.stringify(s) });
                traces.set(s.traceId, list);
                if (traces.size > MAX_TRACES) traces.delete(traces.keys().next().value!);
              }
          }
          return answer(200, {});
        }
        if (req.method === "POST" && url.pathname === "/v1/metrics") {
          const body = JSON.parse(Buffer.concat(chunks).toString("utf8"));
          for (const rm of body.resourceMetrics ?? []) {
            const service = String(plain(rm.resource?.attributes)["service.name"]);
            for (const sm of rm.scopeMetrics ?? [])
              for (const m of sm.metrics ?? []) {
                const data = m.sum ?? m.histogram;
                for (const p of data?.dataPoints ?? []) {
                  const attributes = plain(p.attributes);
                  const key = JSON.stringify([service, m.name, Object.entries(attributes).sort()]);
                  const value = Number(m.sum ? p.asInt : p.count);
                  const seen = metrics.get(key);
                  if (seen) seen.value += value;
                  else metrics.set(key, { service, name: m.name, attributes, value, temporality: data.aggregationTemporality });
                }
              }
          }
          return answer(200, {});
        }
        if (req.method === "GET" && url.pathname.startsWith("/traces/")) return answer(200, traces.get(url.pathname.slice(8)) ?? []);
        if (req.method === "GET" && url.pathname === "/metrics") return answer(200, { metrics: [...metrics.values()], malformed });
        answer(404, {});
      } catch {
        malformed++;
        answer(400, {});
      }
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const address = server.address();
  if (!address || typeof address !== "object") throw new Error("the OTLP receiver has no port");
  return { url: `http://127.0.0.1:${address.port}`, server };
}
