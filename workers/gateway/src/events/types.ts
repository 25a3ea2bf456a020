/**
 * Every event type the gateway itself emits (the logic services' types come from their
 * events.json). `gatewayEvent` accepts only these, so a new change site cannot emit an unlisted
 * type. docs/events-and-audit.md "Event types" lists the same; test/audit-coverage.test.ts makes
 * each one (with test/events.test.ts for the sign-in, token and user-management ones).
 */
export const GATEWAY_EVENT_TYPES = [
  // Sign-in and tokens.
  "identity.login.succeeded",
  "identity.login.failed",
  "identity.refresh_token.revoked",
  "identity.refresh_token.reuse_detected",
  // Accounts.
  "identity.user.registered",
  "identity.user.created",
  "identity.user.updated",
  "identity.user.invited",
  "identity.user.roles_changed",
  "identity.user.deactivated",
  "identity.user.password_changed",
  "identity.user.password_reset",
  "identity.user.second_factor_added",
  "identity.user.second_factor_removed",
  "identity.user.recovery_codes_regenerated",
  "identity.invitation.accepted",
  "identity.role.created",
  "identity.role.updated",
  "identity.role.deleted",
  "identity.client.created",
  "identity.client.revoked",
  "identity.organization.updated",
  "identity.organization.rate_limits_changed",
  // Single sign-on (identity/federation): connected providers (never their secrets), the policy, linked accounts.
  "identity.identity_provider.created",
  "identity.identity_provider.updated",
  "identity.identity_provider.deleted",
  "identity.organization.sso_policy_changed",
  "identity.user.identity_linked",
  "identity.organization.second_factor_policy_changed",
  // Webhook subscriptions (never their secrets).
  "webhooks.subscription.created",
  "webhooks.subscription.updated",
  "webhooks.subscription.secret_rotated",
  "webhooks.subscription.deleted",
  // The data mesh.
  "mesh.relationship.created",
  "mesh.relationship.deleted",
  "mesh.join.created",
  "mesh.join.deleted",
  // Workflows.
  "workflows.template.created",
  "workflows.template.updated",
  "workflows.template.deleted",
  "workflows.instance.transitioned",
  // Privacy: legal holds, consent records, retention policies (erasure records its own outcome).
  "privacy.legal_hold.placed",
  "privacy.legal_hold.released",
  "privacy.consent.recorded",
  "privacy.retention_policy.changed",
] as const;

export type GatewayEventType = (typeof GATEWAY_EVENT_TYPES)[number];
