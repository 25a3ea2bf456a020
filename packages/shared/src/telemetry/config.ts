/**
 * What every Worker reads to export telemetry (the OpenTelemetry SDK's own variable names):
 * - OTEL_EXPORTER_OTLP_ENDPOINT: the collector's base URL (`/v1/traces` and `/v1/metrics` are
 *   appended). Unset or empty: telemetry is off and costs nothing but the trace ids.
 * - OTEL_EXPORTER_OTLP_HEADERS: `key=value,key2=value2` (values URL-encoded), e.g. an API key:
 *   a secret (`wrangler secret put`, or .dev.vars locally), never in wrangler.toml.
 * - OTEL_TRACES_SAMPLER_ARG: the share of new traces kept, 0..1 (default 1). A continued trace
 *   follows its caller's sampled flag; a trace with an error is exported whatever the ratio.
 * - OTEL_METRIC_EXPORT_INTERVAL: milliseconds between an isolate's metric exports (default 10000;
 *   0 exports after every invocation).
 * - OTEL_SERVICE_NAME: overrides the service.name resource attribute.
 */
export interface TelemetryEnv {
  OTEL_EXPORTER_OTLP_ENDPOINT?: string;
  OTEL_EXPORTER_OTLP_HEADERS?: string;
  OTEL_TRACES_SAMPLER_ARG?: string;
  OTEL_METRIC_EXPORT_INTERVAL?: string;
  OTEL_SERVICE_NAME?: string;
}

export interface TelemetryConfig {
  endpoint: string;
  headers: Record<string, string>;
  ratio: number;
  metricIntervalMs: number;
  serviceName: string;
}

/** Parsed once per isolate and env object (env is the same object across an isolate's requests). */
const cache = new WeakMap<object, TelemetryConfig | null>();

export function telemetryConfig(env: unknown, service: string): TelemetryConfig | null {
  if (!env || typeof env !== "object") return null;
  const e = env as TelemetryEnv;
  // The fast path: no endpoint, no parsing, nothing cached.
  if (!e.OTEL_EXPORTER_OTLP_ENDPOINT) return null;
  const hit = cache.get(env);
  if (hit !== undefined && hit?.serviceName === (e.OTEL_SERVICE_NAME || service)) return hit;
  let config: TelemetryConfig | null = null;
  try {
    const url = new URL(e.OTEL_EXPORTER_OTLP_ENDPOINT);
    if (url.protocol === "http:" || url.protocol === "https:") {
      const ratio = Number(e.OTEL_TRACES_SAMPLER_ARG ?? "1");
      const interval = Number(e.OTEL_METRIC_EXPORT_INTERVAL ?? "10000");
      config = {
        endpoint: url.href.replace(/\/+$/, ""),
        headers: parseHeaders(e.OTEL_EXPORTER_OTLP_HEADERS),
        ratio: Number.isFinite(ratio) ? Math.min(1, Math.max(0, ratio)) : 1,
        metricIntervalMs: Number.isFinite(interval) && interval >= 0 ? interval : 10000,
        serviceName: e.OTEL_SERVICE_NAME || service,
      };
    }
  } catch {
    config = null;
  }
  if (!config) console.error(JSON.stringify({ level: "error", msg: "OTEL_EXPORTER_OTLP_ENDPOINT is not an http(s) URL: telemetry is off" }));
  cache.set(env, config);
  return config;
}

/** `k=v,k2=v2` as the OpenTelemetry spec writes it (values URL-encoded); malformed pairs are skipped. */
export function parseHeaders(value: string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  for (const pair of (value ?? "").split(",")) {
    const i = pair.indexOf("=");
    if (i <= 0) continue;
    const key = pair.slice(0, i).trim().toLowerCase();
    if (!/^[!#$%&'*+.^_`|~0-9a-z-]+$/.test(key)) continue;
    try {
      out[key] = decodeURIComponent(pair.slice(i + 1).trim());
    } catch {
      // A value that is not valid percent-encoding is dropped rather than sent mangled.
    }
  }
  return out;
}
