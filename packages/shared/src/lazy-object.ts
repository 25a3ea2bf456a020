import { DurableObject } from "cloudflare:workers";

/**
 * A Durable Object class whose implementation loads when an object is first constructed, not when
 * the isolate starts (bench/README.md "Where start-up goes"): every class a Worker exports is
 * evaluated at its start-up, with everything its module imports, whether or not this isolate
 * ever runs one of its objects.
 *
 * `export const X = lazyDurableObject(() => import("./x").then((m) => m.X), { get: true, alarm: true })`
 * with `export type X = import("./x").X` beside it (the bindings' types name it) gives a class
 * whose constructor imports the module (wrangler bundles a dynamic import as a lazily run module)
 * and builds the real object inside `blockConcurrencyWhile`, so no call reaches it half-built, and
 * whose listed methods call the real object's, synchronous ones synchronously. The list is checked
 * by the type: every public method of the class, the runtime's handlers (fetch, alarm,
 * webSocket*, connect) it defines, and nothing else. Storage, bindings and migrations see the same class
 * name and the same object.
 */

// biome-ignore lint/suspicious/noExplicitAny: any Worker's env
type ObjectClass<T> = new (ctx: DurableObjectState, env: any) => T;
type Handler = "fetch" | "alarm" | "webSocketMessage" | "webSocketClose" | "webSocketError" | "connect";
type Methods<T> = {
  // biome-ignore lint/suspicious/noExplicitAny: any method's arguments
  [K in keyof T]-?: NonNullable<T[K]> extends (...args: any[]) => unknown ? K : never;
}[Exclude<keyof T, Exclude<keyof DurableObject, Handler>>] &
  string;
/** Every public method of `T` but the runtime's handlers, and those of the handlers `T` defines. */
export type MethodList<T> = Record<Exclude<Methods<T>, Handler>, true> & Partial<Record<Handler & Methods<T>, true>>;

// A registered symbol: the same in a test module that imports this file apart from the Worker.
const REAL = Symbol.for("buildly.lazyDurableObject.real");

// biome-ignore lint/suspicious/noExplicitAny: any Worker's object
export function lazyDurableObject<T extends DurableObject<any>>(load: () => Promise<ObjectClass<T>>, methods: MethodList<T>): ObjectClass<T> {
  class Lazy extends DurableObject {
    [REAL]!: T;
    // biome-ignore lint/suspicious/noExplicitAny: any Worker's env
    constructor(ctx: DurableObjectState, env: any) {
      super(ctx, env);
      ctx.blockConcurrencyWhile(async () => {
        const Real = await load();
        this[REAL] = new Real(ctx, env);
      });
    }
  }
  for (const name of Object.keys(methods)) {
    Object.defineProperty(Lazy.prototype, name, {
      configurable: true,
      writable: true,
      value(this: Lazy, ...args: unknown[]) {
        return (this[REAL] as unknown as Record<string, (...a: unknown[]) => unknown>)[name]!(...args);
      },
    });
  }
  return Lazy as unknown as ObjectClass<T>;
}

/** The real object behind a lazy class's object (tests that reach into its state with runInDurableObject). */
export function realObject<T>(obj: T): T {
  return (obj as { [REAL]?: T })[REAL] ?? obj;
}
