import type { Span, Telemetry } from "./telemetry";

/*
 * D1 and R2 as a traced invocation sees them: each query or batch a client span named by its
 * statement kind and table (`D1 SELECT contacts`), each object operation `R2 put`. Never the SQL's
 * values, an object's key or its body. Only used when telemetry records: otherwise the bindings are
 * handed over untouched, so the off path pays nothing.
 */

const KIND = /^\s*(?:with\b[\s\S]*?\)\s*)?(select|insert|update|delete|replace|create|drop|alter|pragma)\b/i;
const TABLE = /\b(?:from|into|update|join|table)\s+["`[]?([A-Za-z_][\w]*)/i;

/** `SELECT contacts` for `select * from "contacts" where ...`: the statement's kind and first table. */
export function describeSql(sql: string): { operation: string; table: string | undefined } {
  const operation = (KIND.exec(sql)?.[1] ?? "query").toUpperCase();
  const table = TABLE.exec(sql)?.[1];
  return { operation, table };
}

function d1Span(tel: Telemetry, sql: string, parent?: Span): Span {
  const { operation, table } = describeSql(sql);
  return tel.span(`D1 ${operation}${table ? ` ${table}` : ""}`, {
    kind: "client",
    parent,
    attributes: { "db.system.name": "cloudflare_d1", "db.operation.name": operation, "db.collection.name": table },
  });
}

async function traced<T>(span: Span, run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (err) {
    span.fail(err);
    throw err;
  } finally {
    span.end();
  }
}

type Statement = {
  bind(...v: unknown[]): Statement;
  run(): Promise<unknown>;
  all(): Promise<unknown>;
  first(c?: string): Promise<unknown>;
  raw(o?: unknown): Promise<unknown>;
};

class TracedStatement {
  constructor(
    readonly inner: Statement,
    readonly sql: string,
    private readonly tel: Telemetry,
  ) {}
  bind(...values: unknown[]): TracedStatement {
    return new TracedStatement(this.inner.bind(...values), this.sql, this.tel);
  }
  run() {
    return traced(d1Span(this.tel, this.sql), () => this.inner.run());
  }
  all() {
    return traced(d1Span(this.tel, this.sql), () => this.inner.all());
  }
  first(column?: string) {
    return traced(d1Span(this.tel, this.sql), () => (column === undefined ? this.inner.first() : this.inner.first(column)));
  }
  raw(options?: unknown) {
    return traced(d1Span(this.tel, this.sql), () => (options === undefined ? this.inner.raw() : this.inner.raw(options)));
  }
}

type Database = {
  prepare(sql: string): Statement;
  batch(s: unknown[]): Promise<unknown>;
  exec(sql: string): Promise<unknown>;
  withSession?(c?: string): unknown;
  dump?(): Promise<ArrayBuffer>;
};

class TracedDatabase {
  constructor(
    private readonly inner: Database,
    private readonly tel: Telemetry,
  ) {}
  prepare(sql: string): TracedStatement {
    return new TracedStatement(this.inner.prepare(sql), sql, this.tel);
  }
  batch(statements: unknown[]) {
    const inner = statements.map((s) => (s instanceof TracedStatement ? s.inner : s));
    const kinds = [...new Set(statements.map((s) => (s instanceof TracedStatement ? describeSql(s.sql).operation : "query")))];
    const span = this.tel.span("D1 batch", {
      kind: "client",
      attributes: { "db.system.name": "cloudflare_d1", "db.operation.name": `BATCH ${kinds.join(",")}`, "db.operation.batch.size": statements.length },
    });
    return traced(span, () => this.inner.batch(inner));
  }
  exec(sql: string) {
    return traced(d1Span(this.tel, sql), () => this.inner.exec(sql));
  }
  withSession(constraint?: string) {
    return this.inner.withSession?.(constraint);
  }
  dump() {
    return this.inner.dump?.();
  }
}

export function tracedD1<D>(db: D, tel: Telemetry): D {
  if (!tel.recording || !db) return db;
  return new TracedDatabase(db as unknown as Database, tel) as unknown as D;
}

const R2_OPERATIONS = ["head", "get", "put", "delete", "list", "createMultipartUpload"] as const;

/** R2 bucket operations as spans (`R2 put`), the key left out. */
export function tracedR2<B extends object>(bucket: B, tel: Telemetry): B {
  if (!tel.recording) return bucket;
  const wrapped: Record<string, unknown> = {};
  for (const op of R2_OPERATIONS) {
    const fn = (bucket as Record<string, unknown>)[op];
    if (typeof fn !== "function") continue;
    wrapped[op] = (...args: unknown[]) =>
      traced(tel.span(`R2 ${op}`, { kind: "client", attributes: { "cloud.service": "r2", "buildly.r2.operation": op } }), () => fn.apply(bucket, args));
  }
  return new Proxy(bucket, {
    get: (target, key) => {
      if (typeof key === "string" && key in wrapped) return wrapped[key];
      const v = Reflect.get(target, key);
      // The binding's own methods expect the binding as `this`, not the proxy.
      return typeof v === "function" ? v.bind(target) : v;
    },
  });
}

/** An env whose D1 (`DB`) and R2 buckets record spans; the env itself when telemetry is off. */
export function tracedEnv<E extends object>(env: E, tel: Telemetry): E {
  if (!tel.recording) return env;
  const out: Record<string, unknown> = { ...(env as Record<string, unknown>) };
  for (const [key, value] of Object.entries(env)) {
    if (key === "DB") out[key] = tracedD1(value, tel);
    else if (value && typeof value === "object" && typeof (value as { createMultipartUpload?: unknown }).createMultipartUpload === "function")
      out[key] = tracedR2(value as object, tel);
  }
  return out as E;
}
