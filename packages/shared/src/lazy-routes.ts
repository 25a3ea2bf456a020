import { OpenAPIHono } from "@hono/zod-openapi";
import type { Context, Next } from "hono";
import { loadOnce } from "./load-once";

/**
 * Route groups built on their first request instead of at start-up (bench/README.md "Bundles and
 * start-up"). Building a group's zod schemas and registering its routes is most of a Worker's
 * start-up; a cold request then pays only for its own group.
 *
 * `lazyRoutes(app, ROUTES, () => import("./routes/contacts").then((m) => m.registerContacts))`
 * registers, in the router, one route for each `[method, path]` of `ROUTES`, in that order, as the
 * group's own registration would (the same patterns, so the same matching, params, `routePath`
 * and 405s). The first request to any of them imports the group's module (wrangler bundles a
 * dynamic import as a lazily run module), runs its registration on a throwaway app, checks that
 * it registers exactly `ROUTES` (a 500 names the difference otherwise, so a list that drifts
 * fails every test of the group), and from then on runs each route's own middleware, validators
 * and handler, with the app's error handler, as Hono would have. The group's OpenAPI definitions
 * go into the app's registry where its registration would have put them: `loadLazyRoutes(app)`
 * (the OpenAPI document's route calls it) loads every group, and the document is the same.
 */

/** `[method, path]` in the OpenAPI form the group's createRoute uses (`/contacts/{id}`). */
export type RouteList = readonly (readonly [method: string, path: string])[];
/** A collection's five routes, in the order the services register them: list, create, read, update, delete. */
export const crudRoutes = (base: string): RouteList => [
  ["get", `/${base}`],
  ["post", `/${base}`],
  ["get", `/${base}/{id}`],
  ["patch", `/${base}/{id}`],
  ["delete", `/${base}/{id}`],
];

// biome-ignore lint/suspicious/noExplicitAny: any Worker's app, whatever its env type
type AnyApp = OpenAPIHono<any, any, any>;
type Register = (app: AnyApp) => unknown;
// biome-ignore lint/suspicious/noExplicitAny: Hono's handlers, as its router holds them
type Handler = (c: Context<any>, next: Next) => unknown;

interface Group {
  routes: RouteList;
  load: () => Promise<Register>;
  order: number;
  /** How many of the registry's definitions were registered before this group. */
  eagerBefore: number;
  /** The group's route chains, built on the first call. */
  built: () => Promise<Map<string, Handler[]>>;
  /** Definitions spliced into the registry once loaded. */
  defs?: number;
}

const groupsOf = new WeakMap<AnyApp, Group[]>();

const honoPath = (path: string) => path.replaceAll(/\/{(.+?)}/g, "/:$1");
const keyOf = (method: string, path: string) => `${method.toUpperCase()} ${honoPath(path)}`;
const definitionsOf = (app: AnyApp) => (app.openAPIRegistry as unknown as { _definitions: unknown[] })._definitions;

export function lazyRoutes(app: AnyApp, routes: RouteList, load: () => Promise<Register>): void {
  const groups = groupsOf.get(app) ?? [];
  groupsOf.set(app, groups);
  const spliced = groups.reduce((n, g) => n + (g.defs ?? 0), 0);
  const group: Group = { routes, load, order: groups.length, eagerBefore: definitionsOf(app).length - spliced, built: loadOnce(() => build(app, group)) };
  groups.push(group);
  for (const [method, path] of routes) {
    const key = keyOf(method, path);
    app.on(method.toUpperCase(), honoPath(path), async (c, next) => {
      const chain = (await group.built()).get(key) as Handler[];
      await runChain(app, chain, c, next);
    });
  }
}

/** Loads every lazy group of `app` (the OpenAPI document needs all of them). */
export async function loadLazyRoutes(app: AnyApp): Promise<void> {
  for (const g of groupsOf.get(app) ?? []) await g.built();
}

async function build(app: AnyApp, group: Group): Promise<Map<string, Handler[]>> {
  const register = await group.load();
  const capture: AnyApp = new OpenAPIHono({ defaultHook: app.defaultHook });
  register(capture);
  const chains = new Map<string, Handler[]>();
  for (const r of capture.routes) {
    const key = `${r.method} ${r.path}`;
    // A middleware still undefined when the group's module ran (an import circle) would never run.
    if (typeof r.handler !== "function") throw new Error(`A lazy route group's ${key} has a handler that is not a function.`);
    const chain = chains.get(key);
    if (chain) chain.push(r.handler as Handler);
    else chains.set(key, [r.handler as Handler]);
  }
  const listed = group.routes.map(([m, p]) => keyOf(m, p));
  const registered = [...chains.keys()];
  if (listed.length !== registered.length || listed.some((k, i) => registered[i] !== k)) {
    throw new Error(`A lazy route group lists [${listed.join(", ")}] but registers [${registered.join(", ")}]; update its route list.`);
  }
  // Its definitions where its registration would have put them: after the eager ones registered
  // before it and the groups before it that are loaded already.
  const groups = groupsOf.get(app) ?? [];
  const at = group.eagerBefore + groups.filter((g) => g.order < group.order).reduce((n, g) => n + (g.defs ?? 0), 0);
  const defs = definitionsOf(capture);
  definitionsOf(app).splice(at, 0, ...defs);
  group.defs = defs.length;
  return chains;
}

/** Hono's compose for one route's chain, inside the placeholder route (its routeIndex stays). */
async function runChain(app: AnyApp, chain: Handler[], c: Context, next: Next): Promise<void> {
  let last = -1;
  const dispatch = async (i: number): Promise<void> => {
    if (i <= last) throw new Error("next() called multiple times");
    last = i;
    const handler = i < chain.length ? chain[i] : next;
    let res: unknown;
    let isError = false;
    try {
      res = await handler!(c, () => dispatch(i + 1));
    } catch (err) {
      if (!(err instanceof Error)) throw err;
      c.error = err;
      res = await (app as unknown as { errorHandler: (err: Error, c: Context) => Response | Promise<Response> }).errorHandler(err, c);
      isError = true;
    }
    if (res && (c.finalized === false || isError)) c.res = res as Response;
  };
  await dispatch(0);
}

/**
 * A middleware or handler whose module loads on its first call, not at start-up (the request
 * path's authentication, rate limits and proxy in the gateway): the first call imports it, every
 * later one calls the loaded function directly, with no await added to the request.
 */
// biome-ignore lint/suspicious/noExplicitAny: any async function's arguments
export function lazyHandler<F extends (...args: any[]) => Promise<unknown>>(load: () => Promise<F>): F {
  const loading = loadOnce(load);
  let loaded: F | undefined;
  return ((...args: Parameters<F>) => (loaded ? loaded(...args) : loading().then((f) => (loaded = f)(...args)))) as F;
}
