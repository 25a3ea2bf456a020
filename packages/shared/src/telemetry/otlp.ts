/**
 * The OTLP/HTTP JSON encoding (opentelemetry-proto, JSON mapping): what a collector, Jaeger,
 * Grafana Tempo/Alloy, Honeycomb or Datadog accept at /v1/traces and /v1/metrics. Ids are hex
 * strings, times are nanoseconds since the epoch as decimal strings, 64-bit integers are strings.
 */

export type AttributeValue = string | number | boolean;
export type Attributes = Record<string, AttributeValue | undefined>;

export const SPAN_KIND = { internal: 1, server: 2, client: 3, producer: 4, consumer: 5 } as const;
export type SpanKind = keyof typeof SPAN_KIND;

export interface FinishedSpan {
  traceId: string;
  spanId: string;
  parentSpanId?: string;
  name: string;
  kind: SpanKind;
  startMs: number;
  endMs: number;
  attributes: Attributes;
  links?: { traceId: string; spanId: string; attributes?: Attributes }[];
  events?: { name: string; timeMs: number; attributes: Attributes }[];
  error?: string;
}

/** Longest string attribute sent: enough for a route or an error message, never a body. */
const MAX_VALUE_CHARS = 256;

type OtlpValue = { stringValue: string } | { intValue: string } | { doubleValue: number } | { boolValue: boolean };

function value(v: AttributeValue): OtlpValue {
  if (typeof v === "string") return { stringValue: v.length > MAX_VALUE_CHARS ? v.slice(0, MAX_VALUE_CHARS) : v };
  if (typeof v === "boolean") return { boolValue: v };
  return Number.isInteger(v) ? { intValue: String(v) } : { doubleValue: v };
}

export function encodeAttributes(attrs: Attributes): { key: string; value: OtlpValue }[] {
  const out: { key: string; value: OtlpValue }[] = [];
  for (const key in attrs) {
    const v = attrs[key];
    if (v !== undefined) out.push({ key, value: value(v) });
  }
  return out;
}

const nanos = (ms: number): string => `${Math.round(ms * 1000)}000`;

function resource(serviceName: string) {
  return {
    attributes: encodeAttributes({
      "service.name": serviceName,
      "service.namespace": "buildly-edge",
      "cloud.provider": "cloudflare",
      "cloud.platform": "cloudflare.workers",
    }),
  };
}

const SCOPE = { name: "@buildly/shared/telemetry", version: "1" };

export function encodeTraces(serviceName: string, spans: FinishedSpan[]) {
  return {
    resourceSpans: [
      {
        resource: resource(serviceName),
        scopeSpans: [
          {
            scope: SCOPE,
            spans: spans.map((s) => ({
              traceId: s.traceId,
              spanId: s.spanId,
              ...(s.parentSpanId ? { parentSpanId: s.parentSpanId } : {}),
              name: s.name,
              kind: SPAN_KIND[s.kind],
              startTimeUnixNano: nanos(s.startMs),
              endTimeUnixNano: nanos(Math.max(s.endMs, s.startMs)),
              attributes: encodeAttributes(s.attributes),
              events: (s.events ?? []).map((e) => ({ name: e.name, timeUnixNano: nanos(e.timeMs), attributes: encodeAttributes(e.attributes) })),
              links: (s.links ?? []).map((l) => ({ traceId: l.traceId, spanId: l.spanId, attributes: encodeAttributes(l.attributes ?? {}) })),
              // STATUS_CODE_UNSET = 0, ERROR = 2 (the API sets OK only when a user says so).
              status: s.error !== undefined ? { code: 2, message: s.error.slice(0, MAX_VALUE_CHARS) } : { code: 0 },
            })),
          },
        ],
      },
    ],
  };
}

export interface CounterPoint {
  attributes: Attributes;
  value: number;
}
export interface HistogramPoint {
  attributes: Attributes;
  count: number;
  sum: number;
  min: number;
  max: number;
  bucketCounts: number[];
}
export type MetricData =
  | { name: string; unit: string; description: string; kind: "counter"; points: CounterPoint[] }
  | { name: string; unit: string; description: string; kind: "histogram"; bounds: number[]; points: HistogramPoint[] };

/** AGGREGATION_TEMPORALITY_DELTA: each export holds what this isolate counted since its previous one. */
export const DELTA = 1;

export function encodeMetrics(serviceName: string, startMs: number, endMs: number, metrics: MetricData[]) {
  const start = nanos(startMs);
  const time = nanos(endMs);
  return {
    resourceMetrics: [
      {
        resource: resource(serviceName),
        scopeMetrics: [
          {
            scope: SCOPE,
            metrics: metrics.map((m) =>
              m.kind === "counter"
                ? {
                    name: m.name,
                    unit: m.unit,
                    description: m.description,
                    sum: {
                      aggregationTemporality: DELTA,
                      isMonotonic: true,
                      dataPoints: m.points.map((p) => ({
                        attributes: encodeAttributes(p.attributes),
                        startTimeUnixNano: start,
                        timeUnixNano: time,
                        asInt: String(p.value),
                      })),
                    },
                  }
                : {
                    name: m.name,
                    unit: m.unit,
                    description: m.description,
                    histogram: {
                      aggregationTemporality: DELTA,
                      dataPoints: m.points.map((p) => ({
                        attributes: encodeAttributes(p.attributes),
                        startTimeUnixNano: start,
                        timeUnixNano: time,
                        count: String(p.count),
                        sum: p.sum,
                        min: p.min,
                        max: p.max,
                        bucketCounts: p.bucketCounts.map(String),
                        explicitBounds: m.bounds,
                      })),
                    },
                  },
            ),
          },
        ],
      },
    ],
  };
}
