import { count, eq } from "drizzle-orm";
import { db } from "../db/client";
import { roleNamesOf } from "../accounts";
import { isAdmin } from "../rbac";
import { passkeys, secondFactorPolicies } from "./schema";
import { totpEnrolled } from "./totp";

/** The organization's second-factor policy (no row: nothing required). */
export async function secondFactorPolicy(d1: D1Database, organizationId: string) {
  const row = await db(d1).select().from(secondFactorPolicies).where(eq(secondFactorPolicies.organization_id, organizationId)).get();
  return { require_for_admins: row?.require_for_admins ?? false, updated_at: row?.updated_at ?? null };
}

export async function passkeyCount(d1: D1Database, userId: string): Promise<number> {
  const row = await db(d1).select({ n: count() }).from(passkeys).where(eq(passkeys.user_id, userId)).get();
  return row?.n ?? 0;
}

/** Which second factors the user has, and whether their organization requires one of them. */
export async function secondFactorState(d1: D1Database, user: { id: string; organization_id: string }) {
  const [totp, keys, policy, roles] = await Promise.all([
    totpEnrolled(d1, user.id),
    passkeyCount(d1, user.id),
    secondFactorPolicy(d1, user.organization_id),
    roleNamesOf(d1, user.id),
  ]);
  return { totp, passkeys: keys, enrolled: totp || keys > 0, required: policy.require_for_admins && isAdmin(roles) };
}
