import { createRoute } from "@hono/zod-openapi";
import { problemResponses } from "@buildly/shared";
import { authenticate } from "../identity/authenticate";
import { requirePrivacy } from "./access";
import { RetentionPolicyInputSchema, RetentionPolicySchema } from "./schemas";

const tags = ["Privacy"];
const json = <T>(schema: T) => ({ "application/json": { schema } });

export const getRetentionPolicy = createRoute({
  method: "get",
  path: "/v1/privacy/retention",
  operationId: "getRetentionPolicy",
  summary:
    "The organization's retention policy: how many days events, webhook deliveries and audit payloads are kept (admins, or a role with the privacy permission)",
  description: "An organization that has not set one has the platform's defaults (`default: true`). A daily job enforces it in bounded batches.",
  tags,
  middleware: [authenticate, requirePrivacy("read")] as const,
  responses: {
    200: { description: "The policy in force", content: json(RetentionPolicySchema) },
    ...problemResponses(401, 403),
  },
});

export const putRetentionPolicy = createRoute({
  method: "put",
  path: "/v1/privacy/retention",
  operationId: "putRetentionPolicy",
  summary: "Set the organization's retention policy, every field (admins, or a role with the privacy permission)",
  tags,
  middleware: [authenticate, requirePrivacy("update")] as const,
  request: { body: { required: true, content: json(RetentionPolicyInputSchema) } },
  responses: {
    200: { description: "The policy now in force", content: json(RetentionPolicySchema) },
    ...problemResponses(400, 401, 403, 415, 422),
  },
});
