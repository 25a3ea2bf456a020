import type { OpenAPIHono } from "@hono/zod-openapi";
import type { GatewayEnv } from "../types";
import { registerAuth } from "./routes/auth";
import { registerClients } from "./routes/clients";
import { registerInvitations } from "./routes/invitations";
import { registerOrganizations } from "./routes/organizations";
import { registerRoles } from "./routes/roles";
import { registerUsers } from "./routes/users";
import { registerSignin } from "./signin";
import { registerFederation } from "./federation";
import { registerMfa } from "./mfa";

export { authenticate } from "./authenticate";
export { scheduled } from "./scheduled";

/** The identity provider: OAuth2 tokens, accounts, organizations, users, roles, invitations, clients. */
export function registerIdentity(app: OpenAPIHono<GatewayEnv>) {
  registerAuth(app);
  registerSignin(app);
  registerMfa(app);
  registerOrganizations(app);
  registerUsers(app);
  registerRoles(app);
  registerInvitations(app);
  registerClients(app);
  registerFederation(app);
}
