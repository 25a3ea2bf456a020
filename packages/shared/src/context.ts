import { z } from "zod";
import { builtOnce } from "./load-once";

export const PERMISSION_ACTIONS = ["create", "read", "update", "delete"] as const;
export type PermissionAction = (typeof PERMISSION_ACTIONS)[number];

/**
 * What the gateway tells a logic service about the call it forwards.
 * It travels as a typed RPC argument, so no client header can forge it:
 * logic services have no public route and only the gateway holds their bindings.
 * Built on the first call, not when a Worker starts (bench/README.md "Where start-up goes").
 */
export const identityContextSchema = builtOnce(() =>
  z.object({
    request_id: z.string().min(1).max(128),
    traceparent: z.string().optional(),
    user_id: z.string().nullable(),
    /** The API client's id when a client acts for itself (client_credentials); its events name it as the actor. */
    client_id: z.string().nullable().default(null),
    organization_id: z.string().min(1),
    roles: z.array(z.string()),
    permissions: z.record(z.string(), z.array(z.enum(PERMISSION_ACTIONS))),
    /** Set when the gateway itself calls (health, OpenAPI), not on behalf of a client. */
    system: z.boolean().default(false),
    /**
     * Set on the gateway's calls that undo a step of a joined write that failed: the events they
     * produce carry `compensated: true` (with the same `requestid` as the events being undone).
     */
    compensation: z.boolean().optional(),
  }),
);
export type IdentityContext = z.infer<ReturnType<typeof identityContextSchema>>;
export type IdentityContextInput = z.input<ReturnType<typeof identityContextSchema>>;
