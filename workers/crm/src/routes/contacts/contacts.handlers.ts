import type { RouteHandler } from "@hono/zod-openapi";
import { and, asc, eq, gt, or, sql } from "drizzle-orm";
import { ApiError, decodeCursor, newId, nowIso, paginate, type ServiceEnv } from "@buildly/shared";
import { db, isUniqueViolation } from "../../db/client";
import { contacts, type ContactRow } from "../../db/schema";
import type * as routes from "./contacts.routes";

type E = ServiceEnv<Env>;

function toContact(row: ContactRow) {
  const { organization_id: _org, ...rest } = row;
  return rest;
}

function notFound(): ApiError {
  return new ApiError(404, "No contact has this id.");
}

function duplicateEmail(): ApiError {
  return new ApiError(409, "Another contact in this organization already has this email.", {
    errors: [{ path: "email", message: "Already in use" }],
  });
}

export const list: RouteHandler<typeof routes.listContacts, E> = async (c) => {
  const { limit, cursor, tag } = c.req.valid("query");
  const org = c.get("identity").organization_id;
  const after = decodeCursor(cursor);
  const conditions = [eq(contacts.organization_id, org)];
  if (after) conditions.push(or(gt(contacts.created_at, after.k), and(eq(contacts.created_at, after.k), gt(contacts.id, after.id)))!);
  if (tag) conditions.push(sql`exists (select 1 from json_each(${contacts.tags}) where value = ${tag})`);
  const rows = await db(c.env.DB)
    .select()
    .from(contacts)
    .where(and(...conditions))
    .orderBy(asc(contacts.created_at), asc(contacts.id))
    .limit(limit + 1);
  const page = paginate(rows, limit, (r) => r.created_at);
  return c.json({ data: page.data.map(toContact), next_cursor: page.next_cursor }, 200);
};

export const create: RouteHandler<typeof routes.createContact, E> = async (c) => {
  const input = c.req.valid("json");
  const now = nowIso();
  const row: ContactRow = {
    id: newId(),
    organization_id: c.get("identity").organization_id,
    first_name: input.first_name,
    last_name: input.last_name,
    email: input.email,
    phone: input.phone ?? null,
    company: input.company ?? null,
    tags: input.tags ?? [],
    created_at: now,
    updated_at: now,
  };
  try {
    await db(c.env.DB).insert(contacts).values(row);
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicateEmail();
    throw err;
  }
  c.header("location", `/contacts/${row.id}`);
  return c.json(toContact(row), 201);
};

export const get: RouteHandler<typeof routes.getContact, E> = async (c) => {
  const { id } = c.req.valid("param");
  const row = await db(c.env.DB)
    .select()
    .from(contacts)
    .where(and(eq(contacts.id, id), eq(contacts.organization_id, c.get("identity").organization_id)))
    .get();
  if (!row) throw notFound();
  return c.json(toContact(row), 200);
};

export const update: RouteHandler<typeof routes.updateContact, E> = async (c) => {
  const { id } = c.req.valid("param");
  const changes = c.req.valid("json");
  let row: ContactRow | undefined;
  try {
    row = await db(c.env.DB)
      .update(contacts)
      .set({ ...changes, updated_at: nowIso() })
      .where(and(eq(contacts.id, id), eq(contacts.organization_id, c.get("identity").organization_id)))
      .returning()
      .get();
  } catch (err) {
    if (isUniqueViolation(err)) throw duplicateEmail();
    throw err;
  }
  if (!row) throw notFound();
  return c.json(toContact(row), 200);
};

export const remove: RouteHandler<typeof routes.deleteContact, E> = async (c) => {
  const { id } = c.req.valid("param");
  const deleted = await db(c.env.DB)
    .delete(contacts)
    .where(and(eq(contacts.id, id), eq(contacts.organization_id, c.get("identity").organization_id)))
    .returning({ id: contacts.id })
    .get();
  if (!deleted) throw notFound();
  return c.body(null, 204);
};
