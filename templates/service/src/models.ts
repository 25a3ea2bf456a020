import { desc } from "drizzle-orm";
import { meshFields, newestPerValue, ref, type FindByLoader, type MeshModelDefinition } from "@buildly/shared";
import { db } from "./db/client";
import { items } from "./db/schema";
import { searchItems } from "./lib/search";
import { itemsPersonalData } from "./privacy";
import { loadItems, toItem } from "./routes/items/items.handlers";
import { ItemSchema } from "./routes/items/items.schemas";

/*
 * The service's models as the data mesh sees them (describe, getMany, findBy, search over RPC).
 * Fields are read off the response schema the routes answer with; the notes add what a schema
 * cannot say (contact_id references the CRM's contacts; description is long text).
 */

/** findBy("items", "contact_id"): one query, newest first, at most perValue per contact. */
const itemsByContact: FindByLoader<Env> = async (env, org, values, perValue) => {
  const t = { table: items, key: items.rid, organization: items.organization_id, created: items.created_at, id: items.id };
  const rows = await db(env.DB)
    .select()
    .from(items)
    .where(newestPerValue(t, items.contact_id, org, values, perValue))
    .orderBy(desc(items.created_at), desc(items.id));
  return rows.map(toItem);
};

export const models: Record<string, MeshModelDefinition<Env>> = {
  items: {
    path: "/items",
    title: "Item",
    fields: meshFields(ItemSchema, { contact_id: ref("crm", "contacts"), description: { type: "text" } }),
    getMany: (env, org, ids) => loadItems(db(env.DB), org, ids),
    findBy: { contact_id: itemsByContact },
    search: searchItems,
    personalData: itemsPersonalData,
  },
};
