import { withDeadline } from "./deadline";
import { systemIdentity } from "./identity-context";
import { callService } from "@buildly/shared";
import { serviceBinding, type ServiceEntry } from "./registry";

// biome-ignore lint/suspicious/noExplicitAny: an OpenAPI document is untyped JSON walked by key
type Doc = Record<string, any>;

/** A logic service's own OpenAPI document, asked over its binding (bounded by its deadline, 5 s at most). */
export async function fetchServiceDoc(env: Env, entry: ServiceEntry, requestId: string): Promise<Doc> {
  const stub = serviceBinding(env, entry);
  if (!stub) throw new Error(`${entry.name} is not bound`);
  const res = await withDeadline(entry.name, Math.min(entry.timeout_ms, 5000), () =>
    callService(stub, new Request(`https://${entry.name}.internal${entry.openapi}`, { headers: { accept: "application/json" } }), systemIdentity(requestId)),
  );
  if (!res.ok) throw new Error(`${entry.name} answered ${res.status} for its OpenAPI`);
  return (await res.json()) as Doc;
}
