export * from "./config";
export * from "./metrics";
export * from "./otlp";
export * from "./telemetry";
export * from "./trace-context";
export * from "./bindings";
