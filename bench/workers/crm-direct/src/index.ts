// Scenario (b): the CRM logic service's code with no gateway and no RPC hop in front.
// It does what CrmService.handle() does (handleWithContext: validate the identity, a D1 session,
// context, then run the CRM app), with a fixed context in place of the gateway's.
import { PERMISSION_ACTIONS, handleWithContext, type IdentityContextInput } from "../../../../packages/shared/src";
import { app } from "../../../../workers/crm/src/app";

// The shape resolveIdentity() in the gateway sends today: the demo organization with every
// permission on every registered service. Only request_id changes per call, as through the gateway.
const SERVICES = ["crm", "documents", "appointments"];
const IDENTITY: Omit<IdentityContextInput, "request_id"> = {
  user_id: null,
  organization_id: "00000000-0000-4000-8000-000000000001",
  roles: [],
  permissions: Object.fromEntries(SERVICES.map((s) => [s, [...PERMISSION_ACTIONS]])),
  system: false,
};

export default {
  fetch(request, env, ctx): Promise<Response> {
    return handleWithContext(app, env, ctx, request, { ...IDENTITY, request_id: crypto.randomUUID() }, { service: "crm" });
  },
} satisfies ExportedHandler<Env>;
