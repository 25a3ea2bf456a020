import type { Attributes, MetricData } from "./otlp";

const LATENCY_MS = [5, 10, 25, 50, 100, 250, 500, 1000, 2500, 5000, 10000];
const SIZES = [0, 1, 2, 3, 5, 10, 25, 50, 100];

/**
 * Every metric the platform exports, in one place (docs/observability.md lists them). Counters are
 * monotonic sums; all are exported with DELTA temporality: an isolate sends what it counted since
 * its own previous export, so a backend adds the deltas of every isolate (no isolate knows the others).
 */
export const METRICS = {
  "buildly.http.server.requests": { kind: "counter", unit: "{request}", description: "Requests answered, by service, route template, method and status class" },
  "buildly.http.server.duration": {
    kind: "histogram",
    unit: "ms",
    bounds: LATENCY_MS,
    description: "Time to answer, by service, route template, method and status class",
  },
  "buildly.upstream.calls": { kind: "counter", unit: "{call}", description: "Gateway calls to a logic service, by service, operation and outcome" },
  "buildly.upstream.duration": {
    kind: "histogram",
    unit: "ms",
    bounds: LATENCY_MS,
    description: "Time a logic service took to answer the gateway, by service and operation",
  },
  "buildly.ratelimit.decisions": {
    kind: "counter",
    unit: "{decision}",
    description: "Rate-limit decisions, by policy and decision (allowed, limited, failed_open, failed_closed)",
  },
  "buildly.mesh.fanout.size": {
    kind: "histogram",
    unit: "{call}",
    bounds: SIZES,
    description: "Service calls one joined read or write fanned out to, by kind (join)",
  },
  "buildly.mesh.partial_answers": {
    kind: "counter",
    unit: "{request}",
    description: "Mesh answers missing part of a service's data (a service failed or timed out)",
  },
  "buildly.workflow.transitions": { kind: "counter", unit: "{transition}", description: "Workflow instance state changes, by target state" },
  "buildly.workflow.timeouts": { kind: "counter", unit: "{timeout}", description: "Workflow steps ended by their deadline" },
  "buildly.workflow.completions": { kind: "counter", unit: "{instance}", description: "Workflow instances completed, by organization" },
  "buildly.events.relayed": { kind: "counter", unit: "{event}", description: "Events taken from the queue and recorded, by source" },
  "buildly.events.lag": {
    kind: "histogram",
    unit: "ms",
    bounds: LATENCY_MS,
    description: "Time from an event's write to its recording by the consumer, by source",
  },
  "buildly.records.created": { kind: "counter", unit: "{record}", description: "Records created, by organization and service (from the events)" },
  "buildly.webhook.attempts": { kind: "counter", unit: "{attempt}", description: "Webhook delivery attempts, by outcome (delivered, retrying, dead_lettered)" },
  "buildly.webhook.dead_letters": { kind: "counter", unit: "{delivery}", description: "Webhook deliveries that ran out of attempts" },
  "buildly.org.active_users": {
    kind: "counter",
    unit: "{user}",
    description: "Distinct users seen with a request per organization in this isolate's export interval (summed over isolates it is an upper bound)",
  },
} as const satisfies Record<string, { kind: "counter" | "histogram"; unit: string; description: string; bounds?: number[] }>;

export type MetricName = keyof typeof METRICS;

/** Series (name + attribute set) one isolate keeps per interval; more are dropped, never grown without bound. */
export const MAX_SERIES = 2000;

type Series = { attributes: Attributes; value: number; count: number; sum: number; min: number; max: number; buckets: number[] };

/** One isolate's numbers since its last export. Module state: shared by the isolate's invocations on purpose. */
let window = new Map<string, Map<string, Series>>();
let seriesCount = 0;
let windowStartMs = Date.now();
let lastExportMs = 0;
/** Distinct users per organization in this window (for buildly.org.active_users). */
let activeUsers = new Map<string, Set<string>>();

function keyOf(attrs: Attributes): string {
  let key = "";
  for (const k of Object.keys(attrs).sort()) key += `${k}=${String(attrs[k])}\u0000`;
  return key;
}

function series(name: MetricName, attrs: Attributes): Series | undefined {
  let byKey = window.get(name);
  if (!byKey) {
    byKey = new Map();
    window.set(name, byKey);
  }
  const key = keyOf(attrs);
  let s = byKey.get(key);
  if (!s) {
    if (seriesCount >= MAX_SERIES) return undefined;
    const def = METRICS[name];
    s = {
      attributes: { ...attrs },
      value: 0,
      count: 0,
      sum: 0,
      min: Number.POSITIVE_INFINITY,
      max: Number.NEGATIVE_INFINITY,
      buckets: "bounds" in def ? new Array(def.bounds.length + 1).fill(0) : [],
    };
    byKey.set(key, s);
    seriesCount++;
  }
  return s;
}

export function addToCounter(name: MetricName, attrs: Attributes, n = 1): void {
  const s = series(name, attrs);
  if (s) s.value += n;
}

export function recordInHistogram(name: MetricName, attrs: Attributes, v: number): void {
  const def = METRICS[name];
  if (!("bounds" in def)) return;
  const s = series(name, attrs);
  if (!s) return;
  s.count++;
  s.sum += v;
  if (v < s.min) s.min = v;
  if (v > s.max) s.max = v;
  let i = 0;
  while (i < def.bounds.length && v > def.bounds[i]!) i++;
  s.buckets[i]!++;
}

export function noteActiveUser(organization: string, user: string): void {
  let users = activeUsers.get(organization);
  if (!users) {
    if (activeUsers.size >= MAX_SERIES) return;
    users = new Set();
    activeUsers.set(organization, users);
  }
  if (users.size < 100_000) users.add(user);
}

/** What to export now, if the interval has passed since this isolate's last export; the window starts afresh. */
export function takeMetrics(intervalMs: number, now = Date.now()): { startMs: number; endMs: number; metrics: MetricData[] } | undefined {
  if (lastExportMs !== 0 && now - lastExportMs < intervalMs) return undefined;
  for (const [org, users] of activeUsers) addToCounter("buildly.org.active_users", { organization: org }, users.size);
  if (window.size === 0) return undefined;
  const taken = window;
  const startMs = windowStartMs;
  window = new Map();
  activeUsers = new Map();
  seriesCount = 0;
  windowStartMs = now;
  lastExportMs = now;
  const metrics: MetricData[] = [];
  for (const [name, byKey] of taken) {
    const def = METRICS[name as MetricName];
    if ("bounds" in def) {
      metrics.push({
        name,
        unit: def.unit,
        description: def.description,
        kind: "histogram",
        bounds: [...def.bounds],
        points: [...byKey.values()].map((s) => ({ attributes: s.attributes, count: s.count, sum: s.sum, min: s.min, max: s.max, bucketCounts: s.buckets })),
      });
    } else {
      metrics.push({
        name,
        unit: def.unit,
        description: def.description,
        kind: "counter",
        points: [...byKey.values()].map((s) => ({ attributes: s.attributes, value: s.value })),
      });
    }
  }
  return { startMs, endMs: now, metrics };
}
