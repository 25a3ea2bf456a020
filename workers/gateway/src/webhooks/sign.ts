import { Webhook } from "standardwebhooks";

/**
 * The Standard Webhooks headers for one delivery. Signed with the standardwebhooks library (pure
 * JavaScript, runs in workerd): `v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">`. During a
 * secret rotation's overlap the previous secret signs too; the header then holds both signatures,
 * space-separated, and a receiver holding either secret verifies it.
 */
export function signatureHeaders(secrets: string[], webhookId: string, at: Date, body: string): Record<string, string> {
  return {
    "webhook-id": webhookId,
    "webhook-timestamp": String(Math.floor(at.getTime() / 1000)),
    "webhook-signature": secrets.map((s) => new Webhook(s).sign(webhookId, at, body)).join(" "),
  };
}
