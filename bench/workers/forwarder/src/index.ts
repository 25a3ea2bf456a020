// Scenario (e): /v1/crm/<path> -> env.CRM.handle(<path>, fixed identity). Nothing else.
import { PERMISSION_ACTIONS, type IdentityContextInput, type LogicServiceRpc } from "../../../../packages/shared/src";

const PREFIX = "/v1/crm";
const IDENTITY: Omit<IdentityContextInput, "request_id"> = {
  user_id: null,
  organization_id: "00000000-0000-4000-8000-000000000001",
  roles: [],
  permissions: { crm: [...PERMISSION_ACTIONS] },
  system: false,
};

interface Env {
  CRM: LogicServiceRpc;
}

export default {
  fetch(request: Request, env: Env): Promise<Response> {
    const url = new URL(request.url);
    url.pathname = url.pathname.startsWith(PREFIX) ? url.pathname.slice(PREFIX.length) || "/" : url.pathname;
    return env.CRM.handle(new Request(url, request), { ...IDENTITY, request_id: crypto.randomUUID() });
  },
};
