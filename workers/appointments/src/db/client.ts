import { drizzleDb, type DrizzleDb } from "@buildly/shared";

/** Drizzle over this request's D1 binding (or its session), built per request (`drizzleDb`, packages/shared). */
export const db = drizzleDb;

export type Db = DrizzleDb;
