import { and, asc, eq, lt } from "drizzle-orm";
import { newId, nowIso } from "@buildly/shared";
import { db } from "./db/client";
import { emailOutbox } from "./db/schema";

export interface Mail {
  to: string;
  subject: string;
  body: string;
}

/** How mail leaves the platform. Add a sender here and name it in EMAIL_SENDER. */
export interface MailSender {
  send(mail: Mail): Promise<void>;
}

const SENDERS: Record<string, () => MailSender> = {
  // Local development: the mail is printed where `npm run dev` runs.
  console: () => ({
    async send(mail) {
      console.log(JSON.stringify({ level: "info", msg: "email", to: mail.to, subject: mail.subject, body: mail.body }));
    },
  }),
};

export function mailSender(env: Env): MailSender {
  const name = env.EMAIL_SENDER || "console";
  const make = SENDERS[name];
  if (!make) throw new Error(`Unknown EMAIL_SENDER ${name}`);
  return make();
}

/** Mail is written to the outbox first (in the same request that decides to send it), then delivered. */
export async function enqueueMail(d1: D1Database, mail: Mail): Promise<string> {
  const id = newId();
  await db(d1).insert(emailOutbox).values({ id, to_email: mail.to, subject: mail.subject, body: mail.body, created_at: nowIso() });
  return id;
}

const MAX_ATTEMPTS = 5;

/** Delivers pending mail; a failure is retried by the next run (the scheduled handler runs it too). */
export async function deliverPending(env: Env & { DB: D1Database }, limit = 50): Promise<number> {
  const d = db(env.DB);
  const pending = await d
    .select()
    .from(emailOutbox)
    .where(and(eq(emailOutbox.status, "pending"), lt(emailOutbox.attempts, MAX_ATTEMPTS)))
    .orderBy(asc(emailOutbox.created_at))
    .limit(limit);
  const sender = mailSender(env);
  let sent = 0;
  for (const m of pending) {
    try {
      await sender.send({ to: m.to_email, subject: m.subject, body: m.body });
      await d
        .update(emailOutbox)
        .set({ status: "sent", sent_at: nowIso(), attempts: m.attempts + 1 })
        .where(eq(emailOutbox.id, m.id));
      sent++;
    } catch {
      const attempts = m.attempts + 1;
      await d
        .update(emailOutbox)
        .set({ attempts, status: attempts >= MAX_ATTEMPTS ? "failed" : "pending" })
        .where(eq(emailOutbox.id, m.id));
    }
  }
  return sent;
}
