/**
 * Bench only: `SIMULATED_DATA_LATENCY_MS` (unset in every config; the benchmark sets it) adds a
 * fixed delay before every call the gateway makes to D1 and to its Durable Objects, standing
 * for a user far from the data: on Cloudflare the D1 primary and each Durable Object live in
 * one place, and every wait on them from the other side of the world pays a round trip. The
 * benchmark compares single-connection latency with and without it to show what the hot path
 * still waits on.
 */
const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Statements handed out by the wrapped D1, so `batch` can pass D1 the real ones. */
const realStatements = new WeakMap<object, D1PreparedStatement>();

function delayedStatement(statement: D1PreparedStatement, ms: number): D1PreparedStatement {
  const wrapped = new Proxy(statement, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "bind") return (...args: unknown[]) => delayedStatement(value.apply(target, args), ms);
      if (prop === "first" || prop === "all" || prop === "run" || prop === "raw") {
        return async (...args: unknown[]) => {
          await sleep(ms);
          return value.apply(target, args);
        };
      }
      return value.bind(target);
    },
  });
  realStatements.set(wrapped, statement);
  return wrapped;
}

function delayedD1(db: D1Database, ms: number): D1Database {
  return new Proxy(db, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (typeof value !== "function") return value;
      if (prop === "prepare") return (sql: string) => delayedStatement(target.prepare(sql), ms);
      if (prop === "batch") {
        return async (statements: D1PreparedStatement[]) => {
          await sleep(ms);
          return target.batch(statements.map((s) => realStatements.get(s) ?? s));
        };
      }
      if (prop === "exec") {
        return async (sql: string) => {
          await sleep(ms);
          return target.exec(sql);
        };
      }
      return value.bind(target);
    },
  });
}

/** Every RPC call on a stub waits `ms` first. */
function delayedStub<T extends object>(stub: T, ms: number): T {
  return new Proxy(stub, {
    get(target, prop) {
      const value = Reflect.get(target, prop);
      if (typeof value !== "function" || prop === "then") return value;
      return async (...args: unknown[]) => {
        await sleep(ms);
        // Reflect.apply, not value.apply: on an RPC stub every property, `apply` included, names a
        // remote method ("The RPC receiver does not implement the method apply").
        return Reflect.apply(value as (...a: unknown[]) => unknown, target, args);
      };
    },
  });
}

// biome-ignore lint/suspicious/noExplicitAny: wraps any namespace, whatever its class
function delayedNamespace<T extends DurableObjectNamespace<any>>(ns: T, ms: number): T {
  return new Proxy(ns, {
    get(target, prop) {
      const value = Reflect.get(target, prop, target);
      if (prop === "getByName" || prop === "get") {
        return (...args: unknown[]) => delayedStub((value as (...a: unknown[]) => object).apply(target, args), ms);
      }
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
}

const wrapped = new WeakMap<object, Env>();

/** `env` itself when the variable is unset (always, outside the benchmark). */
export function withSimulatedLatency(env: Env): Env {
  const ms = Number(Reflect.get(env, "SIMULATED_DATA_LATENCY_MS"));
  if (!(ms > 0)) return env;
  let delayed = wrapped.get(env);
  if (!delayed) {
    const overrides: Partial<Env> = { DB: delayedD1(env.DB, ms) };
    for (const [name, value] of Object.entries(env)) {
      // Durable Object namespaces (not service bindings, whose stubs answer to any property name).
      if (isDurableObjectNamespace(value)) {
        // biome-ignore lint/suspicious/noExplicitAny: wraps any namespace, whatever its class
        (overrides as Record<string, unknown>)[name] = delayedNamespace(value as DurableObjectNamespace<any>, ms);
      }
    }
    delayed = { ...env, ...overrides };
    wrapped.set(env, delayed);
  }
  return delayed;
}

// biome-ignore lint/suspicious/noExplicitAny: a type guard over any namespace
function isDurableObjectNamespace(value: unknown): value is DurableObjectNamespace<any> {
  return typeof value === "object" && value !== null && value.constructor?.name === "DurableObjectNamespace";
}
